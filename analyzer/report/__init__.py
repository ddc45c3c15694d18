"""Report: the pure-data result of an analysis (model), and its builder (from a Summary)."""

from .build import build_report
from .model import Report

__all__ = ["Report", "build_report"]
