"""CPU backend: numba ``njit`` device functions and a batch kernel run by a pool of threads."""

from __future__ import annotations

import concurrent.futures
import functools

import numba
import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic

from batchode.backends.base import Backend
from batchode.backends.link_only import link_only_function
from batchode.cache import install_disk_cache

# error_model="numpy": a division by zero yields inf/nan instead of raising,
# as on the GPU; device code reports failures through status codes only.
JIT_OPTIONS = dict(error_model="numpy", fastmath=False, nogil=True)

#: Seconds between the checks for Ctrl-C while a kernel runs.
INTERRUPT_POLL_SECONDS = 0.05


def _stack_array(size: int, dtype):
    """An intrinsic returning a fresh 1-D array of ``size`` on the caller's stack.

    numba has no stack arrays, but an ``alloca`` in the calling function is
    exactly what CUDA's ``local.array`` is, and LLVM promotes it to registers
    when every index is constant after unrolling. The array has no meminfo
    (reference counting skips it); it must only be used inside the function
    that allocates it, which is what a LOCAL buffer promises.
    """
    element = numba.from_dtype(np.dtype(dtype))
    array_type = types.Array(element, 1, "C")

    @intrinsic
    def stack_array(typingctx):
        def codegen(context, builder, signature, args):
            array = context.make_array(array_type)(context, builder)
            llvm_element = context.get_data_type(element)
            itemsize = context.get_abi_sizeof(llvm_element)
            data = cgutils.alloca_once(builder, llvm_element, size=size)
            context.populate_array(
                array, data=data,
                shape=[context.get_constant(types.intp, size)],
                strides=[context.get_constant(types.intp, itemsize)],
                itemsize=context.get_constant(types.intp, itemsize),
                meminfo=None,
            )
            return array._getvalue()

        return array_type(), codegen

    return stack_array


def run_interruptibly(kernel, n: int, workers: int, args: tuple) -> None:
    """Run ``kernel(worker, workers, n, args, stop)`` for every worker at once; Ctrl-C stops it within one run.

    Each worker is one call of the compiled kernel on a thread of
    :func:`_worker_threads` (the kernel releases the GIL, so they run in
    parallel). numba code never checks for signals, so a chunk of runs
    would finish before Python saw the interrupt: the calling thread waits
    in short timed waits, between which Python delivers
    ``KeyboardInterrupt`` (on the main thread); the kernel's stop flag is
    then set, every worker stops before its next run, and the interrupt is
    raised again once all have returned, so no thread is left writing into
    the outputs.
    """
    stop = np.zeros(1, np.int32)
    # Waiting on futures, not on Thread.join, which CPython 3.11 leaves
    # marking a still running thread as stopped when Ctrl-C interrupts it.
    running = [_worker_threads().submit(kernel, worker, workers, n, args, stop) for worker in range(workers)]
    try:
        while concurrent.futures.wait(running, INTERRUPT_POLL_SECONDS).not_done:
            pass
    except KeyboardInterrupt:
        stop[0] = 1
        concurrent.futures.wait(running)
        raise
    for worker in running:
        worker.result()  # re-raises what a worker raised


def compile_on_fresh_stack(compile_function, signature) -> None:
    """``compile_function(signature)`` on a new thread, which waits for it, its errors raised here.

    CPython 3.11 keeps Python frames on a per-thread stack of 16 KiB chunks
    and unmaps a chunk as soon as the frames in it return, so a deep
    recursion (numba's typing and lowering) that goes back and forth over a
    chunk boundary maps and faults in fresh pages each time. Where that
    boundary falls depends on how deep the caller already is: a cold build
    called from a script's ``main()`` took 113,000 more page faults and
    0.7-1.5 s longer than the same build from the script's top level (tsit5
    3.22 against 2.48 s, kvaerno5 5.04 against 4.16). A new thread starts
    numba at the same depth whatever the caller (measured: 2.47 s from both).
    """
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="batchode-compile") as compiler:
        compiler.submit(compile_function, signature).result()


@functools.cache
def _worker_threads() -> concurrent.futures.ThreadPoolExecutor:
    """The long-lived threads CPU kernels run on, as many as numba may use (created on first use).

    A new thread per launch cost about 3 ms.
    """
    return concurrent.futures.ThreadPoolExecutor(max_workers=numba.config.NUMBA_NUM_THREADS,
                                                 thread_name_prefix="batchode-worker")


def _never_inlined_call(inner):
    """An intrinsic ``call(arguments)`` that calls dispatcher ``inner`` on the tuple ``arguments``, never inlined.

    The call instruction carries ``noinline``, so LLVM keeps one copy of
    ``inner``'s code in each module however many calls there are. Errors
    ``inner`` raises propagate as from any numba call.
    """

    @intrinsic
    def call(typingctx, arguments):
        argument_types = tuple(types.unliteral(argument) for argument in arguments.types)
        inner.compile(argument_types)
        compiled = inner.overloads[argument_types]

        def codegen(context, builder, signature, args):
            values = [builder.extract_value(args[0], i) for i in range(len(argument_types))]
            context.add_linking_libs([compiled.library])
            callee = context.declare_function(builder.module, compiled.fndesc)
            status, result = context.call_conv.call_function(
                builder, callee, compiled.signature.return_type, compiled.signature.args, values,
                attrs=("noinline",))
            with cgutils.if_unlikely(builder, status.is_error):
                context.call_conv.return_status_propagate(builder, status)
            return result

        return compiled.signature.return_type(arguments), codegen

    return call


