"""What every backend shares: arena slicing written once, compiled per backend."""

from __future__ import annotations

from batchode.memory.buffer import SHARED_POOL


class Backend:
    """Base of the CPU and CUDA backends.

    Subclasses provide ``name``, ``device_function`` (the decorator that
    compiles a device function), ``local_allocator`` and
    ``make_batch_kernel``, and may override ``called_function``. Every
    allocator here takes its branch in Python, so the compiled function is
    one slice expression (ARCHITECTURE rule 5).
    """

    name = "base"
    is_simulator = False

    def device_function(self, func, inline=True):  # pragma: no cover - always overridden
        raise NotImplementedError

    def called_function(self, func):
        """Compile ``func`` to be called, not inlined (the CPU backend's override says why).

        Here, and so on CUDA, it is ``device_function(func, inline=False)``:
        whether a call beats NVVM's inlining on a GPU (registers, local
        memory across the call) is unmeasured.
        """
        return self.device_function(func, inline=False)

    def slice_allocator(self, pool: str, start: int, stop: int):
        """Allocator ``(shared, persistent) -> parent[start:stop]``."""
        if pool == SHARED_POOL:

            def allocate(shared, persistent):
                return shared[start:stop]

        else:

            def allocate(shared, persistent):
                return persistent[start:stop]

        return self.device_function(allocate)

    def passthrough_allocator(self):
        """Allocator of a disabled or empty buffer: hands back the parent untouched.

        Rule 6: no zero-length slice or array is ever created; the owner's
        code must not touch a disabled buffer, so any array of the right type
        will do.
        """

        def allocate(shared, persistent):
            return shared

        return self.device_function(allocate)

    def child_view(self, shared_region: slice | None, persistent_region: slice | None):
        """Device function ``(shared, persistent) -> (child_shared, child_persistent)``.

        A region of ``None`` means the child takes nothing from that pool, so
        the parent's array is passed through rather than sliced to length 0.
        """
        if shared_region is not None and persistent_region is not None:
            s0, s1 = shared_region.start, shared_region.stop
            p0, p1 = persistent_region.start, persistent_region.stop

            def view(shared, persistent):
                return shared[s0:s1], persistent[p0:p1]

        elif shared_region is not None:
            s0, s1 = shared_region.start, shared_region.stop

            def view(shared, persistent):
                return shared[s0:s1], persistent

        elif persistent_region is not None:
            p0, p1 = persistent_region.start, persistent_region.stop

            def view(shared, persistent):
                return shared, persistent[p0:p1]

        else:

            def view(shared, persistent):
                return shared, persistent

        return self.device_function(view)

    def settings_view(self, region: tuple[int, int] | None):
        """Device function ``settings -> settings[start:stop]`` (a child's run-time values).

        ``None`` hands the parent's array through untouched: a child with no
        run-time values never reads it, and no zero-length slice is made.
        """
        if region is None:

            def view(settings):
                return settings

        else:
            start, stop = region

            def view(settings):
                return settings[start:stop]

        return self.device_function(view)

    #: Chunks a solve keeps in flight at once (each holds its own memory).
    chunks_in_flight = 1

    def run_chunks(self, launch, jobs, outputs):
        """Run chunk jobs with ``launch``; yield ``(tag, outputs)`` per job, in order.

        1. ``jobs`` yields ``(tag, n, args)``: kernel arguments for ``n``
           runs, the output arrays among them at the indices ``outputs``.
        2. Each result is ``(tag, arrays)``, the arrays holding the outputs
           of that job, in the order of ``outputs``.
        3. Here the jobs run one after another and the arrays are the
           job's own output arguments; backends that overlap chunks
           (CUDA) override this.
        """
        for tag, n, args in jobs:
            launch(n, args)
            yield tag, tuple(args[index] for index in outputs)

    def __repr__(self) -> str:
        return f"<batchode backend {self.name!r}>"
