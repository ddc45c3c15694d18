"""The command's own value types: each checks its value where the option is declared and
fails with a message that names the allowed forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..report.thresholds import Threshold
from ..timewindow import parse_duration, parse_when

PLOT_SUFFIXES = (".png", ".svg", ".pdf")

# The value types subclass click.ParamType bare: click 8.4 declares one type parameter and 8.5
# two, so no subscript fits both.

class FailOn(click.ParamType):  # type: ignore[type-arg]
    """A ``--fail-on`` expression: ``not_implemented>0``, ``method:PATCH>=1``, ..."""

    name = "condition"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Threshold):
            return value
        try:
            return Threshold.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class PlotPath(click.Path):
    """A file name for a figure: ``.png``, ``.svg`` or ``.pdf``."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        if Path(str(path)).suffix.lower() not in PLOT_SUFFIXES:
            self.fail(f"{str(value)!r}: the file name must end in .png, .svg or .pdf", param, ctx)
        return path


class When(click.ParamType):  # type: ignore[type-arg]
    """An ISO date/time or a duration before now (``24h``, ``7d``)."""

    name = "when"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return parse_when(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Duration(click.ParamType):  # type: ignore[type-arg]
    """``30m``, ``12h``, ``7d``, ``2w``, ``1d12h``."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class ReportCondition(FailOn):
    """A ``--fail-on`` of ``logscan report``: a threshold, or ``new_method`` / ``new_client``."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from ..scheduled.run import NOVELTY_CONDITIONS

        if value in NOVELTY_CONDITIONS:
            return value
        return super().convert(value, param, ctx)
