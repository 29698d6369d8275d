"""``SummaryOutputs``: the selected metrics over the selected variables, as one loop child.

Summary contract (built as :class:`SummaryBuild`)::

    initialise(shared, persistent)                          # start of a run
    sample(count, t, y, p, shared, persistent)              # every save time
    finalise(count, out, shared, persistent)                # end of every window

1. ``sample`` gathers the summarised variables (states and observables,
   by name) at the save time ``t``, evaluates ``f(t, y)`` only when a
   derivative metric is selected, and passes them to every metric;
   ``count`` is the sample's 1-based position in its window.
2. ``finalise`` writes one window's row of ``width`` values into ``out``:
   metric after metric in the order selected, each variable-major
   (see :mod:`batchode.outputs.metrics`), and resets the windows' state.
3. Each metric is a child factory owning its running state; this factory
   owns only the gathering buffers (``values``, ``observed``,
   ``derivative``, ``derivative_values``; LOCAL, each enabled only when
   needed).
"""

from __future__ import annotations

import difflib
import re

import attrs

from batchode.algorithms.source import StepSource
from batchode.factory import CUDAFactory
from batchode.outputs.metrics import METRICS

_SPEC = re.compile(r"^\s*([a-z_]+)\s*(?:\[\s*(\d+)\s*\])?\s*$")


