"""``CUDAFactory``: the base of every component that compiles a device function.

A factory holds frozen settings (an attrs class), a buffer registry for its
scratch memory, and child factories. Its device function is built lazily and
cached under :attr:`CUDAFactory.config_hash`, a hash of everything that goes
into the compiled code: compile-time settings, buffer layout, run-time value
layout, children's hashes, backend and precision. A child that changes
changes its parents' hashes, so staleness propagates to every ancestor
without parent pointers or flags.

Run-time settings (fields declared with :func:`runtime_setting`: tolerances,
step limits, iteration caps) are left out of the hash. Their numbers reach
the device code through one float64 array, the *run-time values*: each
factory lists the numbers its code reads (:meth:`CUDAFactory.runtime_values`),
lays them out from offset 0 of its own block and reserves one block per
child, exactly as buffers are laid out (ARCHITECTURE rules 2 and 3). Device
functions take their block as an argument (``settings``) and pass each child
its own block, so changing a run-time setting never recompiles.
"""

from __future__ import annotations

import collections
import difflib
import hashlib
import re
from typing import Any, ClassVar

import attrs
import numpy as np

from batchode.backends import get_backend
from batchode.memory import BufferLocation, BufferRegistry, CUDABuffer

#: Builds shared by factories with equal ``config_hash`` in this process, so
#: two solvers configured alike compile once. Bounded, least recently used
#: first out. This caches compiled code only; registries stay per factory.
_BUILD_CACHE: "collections.OrderedDict[str, Any]" = collections.OrderedDict()
_BUILD_CACHE_SIZE = 256

_LOCATION_SUFFIX = "_location"

#: attrs metadata key of settings fields that are run-time settings.
RUNTIME = "batchode_runtime"


def runtime_setting(**field_arguments):
    """An attrs field holding a run-time setting: not hashed, read by device code from the run-time values.

    Takes the arguments of ``attrs.field``. Only numbers that do not change
    the shape of the code qualify (a loop bound read at run time is fine,
    a buffer size is not).
    """
    return attrs.field(metadata={RUNTIME: True}, **field_arguments)


def is_runtime_field(field) -> bool:
    """True for a settings field declared with :func:`runtime_setting`."""
    return bool(field.metadata.get(RUNTIME, False))


