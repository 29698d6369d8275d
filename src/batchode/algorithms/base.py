"""What every Runge-Kutta step factory shares: settings, the system child, order."""

from __future__ import annotations

import attrs

from batchode.algorithms.tableaus import ButcherTableau, estimates_error, get_tableau
from batchode.control.base import check_tolerances, tolerance_tuple
from batchode.factory import CUDAFactory

#: Converter of the optional ``rtol``/``atol`` of a step that weighs errors itself.
optional_tolerances = attrs.converters.optional(tolerance_tuple)


def require_tolerances(settings, estimate: str) -> None:
    """Check that a step forming ``estimate`` was given tolerances that fit its system.

    A step that weighs error vectors itself (a residual estimate picks the
    largest residual; a history estimate writes the error weights while it
    has no history) needs ``rtol`` and ``atol``; every other step leaves
    them None, so its compiled code is shared across tolerances.

    Raises
    ------
    ValueError
        If ``settings.rtol`` or ``settings.atol`` is None, or they do not fit
        ``settings.n_states``.
    """
    if settings.rtol is None or settings.atol is None:
        raise ValueError(
            f"method {settings.tableau.name!r} estimates its error from {estimate}, which the step "
            "weighs with the tolerances: pass rtol and atol"
        )
    check_tolerances(settings.rtol, settings.atol, settings.n_states)


@attrs.frozen
class RungeKuttaSettings:
    """Settings of a Runge-Kutta step.

    Attributes
    ----------
    tableau : ButcherTableau
        The method; each engine accepts one family (see ``accepts``).
    n_states : int
        System size.
    compute_error : bool
        Whether to form the error estimate (False for fixed steps).
    """

    tableau: ButcherTableau = attrs.field(converter=get_tableau)
    n_states: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    compute_error: bool = True

    #: (predicate on the tableau, what the engine needs) - set by subclasses
    accepts = (staticmethod(lambda tableau: True), "any tableau")

    def __attrs_post_init__(self):
        accepts, needs = self.accepts
        if not accepts(self.tableau):
            raise ValueError(f"tableau {self.tableau.name!r} is not {needs}")
        if self.compute_error and not estimates_error(self.tableau):
            raise ValueError(
                f"method {self.tableau.name!r} has no error estimate (no embedded pair, residual, history "
                "or filtered estimate), so it cannot adapt its step; use step_controller='fixed' or a "
                "method with an error estimate"
            )


class RungeKuttaStep(CUDAFactory):
    """Base of the step factories: adopts the system as child ``system``."""

    def __init__(self, system_factory, **kwargs):
        super().__init__(precision=system_factory.precision, backend=system_factory.backend.name, **kwargs)
        if self.settings.n_states != system_factory.n_states:
            raise ValueError(
                f"{type(self).__name__}: n_states={self.settings.n_states} but the system has "
                f"{system_factory.n_states}"
            )
        self.add_child("system", system_factory)

    @property
    def tableau(self) -> ButcherTableau:
        return self.settings.tableau

    @property
    def order(self) -> int:
        return self.tableau.order

    @property
    def interpolates(self) -> bool:
        """True when the step's build is also the loop's interpolant (:mod:`batchode.algorithms.interpolation`)."""
        return False

    @property
    def newton_cap_offset(self) -> int | None:
        """Offset in the step's run-time block of its cap on the Newton iterations of a step, or None.

        The loop hands that cap to the step controller (contract item 3 of
        :mod:`batchode.control.base`); None for a step without a capped
        Newton iteration of its own.
        """
        return None

    def generated_source(self) -> str:
        """The step's generated Python source (for inspection)."""
        return "\n".join(self._source().lines) + "\n"
