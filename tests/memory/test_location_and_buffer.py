import numpy as np
import pytest

from batchode import BufferLocation, BufferRegistry, CUDABuffer
from batchode.backends import get_backend


@pytest.mark.parametrize("text, expected", [
    ("shared", BufferLocation.SHARED),
    ("LOCAL", BufferLocation.LOCAL),
    ("Local_Persistent", BufferLocation.LOCAL_PERSISTENT),
    (BufferLocation.LOCAL, BufferLocation.LOCAL),
])
def test_location_strings_convert(text, expected):
    assert BufferLocation.coerce(text) is expected
    assert CUDABuffer("b", text, 1).location is expected


def test_unknown_location_lists_valid_names():
    with pytest.raises(ValueError, match=r"'sahred'.*'shared', 'local', 'local_persistent'"):
        BufferLocation.coerce("sahred")
    with pytest.raises(ValueError, match="sahred"):
        CUDABuffer("b", "sahred", 1)


@pytest.mark.parametrize("size", [-1, 2.5, "3", True, None])
def test_bad_sizes_name_the_buffer_and_value(size):
    with pytest.raises(ValueError, match=rf"buffer 'bad'.*{size!r}" if size != -1 else "buffer 'bad'.*-1"):
        CUDABuffer("bad", "local", size)


def test_bad_size_from_callable_raises_at_layout_time():
    registry = BufferRegistry("r")
    registry.register(CUDABuffer("lazy", "shared", lambda: -3))
    with pytest.raises(ValueError, match="buffer 'lazy'.*-3"):
        registry.generate_shared_layout()
    with pytest.raises(ValueError, match="buffer 'lazy'"):
        registry.shared_memory_elements


def test_buffer_name_must_be_identifier():
    with pytest.raises(ValueError, match="identifier"):
        CUDABuffer("not a name", "local", 1)


def test_slices_and_sizes_after_layout():
    registry = BufferRegistry("r", backend=get_backend("cuda"))
    a = registry.register(CUDABuffer("a", "shared", 3))
    b = registry.register(CUDABuffer("b", "local", 2))
    c = registry.register(CUDABuffer("c", "local_persistent", 4))
    with pytest.raises(RuntimeError, match="no shared layout"):
        a.shared_slice
    with pytest.raises(RuntimeError, match="generate a layout"):
        a.allocate()
    registry.generate_layouts()
    assert (a.shared_slice, a.shared_size, a.local_slice, a.persistent_size) == (slice(0, 3), 3, None, 0)
    assert (b.local_slice, b.local_size, b.shared_slice) == (slice(0, 2), 2, None)
    assert (c.persistent_slice, c.persistent_size) == (slice(0, 4), 4)


def test_cpu_pools_match_locations_and_accept_integer_local_buffers():
    registry = BufferRegistry("r", backend=get_backend("cpu"))
    registry.register(CUDABuffer("a", "shared", 3))
    b = registry.register(CUDABuffer("b", "local", 2))
    pivots = registry.register(CUDABuffer("pivots", "local", 2, precision=np.int32))
    registry.generate_layouts()
    assert b.local_slice == slice(0, 2) and b.shared_slice is None
    assert pivots.local_slice == slice(2, 4) and pivots.shared_slice is None
    assert registry.pool_elements("shared") == 3
    assert registry.local_memory_elements == 4


def test_a_buffer_that_keeps_its_contents_refuses_local():
    from batchode.solvers.linear import DenseLU
    from batchode.systems.device import SystemFactory
    from batchode.systems.examples import robertson

    lu = DenseLU(SystemFactory(robertson()))
    # the factors live from prepare to solve: LOCAL memory would not (on CUDA)
    with pytest.raises(ValueError, match="'factors' keeps its contents between calls.*'shared' or 'local_persistent'"):
        lu.update(factors_location="local")
    assert lu.buffer_registry.buffers["factors"].location.value == "local_persistent"
    lu.update(factors_location="shared")  # shared memory does keep it
    assert lu.buffer_registry.buffers["factors"].location.value == "shared"
    with pytest.raises(ValueError, match="keeps its contents"):
        CUDABuffer("history", "local", 2, keeps_contents=True)
