"""The sparse LU of one schedule as straight-line code: numba intrinsics that emit LLVM IR.

A sparse triangular solve of one trajectory is a chain of dependent
multiply-adds (row ``a`` needs the rows it refers to), so its speed is set
by latency, not by arithmetic. Written as loops over the schedule's arrays
(:class:`~batchode.solvers.linear.sparse_lu.SparseSchedule`), every entry
also costs two index loads, and the running solution goes through memory,
whose store-to-load forwarding adds to each link of the chain: measured on
the 40-state Brusselator (CPU, float64), 320 ns a solve and 490 ns a
factorisation. Unrolled, with every index a constant and every value in a
register, the same arithmetic takes 156 and 242 ns.

Generating that unrolled code as Python source for numba to compile costs
too much: numba's front end took 3.5 s for the 700 lines of the 40-state
factorisation and 10 s at 100 states. So each function is a numba
``intrinsic`` whose code generator walks the schedule once and emits the
LLVM instructions directly (a few milliseconds): loads at constant offsets,
``fmul``/``fsub``/``fdiv`` in the same order as the loops would do them (no
fast-math flags, so no contraction: the results are those of the loops, bit
for bit), and stores.

On the CPU that code is a function of its own, optimised once (LLVM's O3
on a module holding only it), then marked ``noinline`` and ``optnone``:
numba optimises every function again inside each caller it is linked into
(step, loop, kernel), and LLVM's optimiser on a few thousand straight-line
instructions took seconds each time when it was emitted into its callers
(a radau-iia-5 build on the 100-state Brusselator went from 9 s to 16 s).
Optimised once, the 100-state build takes as long as with the unoptimised
function (9.5-9.8 s), and radau-iia-5 runs 3 % (40 states) and 5 % (100
states) faster (CPU time per run, one thread, best of 5, three runs each).
``optnone`` also means the quick instruction selector at code generation;
against code optimised inline with its callers, the unoptimised function
had cost up to 12 % of the run time. On
CUDA it is emitted inline, for NVVM to optimise with its caller.

That quick code generation costs the factorisation most: it keeps every
entry in a register from forming to storing, and the quick selector and
register allocator spill around each use (61 against 26 kB of machine code
for the 40-state Brusselator's real block). So on ELF targets (Linux) both
functions reach the kernel as machine code instead
(:func:`_machine_code_module`): compiled once at code-generation level 1,
which gives them the code of level 3 in the time of the quick selector, and
carried as module-level assembly that the kernel's code generation only
assembles. Measured on the 40-state Brusselator's radau-iia-5 blocks (one
thread, a loop of 20,000 calls, best of 15): 244 -> 226 ns a real
factorisation and 469 -> 400 ns a complex one. A lone solve gained little
(135 ns either way at 40 states, 366 -> 350 ns at 100), but the real and
complex solves in lockstep (:func:`_lockstep`), whose values of both
blocks are live at once, gained more: 252 -> 239 ns at 40 states, 761 ->
683 ns at 100; a whole 100-state run 8-12 % (radau-iia-5) and 4-5 %
(rodas5p) faster. Cold 100-state builds took as long as before (radau-iia-5
6.5-6.9 s, rodas5p 5.0 s, kvaerno5 5.2 s).

Fused multiply-adds (``llvm.fma``) in place of a multiply and a subtraction
were measured and not taken: on this machine (AMD Zen 5) they made a lone
real solve 25 % faster and rodas5p's 100-state run 10 % faster, but the
lockstep pair of solves 5-40 % slower (the fused operations compete for the
multiply units that the complex block's products need, where an addition
has units of its own), and they would tie the results to whether the
processor has them.

The elimination and the substitutions are written once
(:func:`_factorise` and :func:`_substitute`) against a small arithmetic
interface with two implementations: :class:`_Emitter` emits LLVM
instructions, :class:`_Interpreter` computes with the numbers themselves.
The latter is :func:`python_functions`, which the CUDA simulator runs (it
executes device code as Python and cannot run an intrinsic) and which the
tests hold the compiled code to, bit for bit.

Complex entries (the complex blocks of a fully implicit step) are pairs of
real values, the real parts then the imaginary parts of each array
(:mod:`batchode.solvers.linear.dense_lu`), with the same arithmetic as the
dense LU's complex entries: ``|re| + |im|`` as the pivot's size.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re

import llvmlite.binding as llvm
from llvmlite import ir
from numba.core import cgutils, types
from numba.core.registry import cpu_target
from numba.extending import intrinsic

from batchode.status import Status


def _factorise(ops, schedule, eps: float, values, factors, alpha, shift_re, shift_im):
    """The elimination of ``shift I - alpha J`` on ``schedule`` in ``ops``' arithmetic, a generator
    yielding after each row (see :func:`_lockstep`); returns whether a pivot failed.

    Every entry is kept in a local (a register) from forming to storing.
    Every pivot is tested (``|u_aa| <= eps * sum_j |m_aj|`` fails, the sum
    over row ``a`` of ``M`` as formed); if any fails, the factors are not
    usable.
    """
    n, stored = schedule.n, schedule.stored
    row_start, diagonal, columns = schedule.row_start.tolist(), schedule.diagonal.tolist(), schedule.columns.tolist()
    targets = schedule.targets.tolist()
    entry_of = {position: e for e, position in enumerate(schedule.scatter.tolist())}
    pivots = set(diagonal)
    zero = ops.constant(alpha, 0.0)
    minus_alpha = ops.negate(alpha)
    shift = (shift_re, shift_im)[:ops.parts]
    f = []
    for q in range(stored):  # M's entries: -alpha J, plus the shift on the diagonal
        entry = (zero,) * ops.parts
        if q in entry_of:
            entry = (ops.product(minus_alpha, ops.load_real(values, entry_of[q])),) + entry[1:]
        if q in pivots:
            entry = ops.add(entry, shift) if q in entry_of else shift
        f.append(entry)
    bad = ops.false()
    threshold = ops.constant(alpha, eps)
    update = 0
    for a in range(n):
        first, pivot_at, end = row_start[a], diagonal[a], row_start[a + 1]
        scale = zero
        for q in range(first, end):  # row a is untouched until now: M's own
            scale = ops.total(scale, ops.magnitude(f[q]))
        for q in range(first, pivot_at):
            k = columns[q]
            multiplier = ops.multiply(f[q], f[diagonal[k]])  # that pivot's reciprocal
            f[q] = multiplier
            for source in range(diagonal[k] + 1, row_start[k + 1]):
                target = targets[update]
                f[target] = ops.subtract(f[target], ops.multiply(multiplier, f[source]))
                update += 1
        bad = ops.either(bad, ops.at_most(ops.magnitude(f[pivot_at]), ops.product(threshold, scale)))
        f[pivot_at] = ops.reciprocal(f[pivot_at])
        yield
    for q in range(stored):
        ops.store(factors, q, stored, f[q])
    return bad


def _substitute(ops, schedule, factors, rhs, x, offset: int = 0):
    """``x = M^-1 rhs`` in ``ops``' arithmetic, the vectors from entry ``offset`` on: forward (``L z = P
    rhs``, unit diagonal), then backward (``U (P x) = z``), the solution in locals; ``x`` is written at
    the end, so it may be ``rhs``. A generator yielding after each row of each sweep (see :func:`_lockstep`).

    Each row subtracts the entry it waits for last: the forward sweep takes
    a row's columns in increasing order and the backward sweep in
    decreasing order, so the products of earlier rows' solutions are
    already subtracted when the one just computed arrives, and only one
    multiply-subtract per row is on the chain. Taking the backward columns
    in increasing order put the whole row on it: 154 against 135 ns a real
    solve, 249 against 235 ns a complex one (the 40-state Brusselator's
    radau-iia-5 blocks, CPU, float64).
    """
    n, stored = schedule.n, schedule.stored
    row_start, diagonal = schedule.row_start.tolist(), schedule.diagonal.tolist()
    order, columns = schedule.order.tolist(), schedule.columns.tolist()
    z = [ops.load(rhs, offset + order[a], n) for a in range(n)]
    for a in range(n):
        for q in range(row_start[a], diagonal[a]):
            z[a] = ops.subtract(z[a], ops.multiply(ops.load(factors, q, stored), z[columns[q]]))
        yield
    for a in range(n - 1, -1, -1):
        for q in range(row_start[a + 1] - 1, diagonal[a], -1):
            z[a] = ops.subtract(z[a], ops.multiply(ops.load(factors, q, stored), z[columns[q]]))
        z[a] = ops.multiply(z[a], ops.load(factors, diagonal[a], stored))
        yield
    for a in range(n):
        ops.store(x, offset + order[a], n, z[a])


def _lockstep(generators) -> list:
    """Run ``generators`` one row each in turn until all are done; their return values.

    The blocks of a fully implicit step are independent systems on one
    pattern, each a chain of dependent operations whose speed is set by
    latency. Emitted row by row in turn, their chains lie side by side in
    one function, so the processor works on one block while the other
    waits: measured on the 40-state Brusselator's radau-iia-5 blocks (CPU,
    float64, one thread), a real and a complex factorisation took 487 ns
    together against 646 ns one after the other, their solves 247 against
    350 ns (100 states: 1279 against 1731 ns, 756 against 996 ns), and a
    whole radau-iia-5 run 5-13 % (40 states) and 13-15 % (100 states)
    faster. The arithmetic of each block is unchanged, so are its results,
    bit for bit.
    """
    generators = list(generators)
    results = [None] * len(generators)
    running = dict(enumerate(generators))
    while running:
        for k, generator in list(running.items()):
            try:
                next(generator)
            except StopIteration as stop:
                results[k] = stop.value
                del running[k]
    return results


def _factorise_blocks(kinds, schedule, eps: float, builder, values, alpha, shifts, factors):
    """The factorisations of the blocks (complex entries or not, per ``kinds``) in lockstep; the status.

    Block ``k`` is ``(shifts[2k] + i shifts[2k + 1]) I - alpha J`` in
    ``factors[k]`` (a real block ignores its imaginary shift). The status is
    ``Status.LINEAR_SOLVER_FAILED`` if any block's pivot fails, else 0.
    ``builder`` is the LLVM builder, or None for the numbers themselves.
    """
    arithmetic = [_arithmetic(builder, complex_entries) for complex_entries in kinds]
    failed = _lockstep(_factorise(ops, schedule, eps, values, array, alpha, shifts[2 * k], shifts[2 * k + 1])
                       for k, (ops, array) in enumerate(zip(arithmetic, factors)))
    ops = arithmetic[0]
    bad = functools.reduce(ops.either, failed, ops.false())
    return ops.status(bad, int(Status.LINEAR_SOLVER_FAILED))


def block_offsets(n: int, kinds) -> list[int]:
    """Where each block's vector starts in the blocks' joint vector: block ``k``'s (``n`` reals, or ``2n``
    for complex entries) follows block ``k - 1``'s."""
    return list(itertools.accumulate((n * (1 + complex_entries) for complex_entries in kinds[:-1]), initial=0))


