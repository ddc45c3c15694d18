"""What every plot shares: the classes, the palette, safe labels and reading the input.

Every plot takes a :class:`~analyzer.report.build.Report` (or its ``to_dict()``) or a canonical
frame from :func:`analyzer.read_log`; the helpers here tell the two apart and check arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..render.common import CLASS_TITLES
from ..vocabulary import CLASS_BY_STATUS

__all__ = [
    "CLASS_STATUS",
    "CLASS_TITLES",
    "NO_VALUE",
    "OKABE_ITO",
    "OTHER_COLOR",
    "check_classes",
    "class_key",
    "empty",
    "is_frame",
    "new_axes",
    "report_dict",
    "request_class",
    "require",
    "safe_label",
    "text_column",
]

#: The three classes and the status that defines each (DESIGN.md section 4), in report order.
CLASS_STATUS: dict[str, int] = {cls: status for status, cls in CLASS_BY_STATUS.items()}

#: Okabe & Ito's colour-blind-safe palette (black last: it is kept for marks).
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
)
#: What stands for "everything else" (the series beyond the top ones, unknown kinds).
OTHER_COLOR = "#999999"
#: A missing value in a label.
NO_VALUE = "-"

_MAX_LABEL = 48
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def safe_label(value: object, *, max_chars: int = _MAX_LABEL) -> str:
    """A log value made safe to use as a matplotlib label.

    Control and invisible formatting characters are removed, ``$`` is escaped so the text is
    never parsed as mathtext, and long values are cut to ``max_chars`` with an ellipsis.
    """
    text = NO_VALUE if value is None or value is pd.NA else str(value)
    text = _CONTROL.sub("", text)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text.replace("$", r"\$")


def is_frame(data: object) -> bool:
    return isinstance(data, pd.DataFrame)


def report_dict(data: object) -> dict[str, Any]:
    """A Report (or the mapping its ``to_dict()`` returns) as a dict."""
    if isinstance(data, Mapping):
        return dict(data)
    to_dict = getattr(data, "to_dict", None)
    if to_dict is None:
        raise TypeError(
            f"data must be a Report or a frame from analyzer.read_log, not {type(data).__name__}"
        )
    result: dict[str, Any] = to_dict()
    return result


def check_classes(classes: Iterable[str] | str | None) -> list[str]:
    """The classes asked for, in the order given (all three when None)."""
    if classes is None:
        return list(CLASS_STATUS)
    chosen = [classes] if isinstance(classes, str) else list(classes)
    unknown = [c for c in chosen if c not in CLASS_STATUS]
    if unknown:
        raise ValueError(f"unknown class {unknown[0]!r}; choose from {', '.join(CLASS_STATUS)}")
    return chosen


def class_key(cls: str) -> str:
    """What a class is counted by: the protocol for 505, else the method."""
    return "protocol" if cls == "version_not_supported" else "method"


def require(frame: pd.DataFrame, *columns: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the frame has no {missing[0]!r} column (this log format does not record it)"
        )


def text_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as plain Python strings, ``-`` for missing values."""
    if column not in frame.columns:
        return pd.Series(NO_VALUE, index=frame.index, dtype=object)
    values = frame[column].astype(object)
    return values.where(values.notna(), NO_VALUE).map(str)


def request_class(frame: pd.DataFrame) -> pd.Series:
    """The class of each request, by its status; NaN for any other status."""
    require(frame, "status")
    return frame["status"].astype("int64").map(CLASS_BY_STATUS)


def new_axes(figsize: tuple[float, float]) -> Axes:
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def empty(ax: Axes, message: str) -> Axes:
    """An Axes that says there is nothing to draw."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
