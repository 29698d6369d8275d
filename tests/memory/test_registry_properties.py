"""Property tests of layouts over random registry trees (ARCHITECTURE rules 2, 3, 6)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchode import BufferLocation, BufferRegistry, CUDABuffer
from batchode.memory.buffer import POOLS, pool_of

LOCATIONS = [location.value for location in BufferLocation]


class Knob:
    """A mutable size behind a size callable."""

    def __init__(self, value):
        self.value = value

    def __call__(self):
        return self.value


@st.composite
def buffer_specs(draw):
    size = draw(st.integers(0, 64))
    return {
        "location": draw(st.sampled_from(LOCATIONS)),
        "size": size,
        "callable": draw(st.booleans()),
        "enabled": draw(st.sampled_from([True, False, "callable"])),
    }


tree_specs = st.recursive(
    st.fixed_dictionaries({"buffers": st.lists(buffer_specs(), max_size=4), "children": st.just([])}),
    lambda inner: st.fixed_dictionaries(
        {"buffers": st.lists(buffer_specs(), max_size=4), "children": st.lists(inner, max_size=3)}
    ),
    max_leaves=8,
)


def depth(spec):
    return 1 + max((depth(c) for c in spec["children"]), default=0)


def build(spec, name="root", knobs=None):
    knobs = [] if knobs is None else knobs
    registry = BufferRegistry(name)
    for index, b in enumerate(spec["buffers"]):
        size = b["size"]
        if b["callable"]:
            knob = Knob(size)
            knobs.append(knob)
            size = knob
        enabled = (lambda: True) if b["enabled"] == "callable" else b["enabled"]
        registry.register(CUDABuffer(f"b{index}", b["location"], size, enabled=enabled))
    for index, child_spec in enumerate(spec["children"]):
        registry.merge(build(child_spec, f"c{index}", knobs)[0])
    return registry, knobs


def absolute_slices(registry, pool, origin=0):
    """Every enabled buffer's absolute slice in ``pool``: {path: (start, stop)}."""
    layout = getattr(registry, f"generate_{pool}_layout")()
    found = {}
    for name, region in layout.items():
        if name in registry.buffers:
            found[(registry.name, name)] = (origin + region.start, origin + region.stop)
    for name, child in registry.children.items():
        if name in layout:
            region = layout[name]
            inner = absolute_slices(child, pool, origin + region.start)
            # The child's region is one contiguous block holding exactly its subtree.
            assert region.stop - region.start == child.pool_elements(pool)
            for path, (start, stop) in inner.items():
                assert origin + region.start <= start <= stop <= origin + region.stop
            found.update({(registry.name,) + path: span for path, span in inner.items()})
        else:
            assert child.pool_elements(pool) == 0
    return found


def own_elements(registry, pool):
    return sum(b.elements() for b in registry.buffers.values() if pool_of(b.location) == pool)


def check_layouts(registry):
    for pool in POOLS:
        total = registry.pool_elements(pool)
        spans = sorted(absolute_slices(registry, pool).values())
        # every slice inside its pool, and no two enabled buffers overlap
        for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
            assert e0 <= s1
        assert all(0 <= s < e <= total for s, e in spans)  # zero-size buffers get no slice
        # totals equal the sum of the parts
        assert sum(e - s for s, e in spans) == total
        assert total == sum(own_elements(r, pool) for r in registry.iter_registries())
    for location, total in [("shared", registry.shared_memory_elements),
                            ("local", registry.local_memory_elements),
                            ("local_persistent", registry.persistent_local_elements)]:
        expected = sum(b.resolved_size() for r in registry.iter_registries()
                       for b in r.buffers.values()
                       if b.location.value == location and b.is_enabled())
        assert total == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=tree_specs.filter(lambda s: depth(s) <= 4), growth=st.integers(0, 64))
def test_random_trees_lay_out_consistently(spec, growth):
    # Layouts need no backend: every backend puts a buffer in the pool of its location.
    registry, knobs = build(spec)
    check_layouts(registry)
    disabled = [b for r in registry.iter_registries() for b in r.buffers.values()
                if not b.is_enabled() or b.resolved_size() == 0]
    for buffer in disabled:  # disabled and zero-size buffers contribute nothing
        assert all(buffer._slices[pool] is None for pool in POOLS)
    # Regenerating after size callables change gives the new totals.
    before = {pool: registry.pool_elements(pool) for pool in POOLS}
    enabled_knob_total = 0
    for knob in knobs:
        knob.value += growth
    for r in registry.iter_registries():
        for b in r.buffers.values():
            if isinstance(b.size, Knob) and b.is_enabled():
                enabled_knob_total += growth
    check_layouts(registry)
    assert sum(registry.pool_elements(pool) for pool in POOLS) == sum(before.values()) + enabled_knob_total