def parse_metric(spec: str) -> tuple[str, dict]:
    """Split ``"peaks[5]"`` into ``("peaks", {"keep": 5})``; check the name.

    Raises
    ------
    ValueError
        For an unknown metric (with close matches), or an argument given to
        a metric that takes none.
    """
    match = _SPEC.match(spec) if isinstance(spec, str) else None
    if match is None:
        raise ValueError(f"summary metric must be a name such as 'mean' or 'peaks[5]', got {spec!r}")
    name, argument = match.groups()
    if name not in METRICS:
        close = difflib.get_close_matches(name, list(METRICS), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown summary metric {name!r}{hint} (available: {', '.join(METRICS)})")
    if argument is None:
        return name, {}
    if "keep" not in attrs.fields_dict(METRICS[name].Settings):
        raise ValueError(f"summary metric {name!r} takes no argument, got {spec!r}")
    return name, {"keep": int(argument)}


@attrs.frozen
class SummaryBuild:
    """Compiled ``initialise``, ``sample`` and ``finalise``."""

    initialise: object
    sample: object
    finalise: object

    @property
    def device_function(self):
        return self.sample


@attrs.frozen
class SummarySettings:
    """What to summarise.

    Attributes
    ----------
    metrics : tuple of str
        Metric specifications (``"mean"``, ``"peaks[5]"``), in output order.
    variables : tuple of str
        State and observable names, in output order.
    """

    metrics: tuple = attrs.field(default=(), converter=tuple)
    variables: tuple = attrs.field(default=(), converter=tuple)


class SummaryOutputs(CUDAFactory):
    """Factory of the summary functions; one child per selected metric.

    Parameters
    ----------
    system_factory : SystemFactory
        Supplies ``dxdt`` and the observables; not owned (the algorithm owns it).
    metrics : sequence of str
        Metric names, optionally with an argument (``"peaks[5]"``).
    variables : sequence of str, optional
        States and observables to summarise; default every state.
    """

    Settings = SummarySettings

    def __init__(self, system_factory, metrics=(), variables=None, **kwargs):
        system = system_factory.system
        names = system.state_names + system.observable_names
        variables = system.state_names if variables is None else tuple(variables)
        if isinstance(variables, str):
            variables = (variables,)
        for name in variables:
            if name not in names:
                close = difflib.get_close_matches(name, list(names), n=3)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                raise ValueError(f"cannot summarise {name!r}: not a state or observable{hint} "
                                 f"(states {list(system.state_names)}, observables {list(system.observable_names)})")
        if len(set(variables)) != len(variables):
            raise ValueError(f"summarise_variables lists a name twice: {list(variables)}")
        parsed = [parse_metric(spec) for spec in metrics]
        seen = [name for name, _ in parsed]
        if len(set(seen)) != len(seen):
            raise ValueError(f"summaries lists a metric twice: {list(metrics)}")
        if metrics and not variables:
            raise ValueError("summaries need at least one variable in summarise_variables")
        observables = [v for v in variables if v in system.observable_names]
        for name, _ in parsed:
            if METRICS[name].needs_derivative and observables:
                raise ValueError(f"summary metric {name!r} uses dx/dt, which only states have; "
                                 f"remove the observables {observables} from summarise_variables "
                                 "or summarise them in a separate solve")
        super().__init__(SummarySettings(tuple(metrics), variables), precision=system_factory.precision,
                         backend=system_factory.backend.name, **kwargs)
        self.system_factory = system_factory
        for name, options in parsed:
            self.add_child(name, METRICS[name](n_variables=len(variables), precision=self.precision,
                                               backend=self.backend.name, **options))
        m, n = len(variables), system.n_states
        self.register_buffer("values", "local", m, enabled=bool(parsed))
        self.register_buffer("observed", "local", system.n_observables, enabled=bool(observables) and bool(parsed))
        self.register_buffer("derivative", "local", n, enabled=lambda: self.needs_derivative)
        self.register_buffer("derivative_values", "local", m, enabled=lambda: self.needs_derivative)

    def hash_extras(self) -> tuple:
        return (self.system_factory.config_hash,)

    @property
    def is_active(self) -> bool:
        """True when at least one metric is selected."""
        return bool(self.children)

    @property
    def needs_derivative(self) -> bool:
        return any(metric.needs_derivative for metric in self.children.values())

    @property
    def variables(self) -> tuple[str, ...]:
        return self.settings.variables

    @property
    def layout(self) -> tuple[tuple[str, tuple[str, ...], int], ...]:
        """``(metric, components, offset)`` of every metric in a window row."""
        rows, offset = [], 0
        for name, metric in self.children.items():
            rows.append((name, metric.components, offset))
            offset += metric.width * len(self.variables)
        return tuple(rows)

    @property
    def width(self) -> int:
        """Values per window row (all metrics, all variables)."""
        return sum(metric.width for metric in self.children.values()) * len(self.variables)

    def build(self) -> SummaryBuild:
        system = self.system_factory.system
        registry = self.buffer_registry
        namespace = {f"alloc_{name}": buffer.allocate() for name, buffer in registry.buffers.items()}
        namespace["dxdt"] = self.system_factory.device_function
        namespace["observables"] = self.system_factory.observables_function
        metrics = list(self.children.items())
        for index, (name, metric) in enumerate(metrics):
            built = metric.built
            namespace[f"view_{index}"] = registry.child_view(name)
            namespace[f"initialise_{index}"] = built.initialise
            namespace[f"update_{index}"] = built.update
            namespace[f"finalise_{index}"] = built.finalise

        def views(lines):
            return [f"    s_{i}, q_{i} = view_{i}(shared, persistent)" for i in range(len(metrics))] + lines

        initialise = StepSource(self.precision)
        initialise.add("def initialise(shared, persistent):",
                       *views([f"    initialise_{i}(s_{i}, q_{i})" for i in range(len(metrics))]), "    return")

        sample = StepSource(self.precision)
        sample.add("def sample(count, t, y, p, shared, persistent):", "    values = alloc_values(shared, persistent)")
        if self.buffer_registry.buffers["observed"].is_enabled():
            sample.add("    observed = alloc_observed(shared, persistent)", "    observables(t, y, p, observed)")
        for v, name in enumerate(self.variables):
            source = (f"y[{system.state_names.index(name)}]" if name in system.state_names
                      else f"observed[{system.observable_names.index(name)}]")
            sample.add(f"    values[{v}] = {source}")
        derivatives = "values"
        if self.needs_derivative:
            derivatives = "derivative_values"
            sample.add("    derivative = alloc_derivative(shared, persistent)",
                       "    derivative_values = alloc_derivative_values(shared, persistent)",
                       "    dxdt(t, y, p, derivative)",
                       *[f"    derivative_values[{v}] = derivative[{system.state_names.index(name)}]"
                         for v, name in enumerate(self.variables)])
        sample.add(*views([f"    update_{i}(count, values, {derivatives}, t, s_{i}, q_{i})"
                           for i in range(len(metrics))]), "    return")

        finalise = StepSource(self.precision)
        finalise.add("def finalise(count, out, shared, persistent):")
        m = len(self.variables)
        for index, ((_, metric), (_, _, offset)) in enumerate(zip(metrics, self.layout)):
            finalise.add(f"    s_{index}, q_{index} = view_{index}(shared, persistent)",
                         f"    finalise_{index}(count, out[{offset}:{offset + metric.width * m}], s_{index}, q_{index})")
        finalise.add("    return")

        compiled = [code.compile(name, namespace, f"summaries {name}")[0]
                    for code, name in ((initialise, "initialise"), (sample, "sample"), (finalise, "finalise"))]
        # Not inlined at numba-IR level (see SummaryMetric.compile): the
        # LOCAL gathering buffers live and die inside ``sample`` itself.
        return SummaryBuild(*(self.backend.device_function(function, inline=False) for function in compiled))
