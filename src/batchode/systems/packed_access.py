"""Runs of array entries loaded and stored by one call: how generated code reads its inputs and writes its results.

Generated functions (:mod:`batchode.systems.codegen`) read every state and
parameter they use and write every result at a constant index. Written as
one ``y[3]``-style line per entry, each entry cost numba about 2 ms to type
and lower (bounds handling, a pointer computation and a store built by
numba's array code for every line): the 396 stores and 100 loads of the
Jacobian values of a 100-state Brusselator took 0.6 of the 1.2 s their
function took to compile. Here a run of consecutive entries is one call,
:func:`load_run` or :func:`store_run`, whose LLVM code is a load or a store
per entry at a constant offset from the array's data pointer (times its
stride, for a strided view): the same machine code (the same loads and
stores), compiled in 0.6 s.

Both are numba intrinsics (for the CPU and CUDA targets alike) that plain
Python can call too: the CUDA simulator runs device code as Python, and
tests call generated functions undecorated.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.core.extending import _Intrinsic


class _PythonCallableIntrinsic(_Intrinsic):
    """A numba intrinsic that, called from Python, runs ``python`` instead.

    numba's ``intrinsic`` objects raise when Python calls them; their
    typing and lowering (registered by ``_register``) are unchanged here.
    """

    def __init__(self, name: str, definition, python):
        super().__init__(name, definition, prefer_literal=True)
        self._python = python
        self._register()

    def __call__(self, *args):
        return self._python(*args)

    def __reduce__(self):
        # Pickled by reference to this module's object of that name (numba's
        # own reduction rebuilds through a constructor of another signature).
        return self._name


def _entry_pointers(context, builder, array_type, array, first: int, count: int) -> list:
    """Pointers to entries ``first, ..., first + count - 1`` of the 1-D ``array`` (constant offsets if contiguous)."""
    structure = context.make_array(array_type)(context, builder, array)
    return [cgutils.get_item_pointer(context, builder, array_type, structure, [ir.Constant(ir.IntType(64), index)])
            for index in range(first, first + count)]


def _is_vector(array) -> bool:
    return isinstance(array, types.Array) and array.ndim == 1


def _load_run_python(array, start, count):
    return tuple(array[start + i] for i in range(count))


def _load_run_definition(typing_context, array, start, count):
    """``load_run(array, start, count)``: the tuple ``array[start], ..., array[start + count - 1]``."""
    if not (_is_vector(array) and isinstance(start, types.IntegerLiteral)
            and isinstance(count, types.IntegerLiteral)):
        return None
    first, size = start.literal_value, count.literal_value
    signature = types.UniTuple(array.dtype, size)(array, start, count)

    def codegen(context, builder, signature, arguments):
        values = ir.Constant(context.get_value_type(signature.return_type), ir.Undefined)
        for i, pointer in enumerate(_entry_pointers(context, builder, array, arguments[0], first, size)):
            values = builder.insert_value(values, builder.load(pointer), i)
        return values

    return signature, codegen


def _store_run_python(array, start, values):
    for i, value in enumerate(values):
        array[start + i] = value


def _store_run_definition(typing_context, array, start, values):
    """``store_run(array, start, values)``: ``array[start + i] = values[i]`` for every ``i``, cast to its type."""
    if not (_is_vector(array) and isinstance(start, types.IntegerLiteral)
            and isinstance(values, types.BaseTuple)):
        return None
    first = start.literal_value
    signature = types.none(array, start, values)

    def codegen(context, builder, signature, arguments):
        pointers = _entry_pointers(context, builder, array, arguments[0], first, len(values))
        for i, (value_type, pointer) in enumerate(zip(values, pointers)):
            value = context.cast(builder, builder.extract_value(arguments[2], i), value_type, array.dtype)
            builder.store(value, pointer)
        return context.get_dummy_value()

    return signature, codegen


#: ``load_run(array, start, count)`` returns ``count`` consecutive entries of ``array`` from
#: ``start`` as a tuple; ``start`` and ``count`` are constants in compiled code.
load_run = _PythonCallableIntrinsic("load_run", _load_run_definition, _load_run_python)

#: ``store_run(array, start, values)`` writes the tuple ``values`` into consecutive entries of
#: ``array`` from ``start`` (a constant in compiled code), each cast to the array's type.
store_run = _PythonCallableIntrinsic("store_run", _store_run_definition, _store_run_python)
