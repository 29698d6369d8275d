"""Nested solvers of implicit methods: Newton and the linear solvers under it."""
