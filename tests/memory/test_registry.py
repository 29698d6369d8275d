import numpy as np
import pytest

from batchode import BufferRegistry, CUDABuffer
from batchode.backends import get_backend


def make(name, *buffers, backend="cuda", precision=np.float64):
    registry = BufferRegistry(name, precision=precision, backend=get_backend(backend))
    for buffer in buffers:
        registry.register(buffer)
    return registry


def test_duplicate_buffer_name_is_an_error():
    registry = make("r", CUDABuffer("a", "local", 1))
    with pytest.raises(ValueError, match="'a' is already registered"):
        registry.register(CUDABuffer("a", "shared", 2))


def test_merge_errors():
    parent = make("parent")
    child = make("child")
    parent.merge(child)
    with pytest.raises(ValueError, match="'child' already exists"):
        parent.merge(make("child"))
    with pytest.raises(ValueError, match="same registry or one of its ancestors"):
        parent.merge(parent)
    with pytest.raises(ValueError, match="same registry or one of its ancestors"):
        child.merge(parent)
    with pytest.raises(ValueError, match="pools are typed"):
        parent.merge(make("single", precision=np.float32))


def test_unmerged_child_raises_never_zero():
    with pytest.raises(KeyError, match="no child 'newton'"):
        make("dirk").child("newton")


@pytest.mark.parametrize("location", ["shared", "local_persistent"])
def test_integer_buffer_in_float_pool_is_an_error(location):
    registry = make("r")
    with pytest.raises(ValueError, match=r"buffer 'counts'.*integer.*float64"):
        registry.register(CUDABuffer("counts", location, 2, precision=np.int32))


def test_integer_buffer_moved_into_float_pool_is_refused():
    registry = make("r", CUDABuffer("counts", "local", 2, precision=np.int32))
    with pytest.raises(ValueError, match="counts"):
        registry.relocate("counts", "shared")
    assert registry.buffers["counts"].location.value == "local"


def test_totals_are_computed_at_query_time():
    size = {"n": 3}
    child = make("child", CUDABuffer("k", "shared", lambda: size["n"]))
    parent = make("parent", CUDABuffer("y", "shared", 2))
    parent.merge(child)
    assert parent.shared_memory_elements == 5
    size["n"] = 10  # the child is reconfigured after the merge
    assert parent.shared_memory_elements == 12
    assert parent.generate_shared_layout() == {"y": slice(0, 2), "child": slice(2, 12)}


def test_printed_tree_shows_nesting_locations_sizes_offsets():
    linear = make("linear", CUDABuffer("basis", "local", 6))
    newton = make("newton", CUDABuffer("delta", "local", 3), CUDABuffer("residual", "shared", 3))
    newton.merge(linear)
    dirk = make("dirk", CUDABuffer("accumulator", "shared", 6),
                CUDABuffer("rhs_cache", "local_persistent", 3, enabled=False))
    dirk.merge(newton)
    text = str(dirk)
    lines = text.splitlines()
    assert lines[0].startswith("dirk [float64, cuda]")
    assert any(l.strip().startswith("- accumulator") and "shared[0:6]" in l for l in lines)
    assert any("rhs_cache" in l and "no memory" in l for l in lines)
    assert any("+ child newton at shared[6:9]" in l for l in lines)
    newton_line = next(i for i, l in enumerate(lines) if l.strip().startswith("newton ["))
    basis_line = next(i for i, l in enumerate(lines) if "basis" in l)
    assert basis_line > newton_line
    indent = lambda l: len(l) - len(l.lstrip())
    assert indent(lines[basis_line]) > indent(lines[newton_line]) > indent(lines[0])


def test_the_backend_is_an_object_the_caller_passes():
    # A name would need the registry to import the backends, a layer above memory.
    with pytest.raises(TypeError, match=r"registry 'r': backend must be a backend object .* got 'cpu', which lacks"):
        BufferRegistry("r", backend="cpu")


def test_without_a_backend_layouts_work_but_allocators_and_views_do_not():
    child = BufferRegistry("child")
    child.register(CUDABuffer("k", "shared", 2))
    parent = BufferRegistry("parent")
    y = parent.register(CUDABuffer("y", "shared", 3))
    parent.merge(child)
    assert parent.generate_shared_layout() == {"y": slice(0, 3), "child": slice(3, 5)}
    assert str(parent).startswith("parent [float64]: ")
    with pytest.raises(RuntimeError, match="buffer 'y': its registry has no backend"):
        y.allocate()
    with pytest.raises(RuntimeError, match="registry 'parent' has no backend to build child 'child'"):
        parent.child_view("child")
