"""Print a factory's registry tree and its kernel's ptxas resources.

Usage::

    python -m batchode.tools.memory_report MODULE:TARGET [--arch sm_90] [--no-ptx]

``TARGET`` names a factory, or a zero-argument callable returning a factory
or ``(kernel_factory, example_arguments)``. With example arguments and a
kernel factory built for the cuda backend, the kernel is compiled to PTX and
assembled with ``ptxas -v`` (no GPU needed). Example::

    python -m batchode.tools.memory_report batchode.tools.nested_example:report_target
"""

from __future__ import annotations

import argparse
import importlib
import sys

from batchode.factory import CUDAFactory


def load_target(spec: str):
    """Resolve ``module:attribute`` to ``(factory, example_arguments or None)``."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"expected MODULE:TARGET, got {spec!r}")
    target = getattr(importlib.import_module(module_name), attribute)
    if callable(target) and not isinstance(target, CUDAFactory):
        target = target()
    factory, args = target if isinstance(target, tuple) else (target, None)
    if not isinstance(factory, CUDAFactory):
        raise SystemExit(f"{spec} gave {factory!r}, not a CUDAFactory")
    return factory, args


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m batchode.tools.memory_report", description=__doc__.split("\n")[0])
    parser.add_argument("target", help="MODULE:TARGET naming a factory or a callable returning one")
    parser.add_argument("--arch", default="sm_90", help="ptxas target architecture (default sm_90)")
    parser.add_argument("--no-ptx", action="store_true", help="print the registry tree only")
    options = parser.parse_args(argv)
    factory, args = load_target(options.target)
    print(factory.describe_memory())
    if options.no_ptx:
        return 0
    if args is None or not hasattr(factory, "ptxas_report"):
        print("(no kernel with example arguments: ptxas report skipped)")
        return 0
    print(f"ptxas: {factory.ptxas_report(args, options.arch)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