def _substitute_blocks(kinds, schedule, builder, factors, rhs, x) -> None:
    """The solves of the blocks in lockstep, each on its part of ``rhs`` and ``x`` (:func:`block_offsets`)."""
    _lockstep(_substitute(_arithmetic(builder, complex_entries), schedule, array, rhs, x, offset)
              for complex_entries, array, offset in zip(kinds, factors, block_offsets(schedule.n, kinds)))


class _Arithmetic:
    """Real or complex entries as tuples of ``parts`` values; the arithmetic on them, from that on reals.

    Subclasses give ``load_real``, ``store_real``, ``product``, ``difference``,
    ``total``, ``absolute``, ``quotient`` and the comparisons. The formulas
    (and so the rounding) are those of the dense LU's complex entries.
    """

    def __init__(self, complex_entries: bool):
        self.parts = 2 if complex_entries else 1

    def load(self, array, index: int, half: int) -> tuple:
        """Entry ``index`` of ``array``, its imaginary part ``half`` further on."""
        return tuple(self.load_real(array, index + part * half) for part in range(self.parts))

    def store(self, array, index: int, half: int, value: tuple) -> None:
        for part in range(self.parts):
            self.store_real(array, index + part * half, value[part])

    def negate(self, value):
        """``-value`` as ``-0.0 - value`` (bitwise a negation; the ``fneg`` instruction is newer than some
        NVVM dialects)."""
        return self.difference(self.constant(value, -0.0), value)

    def add(self, x: tuple, y: tuple) -> tuple:
        return tuple(self.total(a, b) for a, b in zip(x, y))

    def subtract(self, x: tuple, y: tuple) -> tuple:
        return tuple(self.difference(a, b) for a, b in zip(x, y))

    def multiply(self, x: tuple, y: tuple) -> tuple:
        if self.parts == 1:
            return (self.product(x[0], y[0]),)
        return (self.difference(self.product(x[0], y[0]), self.product(x[1], y[1])),
                self.total(self.product(x[0], y[1]), self.product(x[1], y[0])))

    def magnitude(self, x: tuple):
        """``|x|``, or ``|re| + |im|`` for a complex entry."""
        return self.absolute(x[0]) if self.parts == 1 else self.total(self.absolute(x[0]), self.absolute(x[1]))

    def reciprocal(self, x: tuple) -> tuple:
        one = self.constant(x[0], 1.0)
        if self.parts == 1:
            return (self.quotient(one, x[0]),)
        scale = self.quotient(one, self.total(self.product(x[0], x[0]), self.product(x[1], x[1])))
        return self.product(x[0], scale), self.product(self.negate(x[1]), scale)


