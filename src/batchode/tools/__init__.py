"""Developer tools built on the whole factory stack.

:mod:`batchode.tools.memory_report` prints a factory's registry tree and its
kernel's ptxas resources; :mod:`batchode.tools.nested_example` is a
three-level factory that demonstrates (and tests) nested registries;
:mod:`batchode.tools.compiled_in` builds kernels with their run-time values
compiled in, to measure what reading them at run time costs. They
live here rather than in :mod:`batchode.memory` because they use factories
and batch kernels, which are built on ``memory``: the bottom layer imports
nothing above it.
"""
