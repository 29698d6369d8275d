"""Arithmetic on real or complex matrix entries kept in real arrays, shared by the dense and sparse LUs.

A complex array of ``m`` entries is stored in a real array of ``2m``: the
real parts, then the imaginary parts (``half = m`` apart), so a complex
vector ``u + i v`` is the real vector ``[u; v]`` of the equivalent real
system, and ``(A + i B)(u + i v) = c + i d`` is ``[[A, -B], [B, A]] [u; v]
= [c; d]`` with half its flops and memory. Complex values are ``(re, im)``
tuples of the working precision: numba's complex types would widen float32
work to complex128 (``complex(re, im)``) and cannot live in the typed real
buffer pools. The pivot magnitude of a complex entry is ``|re| + |im|``
(no square root), as in Hairer & Wanner's complex LU ``DECC`` (decsol.f).
"""

from __future__ import annotations


def entry_arithmetic(dtype, complex_entries: bool):
    """``(unit, load, store, magnitude, multiply, subtract, divide)`` for real or complex entries.

    ``load(array, index, half)`` and ``store(array, index, half, value)``
    read and write entry ``index`` of an array whose imaginary parts start
    ``half`` after its real parts (ignored for real entries); the others
    work on values as ``load`` returns them. Plain Python functions: the
    caller compiles them for its backend.
    """
    one, zero = dtype(1.0), dtype(0.0)
    if not complex_entries:
        def load(array, index, half):
            return array[index]

        def store(array, index, half, value):
            array[index] = value

        def magnitude(value):
            return abs(value)

        def multiply(x, y):
            return x * y

        def subtract(x, y):
            return x - y

        def divide(x, y):
            return x / y

        return one, load, store, magnitude, multiply, subtract, divide

    def load(array, index, half):
        return array[index], array[half + index]

    def store(array, index, half, value):
        array[index] = value[0]
        array[half + index] = value[1]

    def magnitude(value):
        return abs(value[0]) + abs(value[1])

    def multiply(x, y):
        return x[0] * y[0] - x[1] * y[1], x[0] * y[1] + x[1] * y[0]

    def subtract(x, y):
        return x[0] - y[0], x[1] - y[1]

    def divide(x, y):
        scale = one / (y[0] * y[0] + y[1] * y[1])
        return (x[0] * y[0] + x[1] * y[1]) * scale, (x[1] * y[0] - x[0] * y[1]) * scale

    return (one, zero), load, store, magnitude, multiply, subtract, divide