class _Emitter(_Arithmetic):
    """LLVM instructions; arrays are handles ``(data pointer, byte stride or None)`` (:func:`_handle`)."""

    def __init__(self, builder, complex_entries: bool):
        super().__init__(complex_entries)
        self.builder = builder

    def _pointer(self, array, index: int):
        data, stride = array
        if stride is None:  # a contiguous array: the offset is a constant
            return self.builder.gep(data, [ir.Constant(ir.IntType(64), index)], inbounds=True)
        address = self.builder.add(self.builder.ptrtoint(data, stride.type),
                                   self.builder.mul(stride, ir.Constant(stride.type, index)))
        return self.builder.inttoptr(address, data.type)

    def load_real(self, array, index: int):
        return self.builder.load(self._pointer(array, index))

    def store_real(self, array, index: int, value) -> None:
        self.builder.store(value, self._pointer(array, index))

    def constant(self, like, value: float):
        return ir.Constant(like.type, value)

    def product(self, x, y):
        return self.builder.fmul(x, y)

    def difference(self, x, y):
        return self.builder.fsub(x, y)

    def total(self, x, y):
        return self.builder.fadd(x, y)

    def quotient(self, x, y):
        return self.builder.fdiv(x, y)

    def absolute(self, x):
        # The sign bit cleared: exactly fabs, on every target (NVVM does not take llvm.fabs).
        bits = ir.IntType(64 if isinstance(x.type, ir.DoubleType) else 32)
        mask = ir.Constant(bits, (1 << (bits.width - 1)) - 1)
        return self.builder.bitcast(self.builder.and_(self.builder.bitcast(x, bits), mask), x.type)

    def false(self):
        return ir.Constant(ir.IntType(1), 0)

    def at_most(self, x, y):
        return self.builder.fcmp_ordered("<=", x, y)

    def either(self, x, y):
        return self.builder.or_(x, y)

    def status(self, bad, failed: int):
        return self.builder.select(bad, ir.Constant(ir.IntType(64), failed), ir.Constant(ir.IntType(64), 0))


