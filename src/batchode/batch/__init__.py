"""Batches: kernels, input grids, launches and results."""

from batchode.batch.kernel import BatchKernel

__all__ = ["BatchKernel"]
