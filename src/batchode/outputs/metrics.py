"""Summary metrics: one small factory per statistic, updated sample by sample.

Metric contract (built as :class:`MetricBuild`), for ``m`` summarised
variables::

    initialise(shared, persistent)                 # once, at the start of a run
    update(count, values, derivatives, t, shared, persistent)
    finalise(count, out, shared, persistent)       # at the end of every window

1. ``update`` sees one sample: ``values`` (m,) are the summarised variables
   at time ``t``, ``derivatives`` (m,) their time derivatives ``f(t, y)``
   (filled only when some metric has ``needs_derivative``), and ``count``
   is the sample's 1-based position in its window.
2. ``finalise`` writes ``width * m`` values into ``out``, variable-major
   (``out[v * width + c]`` is component ``c`` of variable ``v``), from the
   ``count`` samples of the window, and resets what belongs to the window.
3. The running state lives in the metric's own LOCAL_PERSISTENT buffer
   ``running`` (``state_size * m`` elements), so only the selected metrics
   cost memory, and it survives between the loop's steps.

Every statistic is over the samples (the save times), so it equals the same
statistic computed with numpy from the saved time series of the run.
"""

from __future__ import annotations

import math
from typing import ClassVar

import attrs

from batchode.factory import CUDAFactory


@attrs.frozen
class MetricBuild:
    """Compiled ``initialise``, ``update`` and ``finalise`` of one metric."""

    initialise: object
    update: object
    finalise: object

    @property
    def device_function(self):
        return self.update


@attrs.frozen
class MetricSettings:
    """Settings every metric has: how many variables it summarises."""

    n_variables: int = attrs.field(default=1, validator=attrs.validators.ge(1))


class SummaryMetric(CUDAFactory):
    """Base of the metrics; subclasses give ``state_size`` and ``build``.

    Class attributes
    ----------------
    needs_derivative : bool
        Whether ``update`` reads ``derivatives`` (only states have one).
    """

    Settings = MetricSettings
    state_size: ClassVar[int] = 1
    needs_derivative: ClassVar[bool] = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.register_buffer("running", "local_persistent", lambda: self.running_size * self.settings.n_variables)

    @property
    def running_size(self) -> int:
        """Running-state elements per variable."""
        return self.state_size

    @property
    def components(self) -> tuple[str, ...]:
        """Names of the values written per variable (their number is the width)."""
        return (self.name,)

    @property
    def width(self) -> int:
        return len(self.components)

    def constant(self, value: float):
        return self.precision.type(value)

    def compile(self, function):
        """Compile one of the metric's device functions.

        Not inlined at numba-IR level (LLVM/NVVM still inline them): they
        allocate no LOCAL arrays, and IR inlining of a dozen small
        functions per metric multiplied the loop's compile time.
        """
        return self.backend.device_function(function, inline=False)


class ReductionMetric(SummaryMetric):
    """A statistic kept as one running value per variable.

    Subclasses give ``start`` (the value of an empty window), ``combine``
    (``acc, x -> acc``) and ``finish`` (``acc, count -> statistic``) as plain
    Python functions, compiled here for the backend.
    """

    start: ClassVar[float] = 0.0

    @staticmethod
    def combine(acc, x):  # pragma: no cover - overridden
        raise NotImplementedError

    @staticmethod
    def finish(acc, count):
        return acc

    def build(self) -> MetricBuild:
        m = self.settings.n_variables
        start = self.constant(self.start)
        device = self.compile
        combine, finish = device(type(self).combine), device(type(self).finish)
        alloc = self.buffer_registry.buffers["running"].allocate()
        uses_derivative = self.needs_derivative

        def initialise(shared, persistent):
            running = alloc(shared, persistent)
            for v in range(m):
                running[v] = start

        def update(count, values, derivatives, t, shared, persistent):
            running = alloc(shared, persistent)
            source = derivatives if uses_derivative else values
            for v in range(m):
                running[v] = combine(running[v], source[v])

        def finalise(count, out, shared, persistent):
            running = alloc(shared, persistent)
            for v in range(m):
                out[v] = finish(running[v], count)
                running[v] = start

        return MetricBuild(device(initialise), device(update), device(finalise))


class Mean(ReductionMetric):
    """Arithmetic mean of the samples."""

    @staticmethod
    def combine(acc, x):
        return acc + x

    @staticmethod
    def finish(acc, count):
        return acc / count


class Minimum(ReductionMetric):
    """Smallest sample."""

    start = math.inf

    @staticmethod
    def combine(acc, x):
        return min(acc, x)


class Maximum(ReductionMetric):
    """Largest sample."""

    start = -math.inf

    @staticmethod
    def combine(acc, x):
        return max(acc, x)


class RootMeanSquare(ReductionMetric):
    """sqrt(mean(x**2))."""

    @staticmethod
    def combine(acc, x):
        return acc + x * x

    @staticmethod
    def finish(acc, count):
        return math.sqrt(acc / count)


class MaximumMagnitude(ReductionMetric):
    """max(|x|)."""

    @staticmethod
    def combine(acc, x):
        return max(acc, abs(x))


class DerivativeMaximum(Maximum):
    """Largest ``dx/dt = f(t, y)`` over the samples (states only)."""

    needs_derivative = True


class DerivativeMinimum(Minimum):
    """Smallest ``dx/dt = f(t, y)`` over the samples (states only)."""

    needs_derivative = True


