import attrs
import numpy as np
import pytest

from batchode import CUDAFactory


@attrs.frozen
class ScaleSettings:
    factor: float = 2.0
    width: int = 3


class Scale(CUDAFactory):
    """A small factory with a buffer and an optional child."""

    Settings = ScaleSettings
    builds = 0

    def __init__(self, child=None, **kwargs):
        super().__init__(**kwargs)
        self.register_buffer("work", "local", lambda: self.settings.width)
        if child is not None:
            self.add_child("inner", child)

    def build(self):
        type(self).builds += 1
        factor = self.settings.factor
        return self.backend.device_function(lambda x: x * factor)


class Plain(CUDAFactory):
    """A factory that registers no buffers."""

    def build(self):
        return self.backend.device_function(lambda x: x + 1.0)


def tree():
    leaf = Scale(name="leaf")
    middle = Scale(child=leaf)
    return Scale(child=middle), middle, leaf


def test_factory_without_buffers_works_unchanged():
    plain = Plain()
    assert plain.device_function(1.0) == 2.0
    assert plain.buffer_registry.shared_memory_elements == 0
    assert plain.buffer_registry.name == "plain"


def test_update_reports_changes_and_only_rebuilds_when_something_changed():
    factory = Scale(factor=5.0)
    assert factory.device_function(2.0) == 10.0
    assert not factory.is_stale
    assert factory.update(factor=5.0) == set()
    assert not factory.is_stale
    assert factory.update(factor=3.0, width=3) == {"factor"}
    assert factory.is_stale
    assert factory.device_function(2.0) == 6.0


def test_unknown_key_names_close_matches_and_changes_nothing():
    factory = Scale()
    with pytest.raises(ValueError, match=r"unknown setting 'facter'.*'factor'"):
        factory.update(factor=9.0, facter=1.0)
    assert factory.settings.factor == 2.0
    with pytest.raises(ValueError, match="'inner_factor'"):
        tree()[0].update(iner_factor=1.0)


def test_update_validates_values_through_attrs():
    @attrs.frozen
    class Checked:
        order: int = attrs.field(default=1, validator=attrs.validators.ge(1))

    class F(CUDAFactory):
        Settings = Checked

    with pytest.raises(ValueError):
        F().update(order=0)


def test_child_changes_make_every_ancestor_stale():
    root, middle, leaf = tree()
    root.device_function
    hashes = (root.config_hash, middle.config_hash)
    assert root.update(inner_inner_factor=7.0) == {"inner_inner_factor"}
    assert leaf.settings.factor == 7.0
    assert leaf.is_stale and middle.is_stale and root.is_stale
    assert root.config_hash != hashes[0] and middle.config_hash != hashes[1]


def test_location_update_changes_registry_hash_and_totals():
    root, middle, leaf = tree()
    before = root.config_hash
    assert root.buffer_registry.shared_memory_elements == 0
    assert root.update(inner_work_location="shared") == {"inner_work_location"}
    assert middle.buffer_registry.buffers["work"].location.value == "shared"
    assert root.buffer_registry.shared_memory_elements == 3
    assert root.config_hash != before
    with pytest.raises(ValueError, match="sahred"):
        root.update(inner_work_location="sahred")


def test_config_hash_is_stable_and_covers_precision_and_backend():
    a, b = Scale(), Scale()
    assert a.config_hash == b.config_hash
    assert Scale(precision=np.float32).config_hash != a.config_hash
    assert Scale(backend="cuda").config_hash != a.config_hash
    assert Scale(factor=3.0).config_hash != a.config_hash


def test_equal_configurations_share_one_build():
    Scale.builds = 0
    Scale(factor=11.0).device_function
    Scale(factor=11.0).device_function
    assert Scale.builds == 1


def test_children_must_match_precision_and_backend():
    with pytest.raises(ValueError, match="float32"):
        Scale(child=Scale(precision=np.float32))


def test_invalid_precision_is_refused():
    with pytest.raises(ValueError, match="float16"):
        Scale(precision=np.float16)
