"""What a user needs to choose a method: one record per registered method, and a table of them."""

from __future__ import annotations

import attrs

#: Readable family names, by the code in ``tableau.family``.
FAMILY_NAMES = {
    "erk": "explicit",
    "dirk": "diagonally implicit",
    "firk": "fully implicit",
    "rosenbrock": "rosenbrock",
}


@attrs.frozen
class MethodInfo:
    """One registered method.

    Attributes
    ----------
    name : str
        The canonical name (what ``method=`` takes, as do the aliases).
    aliases : tuple of str
    family : {"erk", "dirk", "firk", "rosenbrock"}
        The family code (``available_methods(family)`` filters on it);
        :attr:`family_name` is its readable form.
    order : int
    stages : int
        Right-hand-side evaluations (explicit) or stage solves per step.
    adaptive : bool
        Has an error estimate (embedded weights, or a residual, history or
        filtered estimate), so it adapts its step; otherwise it takes fixed
        steps (``dt=``).
    stiff : bool
        Suits stiff problems: the implicit families (diagonally implicit,
        fully implicit, Rosenbrock) do, explicit methods do not.
    """

    name: str
    aliases: tuple[str, ...]
    family: str
    order: int
    stages: int
    adaptive: bool
    stiff: bool

    @property
    def family_name(self) -> str:
        """``"explicit"``, ``"diagonally implicit"``, ``"fully implicit"`` or ``"rosenbrock"``."""
        return FAMILY_NAMES[self.family]

    @classmethod
    def of(cls, tableau, adaptive: bool) -> "MethodInfo":
        """The record of ``tableau``; ``adaptive`` says whether it has an error estimate."""
        return cls(name=tableau.name, aliases=tuple(tableau.aliases), family=tableau.family, order=tableau.order,
                   stages=tableau.stages, adaptive=bool(adaptive), stiff=tableau.family != "erk")


#: Columns of the table: heading and how to show a record's value.
_COLUMNS = (
    ("method", lambda info: info.name),
    ("family", lambda info: info.family_name),
    ("order", lambda info: str(info.order)),
    ("stages", lambda info: str(info.stages)),
    ("adaptive", lambda info: "yes" if info.adaptive else "no"),
    ("stiff", lambda info: "yes" if info.stiff else "no"),
    ("aliases", lambda info: ", ".join(info.aliases)),
)


class MethodTable(tuple):
    """A tuple of :class:`MethodInfo` records whose ``str()`` is a plain-text table.

    ``print(batchode.available_methods())`` shows one line per method;
    :attr:`names` lists the canonical names.
    """

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical names, in table order."""
        return tuple(info.name for info in self)

    def __str__(self) -> str:
        rows = [[heading for heading, _ in _COLUMNS]]
        rows += [[show(info) for _, show in _COLUMNS] for info in self]
        widths = [max(len(row[j]) for row in rows) for j in range(len(_COLUMNS))]
        return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


__all__ = ["FAMILY_NAMES", "MethodInfo", "MethodTable"]