class _Interpreter(_Arithmetic):
    """The numbers themselves (numpy scalars of the arrays' precision); arrays are indexed directly."""

    def load_real(self, array, index: int):
        return array[index]

    def store_real(self, array, index: int, value) -> None:
        array[index] = value

    def constant(self, like, value: float):
        return type(like)(value)

    def product(self, x, y):
        return x * y

    def difference(self, x, y):
        return x - y

    def total(self, x, y):
        return x + y

    def quotient(self, x, y):
        return x / y

    def absolute(self, x):
        return abs(x)

    def false(self):
        return False

    def at_most(self, x, y):
        return bool(x <= y)

    def either(self, x, y):
        return x or y

    def status(self, bad, failed: int):
        return failed if bad else 0


def _arithmetic(builder, complex_entries: bool) -> _Arithmetic:
    """LLVM instructions through ``builder``, or with None the numbers themselves."""
    return _Interpreter(complex_entries) if builder is None else _Emitter(builder, complex_entries)


def python_functions(schedule, kinds: tuple, eps: float):
    """``(factorise, substitute)`` in plain Python, computing what the intrinsics' code computes.

    The signatures are the intrinsics' (:func:`factorise_intrinsic`), for
    blocks of ``kinds``. For the CUDA simulator, and as the tests'
    reference. The arrays and scalars must be of the working precision
    (numpy scalars), as on the device.
    """
    def factorise(values, alpha, shifts, factors):
        dtype = factors[0].dtype.type
        return _factorise_blocks(kinds, schedule, eps, None, values, dtype(alpha), [dtype(v) for v in shifts], factors)

    def substitute(factors, rhs, x):
        _substitute_blocks(kinds, schedule, None, factors, rhs, x)

    return factorise, substitute


def _handle(context, builder, aryty, value) -> tuple:
    """``(data pointer, byte stride or None)`` of a 1-D array: None for a contiguous one."""
    ary = context.make_array(aryty)(context, builder, value)
    return ary.data, None if aryty.layout in "CF" else builder.extract_value(ary.strides, 0)