@intrinsic
def _read_flag(typingctx, flags):
    """``flags[0]`` of an int32 array, read from memory every time (an atomic load).

    A plain read of an array the kernel never writes is hoisted out of its
    loops by LLVM, so a stop flag set by another thread would never be seen.
    """

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.load_atomic(data, "monotonic", 4)

    return types.int32(flags), codegen


class CPUBackend(Backend):
    """Maps buffer locations to CPU memory and compiles with numba.

    SHARED buffers slice a scratch arena created once per worker thread;
    LOCAL buffers are arrays on the stack of the function that allocates
    them (like CUDA local arrays, so LLVM can keep them in registers);
    LOCAL_PERSISTENT buffers slice a persistent arena zeroed for every
    trajectory.
    """

    name = "cpu"

    def device_function(self, func, inline=True):
        """Compile ``func`` as a device function (numba ``njit``, linked into callers only: :mod:`.link_only`).

        ``inline=True`` inlines it into its callers at numba-IR level, so the
        stack arrays of LOCAL buffers never escape a call and LLVM can keep
        them in registers (measured on Lorenz/Tsit5: 1.5x slower than a
        hand-written loop without it, 1.17x with it). ``inline=False`` is for
        large functions (a step), where repeated inlining costs compile time.
        """
        return link_only_function(func, dict(inline="always" if inline else "never", forceinline=not inline,
                                             **JIT_OPTIONS))

    def called_function(self, func):
        """Compile ``func`` to be called and never inlined: one copy of its code per module.

        numba links a function's optimised IR into every caller and LLVM
        optimises it again there. A large right-hand side force-inlined at
        each of a step's stages was thus optimised again in every copy at
        every level (a 100-state mean-field Kuramoto system with tsit5: 9
        copies in the kernel, 7 in the step). Kept out of line, that build
        took 4.2 s instead of 6.2 s (run time unchanged). ``func`` is
        compiled as its own function; what callers see is a force-inlined
        wrapper calling it with ``noinline`` on the call.
        """
        call = _never_inlined_call(link_only_function(func, dict(inline="never", **JIT_OPTIONS)))

        def calling(*arguments):
            return call(arguments)

        return self.device_function(calling, inline=False)

    def local_allocator(self, size: int, dtype):
        """Allocator declaring one stack array in the calling function.

        Inlined at numba-IR level (``inline="always"``), so the ``alloca``
        lands in the caller's frame, never in a frame that has returned.
        """
        stack_array = _stack_array(int(size), dtype)

        def allocate(shared, persistent):
            return stack_array()

        return numba.njit(inline="always", **JIT_OPTIONS)(allocate)

    def make_batch_kernel(self, body, shared_elements: int, persistent_elements: int, precision,
                          cache_key: str | None = None):
        """Compile a kernel running ``body(i, shared, persistent, args)`` for each trajectory.

        Returns ``launch(n, args)``; ``args`` is a tuple of numpy arrays (and
        scalars) handed to every call of ``body``. ``launch.compile(args)``
        compiles (or loads) the kernel for arguments like ``args`` without
        running it. With ``cache_key`` (the kernel factory's configuration
        hash) the compiled kernel is kept in batchode's disk cache
        (:mod:`batchode.cache`), so another process loads instead of
        compiling. The kernel is one worker's share: ``numba.get_num_threads()``
        workers run at once on Python threads (:func:`run_interruptibly`),
        not in a ``prange`` loop, whose parallel-loop passes added about 1.1 s
        to every cold build (Lorenz, Tsit5) for nothing a thread pool does
        not do. Worker ``w`` takes trajectories ``w, w + workers, ...``:
        sweeps put runs of similar cost next to each other, so contiguous
        blocks would leave threads idle. Each worker creates its scratch
        arena (``shared_elements``) and its persistent arena
        (``persistent_elements``) once; the persistent one is zeroed for
        every trajectory. Both have at least one element, so no zero-length
        array is made.
        """
        dtype = np.dtype(precision)
        scratch_size = max(int(shared_elements), 1)
        persistent_size = max(int(persistent_elements), 1)

        @numba.njit(**JIT_OPTIONS)
        def kernel(worker, workers, n, args, stop):
            shared = np.empty(scratch_size, dtype)
            persistent = np.empty(persistent_size, dtype)
            for i in range(worker, n, workers):
                if _read_flag(stop) != 0:  # interrupted: the runs not started keep their NOT_RUN status
                    break
                persistent[:] = 0
                body(i, shared, persistent, args)

        if cache_key is not None:
            install_disk_cache(kernel, cache_key, "batch_kernel")

        def compile_for(args):
            signature = (types.int64, types.int64, types.int64, numba.typeof(tuple(args)), types.int32[::1])
            if signature not in kernel.overloads:  # every launch asks: no thread once it is compiled
                compile_on_fresh_stack(kernel.compile, signature)

        def launch(n, args):
            args = tuple(args)
            compile_for(args)  # once, here, rather than in each worker thread at its first call
            workers = max(1, min(int(n), numba.get_num_threads()))
            run_interruptibly(kernel, int(n), workers, args)

        launch.kernel = kernel
        launch.compile = compile_for
        return launch
