"""Report: the pure-data result of an analysis, and the builder that makes it from a Summary."""

from .build import Report, build_report

__all__ = ["Report", "build_report"]
