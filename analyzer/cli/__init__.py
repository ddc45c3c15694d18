"""The logscan command."""

from .app import run

__all__ = ["run"]