def _handles(context, builder, tuple_type, value) -> list:
    """:func:`_handle` of each array of a tuple."""
    return [_handle(context, builder, aryty, item)
            for aryty, item in zip(tuple_type, cgutils.unpack_tuple(builder, value, len(tuple_type)))]


def _call_out_of_line(context, builder, name: str, handles, scalars, return_type, emit):
    """Call ``emit(builder, handles, scalars)`` as function ``name``, optimised once in a module of its own.

    The optimised function is ``noinline`` (one copy however many places
    call it) and, where the target allows it, already machine code, else
    ``optnone`` (not optimised again in every module it is linked into; see
    the module docstring). It joins the calling
    function's code library once per module; the libraries that define it
    link together, so ``name`` must say everything its body depends on.
    """
    strides = [stride for _, stride in handles if stride is not None]
    arguments = [data for data, _ in handles] + strides + list(scalars)
    function_type = ir.FunctionType(return_type, [a.type for a in arguments])
    function = builder.module.globals.get(name)
    if function is None:
        strided = tuple(stride is not None for _, stride in handles)
        text = _optimised_function(name, function_type, strided, len(scalars), emit)
        context.active_code_library.add_llvm_module(llvm.parse_assembly(text))
        function = ir.Function(builder.module, function_type, name)
    return builder.call(function, arguments)


@functools.cache
def _target_machine(level: int = 3):
    """numba's JIT target machine (CPU, features, relocation and code models) at optimisation ``level``."""
    options = dict(opt=level)
    cpu_target.target_context.codegen()._customize_tm_options(options)
    return llvm.Target.from_default_triple().create_target_machine(**options)


#: Whether machine code can travel as module-level assembly: ELF's, whose local labels start with ``.L``.
MACHINE_CODE_AS_ASSEMBLY = "linux" in llvm.get_process_triple()

_OPTIMISED: dict[str, str] = {}


def _module_with(name: str, function_type):
    """An empty module for numba's target, named ``name``, and its function ``name`` (a declaration until given a body)."""
    machine = _target_machine()
    module = ir.Module(name)
    module.triple, module.data_layout = machine.triple, str(machine.target_data)
    return module, ir.Function(module, function_type, name)


def _optimised_function(name: str, function_type, strided: tuple, n_scalars: int, emit) -> str:
    """LLVM IR of a module with function ``name``, optimised at O3 (see :func:`_call_out_of_line`).

    On an ELF target the function is declared, its machine code beside it
    (:func:`_machine_code_module`); elsewhere it is defined ``optnone``.
    """
    if name in _OPTIMISED:
        return _OPTIMISED[name]
    module, function = _module_with(name, function_type)
    function.attributes.add("noinline")
    inner = ir.IRBuilder(function.append_basic_block())
    parameters = iter(function.args)
    data = [next(parameters) for _ in strided]
    handles = [(pointer, next(parameters) if has_stride else None) for pointer, has_stride in zip(data, strided)]
    result = emit(inner, handles, [next(parameters) for _ in range(n_scalars)])
    if result is None:
        inner.ret_void()
    else:
        inner.ret(result)
    optimised = llvm.parse_assembly(str(module))
    # External, so the optimiser keeps it though nothing here calls it, and
    # so linking keeps it: a linkonce_odr function joins a module only once
    # something there calls it, and the caller's own code is linked later.
    # numba makes it linkonce_odr where the caller's library is linked on.
    passes = llvm.create_pass_builder(_target_machine(), llvm.create_pipeline_tuning_options(speed_level=3))
    passes.getModulePassManager().run(optimised, passes)
    if MACHINE_CODE_AS_ASSEMBLY:
        _OPTIMISED[name] = _machine_code_module(name, optimised, function_type)
    else:
        optimised.get_function(name).add_function_attribute("optnone")
        _OPTIMISED[name] = str(optimised)
    return _OPTIMISED[name]


