"""DifferentialEquations.jl's Lorenz ensemble (../shared/reference/lorenz_julia) for accuracy pins.

A plain module rather than part of a conftest: test files import it by name,
and several conftest.py files share that module name.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


class JuliaReference:
    """DifferentialEquations.jl's Lorenz ensemble (../shared/reference/lorenz_julia).

    ``pin`` picks the first dt or tolerance at which Julia's error against
    the golden states lies between ``LOWER`` (2e-4: 50x the float32
    round-off of about 4e-6, so the comparison measures truncation error)
    and ``UPPER`` (3%).
    """

    LOWER, UPPER = 2e-4, 3e-2
    FOLDER = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "lorenz_julia"

    def __init__(self):
        self.data = np.load(self.FOLDER / "lorenz_ensemble.npz")
        self.golden = self.data["golden_states"]
        self.rho = self.data["golden_rho"]
        with open(self.FOLDER / "methods.csv") as handle:
            self.methods = list(csv.DictReader(handle))

    def methods_of(self, *families):
        return [row["method"] for row in self.methods if row["family"] in families]

    def error(self, finals):
        """Largest error of the ensemble's final states, relative to the largest state."""
        return np.abs(finals - self.golden).max() / np.abs(self.golden).max()

    def pin(self, kind: str, method: str):
        """``(dt or tolerance, Julia's error)`` at the pin for ``kind`` "fixed" or "adaptive"."""
        settings = self.data[f"{kind}_{method}_{'dts' if kind == 'fixed' else 'tols'}"]
        errors = [self.error(f) for f in self.data[f"{kind}_{method}_finals"]]
        inside = [i for i, e in enumerate(errors) if self.LOWER < e < self.UPPER]
        assert inside, f"no {kind} pin for {method} with Julia's error in ({self.LOWER}, {self.UPPER}): {errors}"
        return float(settings[inside[0]]), errors[inside[0]]