class StandardDeviation(SummaryMetric):
    """Population standard deviation (numpy's ``std`` with ``ddof=0``).

    Welford's update (running mean and sum of squared deviations) rather
    than sums of x and x**2, which cancel catastrophically in float32 when
    the mean is large compared with the spread.
    """

    state_size = 2

    def build(self) -> MetricBuild:
        m = self.settings.n_variables
        zero = self.constant(0.0)
        alloc = self.buffer_registry.buffers["running"].allocate()
        device = self.compile

        def initialise(shared, persistent):
            running = alloc(shared, persistent)
            for j in range(2 * m):
                running[j] = zero

        def update(count, values, derivatives, t, shared, persistent):
            running = alloc(shared, persistent)
            for v in range(m):
                mean = running[2 * v]
                delta = values[v] - mean
                mean += delta / count
                running[2 * v] = mean
                running[2 * v + 1] += delta * (values[v] - mean)

        def finalise(count, out, shared, persistent):
            running = alloc(shared, persistent)
            for v in range(m):
                out[v] = math.sqrt(running[2 * v + 1] / count)
                running[2 * v] = zero
                running[2 * v + 1] = zero

        return MetricBuild(device(initialise), device(update), device(finalise))


class Extrema(SummaryMetric):
    """Minimum and maximum of the samples (two components)."""

    state_size = 2

    @property
    def components(self) -> tuple[str, ...]:
        return ("min", "max")

    def build(self) -> MetricBuild:
        m = self.settings.n_variables
        low, high = self.constant(math.inf), self.constant(-math.inf)
        alloc = self.buffer_registry.buffers["running"].allocate()
        device = self.compile

        def initialise(shared, persistent):
            running = alloc(shared, persistent)
            for v in range(m):
                running[2 * v] = low
                running[2 * v + 1] = high

        def update(count, values, derivatives, t, shared, persistent):
            running = alloc(shared, persistent)
            for v in range(m):
                running[2 * v] = min(running[2 * v], values[v])
                running[2 * v + 1] = max(running[2 * v + 1], values[v])

        def finalise(count, out, shared, persistent):
            running = alloc(shared, persistent)
            for v in range(m):
                out[2 * v] = running[2 * v]
                out[2 * v + 1] = running[2 * v + 1]
                running[2 * v] = low
                running[2 * v + 1] = high

        return MetricBuild(device(initialise), device(update), device(finalise))


@attrs.frozen
class PeakSettings(MetricSettings):
    """How many peak times to keep per window.

    Attributes
    ----------
    keep : int
        The times of the first ``keep`` peaks of each window are written;
        the count covers every peak of the window.
    """

    keep: int = attrs.field(default=4, validator=attrs.validators.ge(1))


class Peaks(SummaryMetric):
    """Local maxima of the sampled series: their count and the times of the first ``keep``.

    Sample ``i`` is a peak when ``x[i-1] < x[i] > x[i+1]`` (strict, so a flat
    stretch is not a peak). A peak is confirmed by the sample after it and
    counted in that sample's window; the two previous samples are carried
    across windows, so no peak is lost at a window boundary. Unused time
    slots are NaN. Components: ``count``, ``t_1`` ... ``t_keep``.
    """

    Settings = PeakSettings
    #: +1 for maxima; :class:`NegativePeaks` flips it to find minima.
    sign: ClassVar[float] = 1.0

    @property
    def running_size(self) -> int:
        # previous value, the one before it, the previous time, the count, the times
        return 4 + self.settings.keep

    @property
    def components(self) -> tuple[str, ...]:
        return ("count",) + tuple(f"t_{j + 1}" for j in range(self.settings.keep))

    def build(self) -> MetricBuild:
        m, keep = self.settings.n_variables, self.settings.keep
        size = self.running_size
        width = 1 + keep
        sign, nan, zero, one = (self.constant(v) for v in (self.sign, math.nan, 0.0, 1.0))
        alloc = self.buffer_registry.buffers["running"].allocate()
        device = self.compile

        def initialise(shared, persistent):
            running = alloc(shared, persistent)
            for v in range(m):
                base = v * size
                # NaN neighbours compare false, so the first two samples
                # cannot complete a peak.
                running[base] = nan
                running[base + 1] = nan
                running[base + 2] = nan
                running[base + 3] = zero
                for j in range(keep):
                    running[base + 4 + j] = nan

        def update(count, values, derivatives, t, shared, persistent):
            running = alloc(shared, persistent)
            for v in range(m):
                base = v * size
                before, middle, current = sign * running[base + 1], sign * running[base], sign * values[v]
                if before < middle and middle > current:
                    found = running[base + 3]
                    if found < keep:
                        running[base + 4 + int(found)] = running[base + 2]
                    running[base + 3] = found + one
                running[base + 1] = running[base]
                running[base] = values[v]
                running[base + 2] = t

        def finalise(count, out, shared, persistent):
            running = alloc(shared, persistent)
            for v in range(m):
                base = v * size
                out[v * width] = running[base + 3]
                running[base + 3] = zero
                for j in range(keep):
                    out[v * width + 1 + j] = running[base + 4 + j]
                    running[base + 4 + j] = nan

        return MetricBuild(device(initialise), device(update), device(finalise))


class NegativePeaks(Peaks):
    """Local minima (``x[i-1] > x[i] < x[i+1]``): count and first times, as :class:`Peaks`."""

    sign = -1.0


#: Metric names users select with ``summaries=[...]`` and their factories.
METRICS: dict[str, type[SummaryMetric]] = {
    "mean": Mean,
    "min": Minimum,
    "max": Maximum,
    "rms": RootMeanSquare,
    "std": StandardDeviation,
    "max_magnitude": MaximumMagnitude,
    "extrema": Extrema,
    "peaks": Peaks,
    "negative_peaks": NegativePeaks,
    "dxdt_max": DerivativeMaximum,
    "dxdt_min": DerivativeMinimum,
}