@attrs.frozen
class NoSettings:
    """Settings of a factory that has none."""


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class CUDAFactory:
    """Base class of every factory.

    Subclasses set ``Settings`` (a frozen attrs class), declare buffers with
    :meth:`register_buffer` and children with :meth:`add_child` in their
    ``__init__``, and implement :meth:`build`, which returns the device
    function (or an object with a ``device_function`` attribute).

    Parameters
    ----------
    settings : Settings instance, optional
        Defaults to ``Settings()`` updated with ``overrides``.
    name : str, optional
        Name of the factory and of its registry (default: the class name in
        snake case). A parent renames a child to the name it adopts it under.
    precision : numpy float dtype, default float64
        Working precision of the compiled code and of the memory pools.
    backend : str, default "cpu"
        ``"cpu"`` or ``"cuda"``.
    **overrides
        Settings fields to change from their defaults.
    """

    Settings: ClassVar[type] = NoSettings

    def __init__(self, settings=None, *, name=None, precision=np.float64, backend="cpu", **overrides):
        self.precision = np.dtype(precision)
        if self.precision not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"precision must be float32 or float64, got {precision!r}")
        self.backend = get_backend(backend)
        self.name = name or _snake_case(type(self).__name__)
        overrides = self._checked_setting_keys(overrides)
        if settings is None:
            self._settings = self.Settings(**overrides)
        elif isinstance(settings, self.Settings):
            self._settings = attrs.evolve(settings, **overrides) if overrides else settings
        else:
            raise TypeError(f"{type(self).__name__}: settings must be {self.Settings.__name__}, got {settings!r}")
        self.check_settings(self._settings)
        self._registry: BufferRegistry | None = None
        self._children: dict[str, CUDAFactory] = {}
        self._built: tuple[str, Any] | None = None

    # -- settings ---------------------------------------------------------------
    @property
    def settings(self):
        """The frozen settings object."""
        return self._settings

    def check_settings(self, settings) -> None:
        """Reject settings that are valid alone but not for this factory (override).

        Called with the candidate settings before they are applied, by
        ``__init__`` and :meth:`update`, so the error comes before anything
        changes or compiles. The settings class validates single fields;
        this hook sees the factory too (e.g. what its system provides).
        """

    def _setting_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in attrs.fields(self.Settings))

    def _checked_setting_keys(self, keys) -> dict:
        unknown = [k for k in keys if k not in self._setting_names()]
        if unknown:
            self._raise_unknown(unknown[0], self._setting_names())
        return dict(keys)

    def valid_update_keys(self) -> tuple[str, ...]:
        """Every key :meth:`update` accepts, children's keys prefixed by their name."""
        keys = list(self._setting_names())
        keys += [f"{name}{_LOCATION_SUFFIX}" for name in self.buffer_registry.buffers]
        for child_name, child in self._children.items():
            keys += [f"{child_name}_{key}" for key in child.valid_update_keys()]
        return tuple(keys)

    def _raise_unknown(self, key, valid):
        close = difflib.get_close_matches(key, list(valid), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"{type(self).__name__} {self.name!r}: unknown setting {key!r}{hint}")

    def _route(self, key: str):
        """Return ``(kind, target, subkey)`` for an update key, or None if unknown."""
        if key in self._setting_names():
            return ("setting", self, key)
        if key.endswith(_LOCATION_SUFFIX) and key[: -len(_LOCATION_SUFFIX)] in self.buffer_registry.buffers:
            return ("location", self, key[: -len(_LOCATION_SUFFIX)])
        # Longest child name first, so "newton_linear_x" goes to "newton_linear"
        # before "newton" when both exist.
        for child_name in sorted(self._children, key=len, reverse=True):
            prefix = child_name + "_"
            if key.startswith(prefix):
                child = self._children[child_name]
                if child._route(key[len(prefix):]) is not None:
                    return ("child", child, key[len(prefix):])
        return None

    def update(self, **changes) -> set[str]:
        """Apply setting and buffer-location changes; return the keys that changed.

        Keys are settings fields, ``<buffer>_location`` for this factory's
        buffers, and ``<child>_<key>`` for any key a child accepts. Every key
        is checked before anything changes; an unknown key raises
        ``ValueError`` naming close matches. Values equal to the current ones
        change nothing and do not invalidate the build.
        """
        routes = {}
        for key in changes:
            route = self._route(key)
            if route is None:
                self._raise_unknown(key, self.valid_update_keys())
            routes[key] = route
        changed: set[str] = set()
        own = {k: v for k, v in changes.items() if routes[k][0] == "setting"}
        differing = {k: v for k, v in own.items() if getattr(self._settings, k) != v}
        if differing:
            candidate = attrs.evolve(self._settings, **differing)
            self.check_settings(candidate)
            self._settings = candidate
            changed |= set(differing)
        for key, value in changes.items():
            kind, target, subkey = routes[key]
            if kind == "location" and self.buffer_registry.relocate(subkey, value):
                changed.add(key)
            elif kind == "child":
                changed |= {f"{target.name}_{k}" for k in target.update(**{subkey: value})}
        return changed

    # -- memory -----------------------------------------------------------------
    @property
    def buffer_registry(self) -> BufferRegistry:
        """This factory's registry (created on first use, named after the factory)."""
        if self._registry is None:
            self._registry = BufferRegistry(self.name, self.precision, self.backend)
        return self._registry

    def register_buffer(self, name, location, size, precision=None, enabled=True, keeps_contents=None) -> CUDABuffer:
        """Declare one of this factory's buffers; ``precision`` defaults to the factory's.

        ``keeps_contents`` (see :class:`CUDABuffer`) defaults to True for a
        buffer declared LOCAL_PERSISTENT: that is why it was put there.
        """
        location = BufferLocation.coerce(location)
        buffer = CUDABuffer(
            name, location, size,
            precision=self.precision if precision is None else precision,
            enabled=enabled,
            keeps_contents=location is BufferLocation.LOCAL_PERSISTENT if keeps_contents is None else keeps_contents,
        )
        return self.buffer_registry.register(buffer)

    def add_child(self, name: str, factory: "CUDAFactory") -> "CUDAFactory":
        """Adopt ``factory`` as child ``name``: keep it and merge its registry."""
        if not isinstance(factory, CUDAFactory):
            raise TypeError(f"{self.name}: child {name!r} must be a CUDAFactory, got {factory!r}")
        if factory.precision != self.precision or factory.backend is not self.backend:
            raise ValueError(
                f"{self.name}: child {name!r} is {factory.precision}/{factory.backend.name}, "
                f"expected {self.precision}/{self.backend.name}"
            )
        if name in self._children:
            raise ValueError(f"{self.name}: a child named {name!r} already exists")
        factory.name = name
        factory.buffer_registry.name = name
        self.buffer_registry.merge(factory.buffer_registry)
        self._children[name] = factory
        return factory

    def child(self, name: str) -> "CUDAFactory":
        """The child factory adopted as ``name``."""
        try:
            return self._children[name]
        except KeyError:
            raise KeyError(f"{self.name} has no child {name!r} (children: {sorted(self._children)})") from None

    @property
    def children(self) -> dict[str, "CUDAFactory"]:
        """Child factories by name (a copy)."""
        return dict(self._children)

    # -- run-time values ----------------------------------------------------------
    def runtime_values(self) -> dict:
        """The numbers this factory's device code reads at run time, by name (override).

        Each value is a float or a sequence of floats, as the device code
        uses it (derived numbers such as ``1 / qmin`` included, computed here
        once). Their sizes must depend only on compile-time settings: the
        layout is part of :attr:`config_hash`.
        """
        return {}

    def _runtime_arrays(self) -> dict[str, np.ndarray]:
        return {name: np.atleast_1d(np.asarray(value, dtype=np.float64))
                for name, value in self.runtime_values().items()}

    @property
    def runtime_size(self) -> int:
        """Elements of the run-time values of this subtree (computed now, never cached)."""
        own = sum(array.size for array in self._runtime_arrays().values())
        return own + sum(child.runtime_size for child in self._children.values())

    def runtime_layout(self) -> dict[str, slice]:
        """Own values from offset 0, then one block per child with run-time values."""
        layout, offset = {}, 0
        for name, array in self._runtime_arrays().items():
            layout[name] = slice(offset, offset + array.size)
            offset += array.size
        for name, child in self._children.items():
            size = child.runtime_size
            if size:
                layout[name] = slice(offset, offset + size)
                offset += size
        return layout

    def runtime_offset(self, name: str) -> int:
        """Offset of own run-time value ``name`` in this factory's block."""
        if name not in self.runtime_values():
            raise KeyError(f"{self.name} has no run-time value {name!r} (has: {list(self.runtime_values())})")
        return self.runtime_layout()[name].start

    def runtime_vector(self) -> np.ndarray:
        """This subtree's run-time values as one float64 array, laid out as :meth:`runtime_layout`."""
        parts = list(self._runtime_arrays().values())
        parts += [child.runtime_vector() for child in self._children.values() if child.runtime_size]
        return np.concatenate(parts) if parts else np.zeros(0)

    def runtime_view(self, child_name: str):
        """Device function ``settings -> the child's block`` (the block itself when it has none).

        A child without run-time values is handed its parent's block
        untouched, never a zero-length slice (as for buffers, rule 6).
        """
        self.child(child_name)
        region = self.runtime_layout().get(child_name)
        return self.backend.settings_view(None if region is None else (region.start, region.stop))

    def _runtime_signature(self) -> tuple:
        return tuple((name, array.size) for name, array in self._runtime_arrays().items())

    # -- build --------------------------------------------------------------------
    def hash_extras(self) -> tuple:
        """Anything beyond settings that changes the compiled code (override)."""
        return ()

    @property
    def config_hash(self) -> str:
        """Stable hash of compile-time settings, own buffers and run-time layout, children, backend, precision."""
        own_buffers = tuple(
            (b.name, b.location.value, b.elements(), b.precision.str)
            for b in self.buffer_registry.buffers.values()
        )
        parts = (
            type(self).__module__,
            type(self).__qualname__,
            self._compile_time_settings(),
            own_buffers,
            self._runtime_signature(),
            tuple((n, c.config_hash) for n, c in self._children.items()),
            self.backend.name,
            self.precision.str,
            self.hash_extras(),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def _compile_time_settings(self) -> str:
        """repr of the settings fields that shape the code (run-time settings left out)."""
        return repr(tuple((field.name, getattr(self._settings, field.name))
                          for field in attrs.fields(type(self._settings)) if not is_runtime_field(field)))

    @property
    def is_stale(self) -> bool:
        """True when the next access to :attr:`built` will (re)build."""
        return self._built is None or self._built[0] != self.config_hash

    def build(self):
        """Compile and return the device function (subclasses implement)."""
        raise NotImplementedError(f"{type(self).__name__} must implement build()")

    @property
    def built(self):
        """The build result, rebuilt only when :attr:`config_hash` changed."""
        key = self.config_hash
        if self._built is None or self._built[0] != key:
            if key in _BUILD_CACHE:
                _BUILD_CACHE.move_to_end(key)
                result = _BUILD_CACHE[key]
            else:
                self.buffer_registry.generate_layouts()
                result = self.build()
                _BUILD_CACHE[key] = result
                if len(_BUILD_CACHE) > _BUILD_CACHE_SIZE:
                    _BUILD_CACHE.popitem(last=False)
            self._built = (key, result)
        return self._built[1]

    @property
    def device_function(self):
        """The compiled device function (built on first access)."""
        result = self.built
        return getattr(result, "device_function", result)

    def describe_memory(self) -> str:
        """The registry tree with locations, sizes and per-pool totals."""
        return str(self.buffer_registry)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, {self._settings!r})"
