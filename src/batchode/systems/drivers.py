"""Forcing inputs given as samples: :class:`Driver`, interpolated inside the device code.

An equation system may name a driver like a parameter (``dv = -k*x + I_ext``);
at run time the name is the driver's value at the current time, from a
piecewise polynomial through its samples:

- ``interpolation="linear"``: straight lines between samples;
- ``interpolation="cubic"``: a cubic spline (SciPy's ``CubicSpline``, with
  periodic end conditions for periodic drivers and not-a-knot ones
  otherwise; SciPy is needed only here, extra ``drivers``).

Outside the sampled interval a ``"clamped"`` driver holds its end values
(slope zero); a ``"periodic"`` one repeats with period
``times[-1] - times[0]`` (its first and last values must be equal, to
rounding).

Every piece is stored as the four coefficients of
``((c0 s + c1) s + c2) s + c3`` in ``s = t - times[i]`` (linear pieces have
``c0 = c1 = 0``), so one evaluation routine serves both kinds. The arrays are
captured by the compiled functions as constants (constant memory on CUDA),
shared by every trajectory.
"""

from __future__ import annotations

import hashlib

import attrs
import numpy as np

INTERPOLATIONS = ("linear", "cubic")
ENDS = ("clamped", "periodic")


def _samples(value) -> np.ndarray:
    return np.array(value, dtype=np.float64, copy=True)


