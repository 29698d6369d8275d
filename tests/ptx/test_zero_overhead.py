"""Allocation through the registry costs nothing: same ptxas resources as hand-written code."""

import numba
import numpy as np
import pytest
from numba import cuda

from batchode.backends.ptx import compile_kernel_ptx, parse_ptxas_output, ptxas_report
from batchode.batch.kernel import kernel_argument_types
from batchode.tools.nested_example import example_arguments, nested_example

WIDTH, STEPS = 4, 3
SCALE, ONE, ZERO = np.float32(2.0), np.float32(1.0), np.float32(0.0)


def hand_written(shared_workspace: bool):
    """The example's arithmetic with direct local arrays and slices, no registry."""
    per_thread = 3 * WIDTH if shared_workspace else 0
    f32 = numba.from_dtype(np.float32)  # a closure value, as the backend passes it
    persistent_size = 3 * WIDTH  # array shapes must be compile-time constants

    def level(x, workspace, temporary, history, first):
        for j in range(WIDTH):
            if first:
                history[j] = ZERO
            temporary[j] = x[j] * SCALE
            workspace[j] = temporary[j] + ONE
            history[j] = history[j] + workspace[j]

    def kernel(n, args):
        i = cuda.grid(1)
        if i >= n:
            return
        persistent = cuda.local.array(persistent_size, f32)
        for k in range(persistent_size):
            persistent[k] = 0
        if per_thread:
            block = cuda.shared.array(0, f32)
            start = cuda.threadIdx.x * per_thread
            shared = block[start:start + per_thread]
            w0, w1, w2 = shared[0:4], shared[4:8], shared[8:12]
        else:
            w0 = cuda.local.array(WIDTH, f32)
            w1 = cuda.local.array(WIDTH, f32)
            w2 = cuda.local.array(WIDTH, f32)
        x, out = args[0], args[1]
        for step in range(STEPS):
            first = step == 0
            xi, oi = x[i], out[i]
            t0 = cuda.local.array(WIDTH, f32)
            t1 = cuda.local.array(WIDTH, f32)
            t2 = cuda.local.array(WIDTH, f32)
            h0, h1, h2 = persistent[0:4], persistent[4:8], persistent[8:12]
            level(xi, w0, t0, h0, first)
            level(w0, w1, t1, h1, first)
            level(w1, w2, t2, h2, first)
            for j in range(WIDTH):
                oi[j] = h2[j] * w2[j] - t2[j]
            for j in range(WIDTH):
                oi[j] = oi[j] + h1[j] - t1[j]
            for j in range(WIDTH):
                oi[j] = oi[j] + h0[j] - t0[j]

    level = cuda.jit(device=True, inline="always")(level)
    return kernel


@pytest.fixture(scope="module")
def args():
    return example_arguments(precision=np.float32)


@pytest.mark.parametrize("shared_workspace", [True, False])
def test_registry_kernel_matches_hand_written_resources(ptx_toolchain, args, shared_workspace):
    kernel = nested_example(backend="cuda", precision=np.float32)
    if not shared_workspace:
        kernel.update(**{f"body_{p}workspace_location": "local" for p in ["outer_", "outer_inner_", "outer_inner_inner_"]})
    ours = kernel.ptxas_report(args)
    theirs = ptxas_report(compile_kernel_ptx(hand_written(shared_workspace), kernel_argument_types(args)))
    print(f"registry: {ours}\nhand-written: {theirs}")
    assert (ours.registers, ours.stack_frame_bytes, ours.spills) == (
        theirs.registers, theirs.stack_frame_bytes, theirs.spills)


def test_all_local_small_buffers_use_no_stack(ptx_toolchain, args):
    kernel = nested_example(backend="cuda", precision=np.float32)
    for prefix in ["outer_", "outer_inner_", "outer_inner_inner_"]:
        for buffer in ["workspace", "temporary"]:
            kernel.update(**{f"body_{prefix}{buffer}_location": "local"})
    report = kernel.ptxas_report(args)
    assert report.stack_frame_bytes == 0 and report.spills == 0, report


def test_ptxas_output_parser():
    text = """ptxas info    : Compiling entry function '_Z1k' for 'sm_90'
ptxas info    : Function properties for _Z1k
    16 bytes stack frame, 4 bytes spill stores, 8 bytes spill loads
ptxas info    : Used 40 registers, used 0 barriers"""
    (report,) = parse_ptxas_output(text)
    assert (report.registers, report.stack_frame_bytes, report.spills) == (40, 16, 12)
