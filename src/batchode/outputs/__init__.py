"""Outputs computed inside the loop: summary metrics over save-time samples."""

from batchode.outputs.metrics import METRICS, SummaryMetric
from batchode.outputs.summaries import SummaryOutputs, parse_metric

__all__ = ["METRICS", "SummaryMetric", "SummaryOutputs", "parse_metric"]