@attrs.frozen(eq=False)
class Driver:
    """Samples of a forcing input and how to interpolate them.

    Parameters
    ----------
    times : 1-D array
        Strictly increasing, finite; at least 2 samples (4 for ``"cubic"``).
    values : 1-D array
        Finite, one per time.
    interpolation : {"cubic", "linear"}
    ends : {"clamped", "periodic"}

    Raises
    ------
    ValueError
        Naming the bad input: shapes, unsorted or repeated times, non-finite
        samples, too few samples, unequal end values of a periodic driver,
        an unknown interpolation or end condition.
    """

    times: np.ndarray = attrs.field(converter=_samples)
    values: np.ndarray = attrs.field(converter=_samples)
    interpolation: str = "cubic"
    ends: str = "clamped"

    def __attrs_post_init__(self):
        times, values = self.times, self.values
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"driver interpolation must be one of {INTERPOLATIONS}, got {self.interpolation!r}")
        if self.ends not in ENDS:
            raise ValueError(f"driver ends must be one of {ENDS}, got {self.ends!r}")
        if times.ndim != 1 or values.shape != times.shape:
            raise ValueError(f"driver times and values must be 1-D of one length, got shapes "
                             f"{times.shape} and {values.shape}")
        needed = 4 if self.interpolation == "cubic" else 2
        if times.size < needed:
            raise ValueError(f"a {self.interpolation} driver needs at least {needed} samples, got {times.size}")
        for name, array in (("times", times), ("values", values)):
            bad = np.flatnonzero(~np.isfinite(array))
            if bad.size:
                raise ValueError(f"driver {name}[{bad[0]}] is {array[bad[0]]}; samples must be finite")
        steps = np.diff(times)
        if (steps <= 0).any():
            i = int(np.flatnonzero(steps <= 0)[0])
            raise ValueError(f"driver times must be strictly increasing: times[{i}] = {times[i]} is followed "
                             f"by times[{i + 1}] = {times[i + 1]}")
        if self.ends == "periodic":
            if abs(values[-1] - values[0]) > 1e-12 * max(np.abs(values).max(), 1.0):
                raise ValueError(f"a periodic driver must end where it starts: values[0] = {values[0]} but "
                                 f"values[-1] = {values[-1]}")
            values[-1] = values[0]  # equal to rounding: make it exact, as the periodic spline requires
        times.flags.writeable = False
        values.flags.writeable = False

    @property
    def digest(self) -> str:
        """Hash of the samples and settings (part of the system's cache key)."""
        content = hashlib.sha256(self.times.tobytes() + self.values.tobytes())
        content.update(f"{self.interpolation}/{self.ends}".encode())
        return content.hexdigest()

    def __eq__(self, other):
        return isinstance(other, Driver) and self.digest == other.digest

    def __hash__(self):
        return hash(self.digest)

    def coefficients(self) -> np.ndarray:
        """Piece coefficients ``(4, n - 1)``: ``c0 s**3 + c1 s**2 + c2 s + c3`` on piece ``i``."""
        times, values = self.times, self.values
        if self.interpolation == "linear":
            pieces = np.zeros((4, times.size - 1))
            pieces[2] = np.diff(values) / np.diff(times)
            pieces[3] = values[:-1]
            return pieces
        try:
            from scipy.interpolate import CubicSpline
        except ImportError:
            raise ImportError("cubic drivers need SciPy: pip install 'batchode[drivers]' "
                              "(or use interpolation='linear')") from None
        condition = "periodic" if self.ends == "periodic" else "not-a-knot"
        return CubicSpline(times, values, bc_type=condition).c

    def __call__(self, t) -> np.ndarray:
        """The interpolated value at ``t`` (numpy, float64): the reference for the device code."""
        value, _ = self.evaluate(np.asarray(t, dtype=np.float64))
        return value

    def evaluate(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Value and slope at ``t`` (numpy), with the same rules as the device code."""
        times, pieces = self.times, self.coefficients()
        x, outside = self._wrap(t)
        i = np.clip(np.searchsorted(times, x, side="right") - 1, 0, times.size - 2)
        s = x - times[i]
        c0, c1, c2, c3 = pieces[:, i]
        slope = np.where(outside, 0.0, (3 * c0 * s + 2 * c1) * s + c2)
        return ((c0 * s + c1) * s + c2) * s + c3, slope

    def _wrap(self, t):
        first, last = self.times[0], self.times[-1]
        if self.ends == "periodic":
            return first + np.mod(t - first, last - first), np.zeros(np.shape(t), bool)
        return np.clip(t, first, last), (t < first) | (t > last)


def as_driver(name: str, value) -> Driver:
    """A :class:`Driver` from a Driver or a ``(times, values)`` pair."""
    if isinstance(value, Driver):
        return value
    try:
        times, values = value
    except (TypeError, ValueError):
        raise ValueError(f"driver {name!r} must be a batchode.Driver or a (times, values) pair, "
                         f"got {type(value).__name__}") from None
    return Driver(times, values)


def compile_driver(driver: Driver, decorator, precision) -> tuple:
    """Device functions ``value(t)`` and ``slope(t)`` of one driver, in ``precision``."""
    dtype = np.dtype(precision)
    times = np.ascontiguousarray(driver.times, dtype=dtype)
    c0, c1, c2, c3 = (np.ascontiguousarray(row, dtype=dtype) for row in driver.coefficients())
    last_piece = times.size - 2
    first, last = dtype.type(times[0]), dtype.type(times[-1])
    period = dtype.type(driver.times[-1] - driver.times[0])
    periodic = driver.ends == "periodic"
    zero, two, three = dtype.type(0.0), dtype.type(2.0), dtype.type(3.0)

    def locate(t):
        # Returns the wrapped time and its piece: the last i with times[i] <= x.
        if periodic:
            x = t - period * ((t - first) // period)
        else:
            x = min(max(t, first), last)
        low, high = 0, last_piece
        while low < high:
            middle = (low + high + 1) // 2
            if times[middle] <= x:
                low = middle
            else:
                high = middle - 1
        return x - times[low], low

    locate = decorator(locate)

    def value(t):
        s, i = locate(t)
        return ((c0[i] * s + c1[i]) * s + c2[i]) * s + c3[i]

    def slope(t):
        if not periodic and (t < first or t > last):
            return zero
        s, i = locate(t)
        return (three * c0[i] * s + two * c1[i]) * s + c2[i]

    return decorator(value), decorator(slope)
