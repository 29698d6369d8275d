"""A three-level nested factory used to demonstrate and test the registry.

Each level (``outer`` -> ``inner`` -> ``inner``) owns one SHARED, one LOCAL
and one LOCAL_PERSISTENT buffer of ``width`` elements and does a little
arithmetic in them; the persistent buffer accumulates across calls, so a
buffer that lost its contents between steps changes the result. Run
``python -m batchode.tools.memory_report batchode.tools.nested_example:report_target``
to see its registry tree and ptxas resources.
"""

from __future__ import annotations

import attrs
import numpy as np

from batchode.batch.kernel import BatchKernel
from batchode.factory import CUDAFactory


@attrs.frozen
class ArithmeticSettings:
    """Settings of one level: buffer width and a scale factor."""

    width: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    scale: float = 2.0


class ArithmeticNode(CUDAFactory):
    """One level: ``node(x, out, first, shared, persistent)`` writes ``width`` values of ``out``.

    ``history`` accumulates across calls and is reset when ``first`` is
    true, so results do not depend on whether its memory starts zeroed.
    """

    Settings = ArithmeticSettings

    def __init__(self, inner: "ArithmeticNode | None" = None, **kwargs):
        super().__init__(**kwargs)
        width = lambda: self.settings.width  # noqa: E731 - evaluated at layout time
        self.register_buffer("workspace", "shared", width)
        self.register_buffer("temporary", "local", width)
        self.register_buffer("history", "local_persistent", width)
        if inner is not None:
            self.add_child("inner", inner)

    def build(self):
        buffers = self.buffer_registry.buffers
        alloc_workspace = buffers["workspace"].allocate()
        alloc_temporary = buffers["temporary"].allocate()
        alloc_history = buffers["history"].allocate()
        width = self.settings.width
        scale = self.precision.type(self.settings.scale)
        one = self.precision.type(1.0)
        zero = self.precision.type(0.0)

        if "inner" not in self.children:

            def node(x, out, first, shared, persistent):
                workspace = alloc_workspace(shared, persistent)
                temporary = alloc_temporary(shared, persistent)
                history = alloc_history(shared, persistent)
                for j in range(width):
                    if first:
                        history[j] = zero
                    temporary[j] = x[j] * scale
                    workspace[j] = temporary[j] + one
                    history[j] = history[j] + workspace[j]
                for j in range(width):
                    out[j] = history[j] * workspace[j] - temporary[j]

            return self.backend.device_function(node)

        inner = self.child("inner").device_function
        inner_view = self.buffer_registry.child_view("inner")

        def node(x, out, first, shared, persistent):
            workspace = alloc_workspace(shared, persistent)
            temporary = alloc_temporary(shared, persistent)
            history = alloc_history(shared, persistent)
            for j in range(width):
                if first:
                    history[j] = zero
                temporary[j] = x[j] * scale
                workspace[j] = temporary[j] + one
                history[j] = history[j] + workspace[j]
            inner_shared, inner_persistent = inner_view(shared, persistent)
            inner(workspace, out, first, inner_shared, inner_persistent)
            for j in range(width):
                out[j] = out[j] + history[j] - temporary[j]

        return self.backend.device_function(node)


@attrs.frozen
class RepeatSettings:
    """How many times each trajectory calls the nested node."""

    steps: int = attrs.field(default=3, validator=attrs.validators.ge(1))


class RepeatBody(CUDAFactory):
    """Kernel body: ``steps`` calls of the root node on row ``i`` of ``(x, out)``."""

    Settings = RepeatSettings

    def __init__(self, root: CUDAFactory, **kwargs):
        super().__init__(precision=root.precision, backend=root.backend.name, **kwargs)
        self.add_child("outer", root)

    def build(self):
        steps = self.settings.steps
        root = self.child("outer").device_function
        view = self.buffer_registry.child_view("outer")

        def body(i, shared, persistent, args):
            x = args[0]
            out = args[1]
            root_shared, root_persistent = view(shared, persistent)
            for step in range(steps):
                root(x[i], out[i], step == 0, root_shared, root_persistent)

        return self.backend.device_function(body)


def nested_example(backend="cpu", precision=np.float64, width=4, steps=3) -> BatchKernel:
    """Build the three-level example as a batch kernel factory."""
    options = dict(backend=backend, precision=precision, width=width)
    grandchild = ArithmeticNode(**options)
    child = ArithmeticNode(inner=grandchild, **options)
    parent = ArithmeticNode(inner=child, **options)
    return BatchKernel(RepeatBody(parent, steps=steps))


def example_arguments(n: int = 8, width: int = 4, precision=np.float64) -> tuple:
    """Inputs and outputs for the example kernel: ``(x, out)`` of shape (n, width)."""
    x = (np.arange(n * width, dtype=precision).reshape(n, width) / precision(n * width))
    return x, np.zeros((n, width), dtype=precision)


def report_target():
    """The example as ``(kernel factory, example arguments)`` for the report tool."""
    return nested_example(backend="cuda", precision=np.float32), example_arguments(precision=np.float32)
