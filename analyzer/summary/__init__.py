"""Summary: the bounded, mergeable counts every report is computed from."""

from .summary import Summary

__all__ = ["Summary"]
