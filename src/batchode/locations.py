"""Buffer locations by readable path: ``{"algorithm.newton.linear.basis": "shared"}``.

A buffer's path is its place in the loop's registry tree, dots between the
names (``"state"``, ``"algorithm.stage_derivatives"``,
``"algorithm.newton.linear.basis"``, ``"controller.history"``). Any tail of
a path that names one buffer alone also names it (``"linear.basis"`` for
a DIRK's or a Rosenbrock method's Krylov basis), so a location moves with
its buffer when the method changes family.
"""

from __future__ import annotations

import difflib

from batchode.memory import BufferLocation


def buffer_paths(registry, prefix: str = "") -> dict[str, str]:
    """Every buffer of ``registry``'s tree: readable path -> the factory tree's ``<path>_location`` key."""
    paths = {f"{prefix}{name}": f"{prefix}{name}".replace(".", "_") + "_location" for name in registry.buffers}
    for child_name, child in registry.children.items():
        paths.update(buffer_paths(child, f"{prefix}{child_name}."))
    return paths


def _resolve(path: str, paths: dict[str, str]) -> list[str]:
    """The full paths ``path`` names: itself, or every path it is a tail of."""
    if path in paths:
        return [path]
    return [full for full in paths if full.endswith("." + path)]


def location_keys(loop, locations: dict, strict: bool = True) -> dict:
    """``locations`` (readable path -> location) as update keys of ``loop`` (``<path>_location``).

    Parameters
    ----------
    loop : IntegrationLoop
    locations : dict
    strict : bool
        False leaves out paths that name no buffer of this loop (a kernel
        built without some part, such as an interpolant, takes the
        locations of the parts it has).

    Raises
    ------
    ValueError
        For a path that names no buffer (suggesting close ones) or several,
        or an unknown location.
    """
    paths = buffer_paths(loop.buffer_registry)
    keys = {}
    for path, location in locations.items():
        matches = _resolve(path, paths)
        if len(matches) > 1:
            raise ValueError(f"locations: {path!r} names {len(matches)} buffers ({', '.join(matches)}); "
                             "expected a path that names one, e.g. one of those")
        if not matches:
            if not strict:
                continue
            close = difflib.get_close_matches(path, list(paths), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"locations: no buffer {path!r}{hint} (buffers: {', '.join(paths)})")
        try:
            keys[paths[matches[0]]] = BufferLocation.coerce(location)
        except ValueError as error:
            raise ValueError(f"locations[{path!r}]: {error}") from None
    return keys