def _machine_code_module(name: str, optimised, function_type) -> str:
    """LLVM IR of a module declaring function ``name`` of ``optimised``, its machine code as module-level assembly.

    The code is generated at level 1: for this straight-line function level
    3 gives the same code (26,424 bytes for the 40-state Brusselator's real
    factorisation) in twice the time (0.31 against 0.14 s). The assembly is
    ELF's (local labels ``.L...``), renamed after ``name`` so that they
    cannot meet the kernel's own; the function is defined weak, since each
    kernel's object code holds a copy, and only where the module does not
    define it yet (``.ifndef``), since a library can reach a kernel along
    two paths and linking appends module assembly as often as it meets it.
    """
    llvm.initialize_native_asmparser()  # for the kernel's code generation, which reads the assembly back
    assembly = _target_machine(1).emit_assembly(optimised)
    lines = [f".ifndef {name}"]
    for line in assembly.splitlines():
        if line.strip().startswith((".file", ".ident")) or "GNU-stack" in line:
            continue
        line = re.sub(r"\.L(\w+)", rf".L{name}_\1", line)
        lines.append(re.sub(rf"^\s*\.globl\s+{name}$", f"\t.weak\t{name}", line))
    lines += [".endif", ".text"]
    module, _ = _module_with(name, function_type)
    # LLVM string escapes: a backslash and a quote as two hex digits.
    escaped = (line.replace("\\", "\\5C").replace('"', "\\22") for line in lines)
    return str(module) + "".join(f'\nmodule asm "{line}"' for line in escaped) + "\n"


def _code_name(kind: str, schedule, kinds: tuple, signature) -> str:
    """A symbol naming everything the emitted code depends on: the schedule, the blocks' entries and the
    argument types."""
    arrays = (schedule.order, schedule.row_start, schedule.columns, schedule.scatter, schedule.targets)
    key = repr((tuple(array.tobytes() for array in arrays), kinds, str(signature)))
    return f"batchode_sparse_{kind}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def factorise_intrinsic(schedule, kinds: tuple, eps: float, out_of_line: bool):
    """Intrinsic ``status = factorise(values, alpha, shifts, factors)`` of blocks on ``schedule``.

    One block per entry of ``kinds`` (True: complex entries), each in its
    array of the tuple ``factors``: ``P M_k P^T`` with ``M_k = (shifts[2k]
    + i shifts[2k + 1]) I - alpha J`` formed from the Jacobian's non-zeros
    ``values`` and eliminated as :class:`~batchode.solvers.linear.sparse_lu.SparseLU`
    describes (see :func:`_factorise`), the blocks in lockstep
    (:func:`_lockstep`); ``alpha`` and the shifts are first rounded to the
    factors' precision. ``out_of_line``: in a function of its own
    (:func:`_call_out_of_line`), else inline at the call.
    """
    def emit(builder, handles, scalars):
        alpha, *shifts = scalars
        return _factorise_blocks(kinds, schedule, eps, builder, handles[0], alpha, shifts, handles[1:])

    @intrinsic
    def factorise(typingctx, values, alpha, shifts, factors):
        signature = types.int64(values, alpha, shifts, factors)

        def codegen(context, builder, signature, args):
            element = signature.args[3][0].dtype
            handles = [_handle(context, builder, values, args[0])] + _handles(context, builder, factors, args[3])
            scalars = [context.cast(builder, args[1], alpha, element)]
            scalars += [context.cast(builder, value, kind, element)
                        for kind, value in zip(shifts, cgutils.unpack_tuple(builder, args[2], len(shifts)))]
            if out_of_line:
                name = _code_name("factorise", schedule, kinds, signature)
                return _call_out_of_line(context, builder, name, handles, scalars, ir.IntType(64), emit)
            return emit(builder, handles, scalars)

        return signature, codegen

    return factorise


def substitute_intrinsic(schedule, kinds: tuple, out_of_line: bool):
    """Intrinsic ``substitute(factors, rhs, x)``: ``x = M^-1 rhs`` block by block (see :func:`_substitute`).

    ``factors`` is the tuple of the blocks' factors (:func:`factorise_intrinsic`);
    block ``k``'s vector (``2n`` reals for complex entries) follows block
    ``k - 1``'s in ``rhs`` and ``x``. ``out_of_line`` as for
    :func:`factorise_intrinsic`.
    """
    def emit(builder, handles, scalars):
        _substitute_blocks(kinds, schedule, builder, handles[:-2], *handles[-2:])

    @intrinsic
    def substitute(typingctx, factors, rhs, x):
        signature = types.void(factors, rhs, x)

        def codegen(context, builder, signature, args):
            handles = _handles(context, builder, factors, args[0])
            handles += [_handle(context, builder, aryty, value) for aryty, value in zip((rhs, x), args[1:])]
            if out_of_line:
                name = _code_name("substitute", schedule, kinds, signature)
                _call_out_of_line(context, builder, name, handles, (), ir.VoidType(), emit)
            else:
                emit(builder, handles, ())
            return context.get_dummy_value()

        return signature, codegen

    return substitute
