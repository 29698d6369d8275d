"""CPU device functions compiled for linking only: no machine code of their own.

numba finalises every function it compiles into machine code, though a
device function only ever runs inside the batch kernel it is linked into,
which compiles that code again. For stiff systems of 100 states the unused
machine code of the step, the loop and the linear solvers took a third of a
cold build (radau-iia-5 on a 1-D Brusselator: 3.4 s of LLVM code
generation in a 10 s build, 2.6 s of it for functions never called).

:class:`LinkOnlyCompiler` is a numba compiler pipeline that lowers a
function into a :class:`LinkOnlyLibrary`, finalised (each function
optimised on its own, ready to link) without being added to the JIT
engine, and registers a Python stand-in as its entry point. The stand-in
keeps the function callable from Python (tests do that): on its first call
it compiles an ordinary ``njit`` twin of the same Python function and runs
that.
"""

from __future__ import annotations

import numba
from numba.core.codegen import JITCodeLibrary
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import LoweringPass, register_pass
from numba.core.registry import CPUDispatcher
from numba.core.typed_passes import NativeLowering


class LinkOnlyLibrary(JITCodeLibrary):
    """A library only linked into others: finalising it runs no module passes and makes no machine code."""

    def _optimize_final_module(self):
        # Left to the kernel, which links this module in and optimises the
        # whole once. numba otherwise runs its module passes again in every
        # library a function is linked into (step, loop, kernel), on code
        # that ends up inlined into the kernel anyway. Each function was
        # already optimised on its own when its module was added (numba's
        # function passes). Measured: the same machine code speed (Lorenz,
        # 40-state Brusselator, rtol 1e-6), results bit for bit, and a
        # kvaerno5 build on the 100-state Brusselator 8.1 -> 7.4 s.
        pass

    def _finalize_final_module(self):
        # The parent also hands the module to the JIT engine, which turns it
        # into machine code; here only the checks it makes are kept.
        self._finalize_dynamic_globals()
        self._verify_declare_only_symbols()
        self._finalized = True


def python_stand_in(py_func, options: dict):
    """The entry point of a link-only function: runs an ``njit`` twin of ``py_func``, compiled on first use."""
    twin = []

    def stand_in(*args):
        if not twin:
            twin.append(numba.njit(**options)(py_func))
        return twin[0](*args)

    stand_in.__name__ = stand_in.__qualname__ = getattr(py_func, "__name__", "device_function")
    return stand_in


@register_pass(mutates_CFG=False, analysis_only=False)
class UseLinkOnlyLibrary(LoweringPass):
    """Before lowering: lower into a :class:`LinkOnlyLibrary` and skip fetching a function pointer."""

    _name = "batchode_use_link_only_library"

    def __init__(self):
        LoweringPass.__init__(self)

    def run_pass(self, state):
        state.library = LinkOnlyLibrary(state.targetctx.codegen(), state.func_id.func_qualname)
        state.flags.no_compile = True
        return True


@register_pass(mutates_CFG=False, analysis_only=False)
class RegisterStandIn(LoweringPass):
    """After lowering: the Python stand-in becomes the entry point, under which callers find the code."""

    _name = "batchode_register_stand_in"

    def __init__(self):
        LoweringPass.__init__(self)

    def run_pass(self, state):
        lowered = state.cr
        options = dict(error_model=state.flags.error_model, fastmath=state.flags.fastmath,
                       nogil=state.flags.release_gil)
        stand_in = python_stand_in(state.func_id.func, options)
        state.targetctx.insert_user_function(stand_in, lowered.fndesc, [state.library])
        state.cr = lowered._replace(cfunc=stand_in)
        return True


class LinkOnlyDispatcher(CPUDispatcher):
    """A dispatcher whose compiled versions have no native entry point for calls from Python.

    numba's C dispatcher takes only native entry points; without one, a
    call from Python goes through ``_compile_for_args``, which finds the
    compiled version and calls its Python stand-in.
    """

    def add_overload(self, cres):
        self.overloads[tuple(cres.signature.args)] = cres


def link_only_function(py_func, options: dict):
    """Compile ``py_func`` (numba ``njit`` ``options``) into code only ever linked into its callers."""
    return LinkOnlyDispatcher(py_func, targetoptions=dict(options), pipeline_class=LinkOnlyCompiler)


class LinkOnlyCompiler(CompilerBase):
    """numba's nopython pipeline with the two passes above around its lowering."""

    def define_pipelines(self):
        manager = DefaultPassBuilder.define_nopython_pipeline(self.state)
        passes = [entry[0] for entry in manager.passes]
        before_lowering = passes[passes.index(NativeLowering) - 1]
        manager.add_pass_after(UseLinkOnlyLibrary, before_lowering)
        manager.add_pass_after(RegisterStandIn, NativeLowering)
        manager.finalize()
        return [manager]
