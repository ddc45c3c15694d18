"""status_heatmap: requests by method and status, on a log colour scale."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..vocabulary import is_registered
from .common import (
    CLASS_STATUS,
    NO_VALUE,
    empty,
    is_frame,
    new_axes,
    report_dict,
    require,
    safe_label,
    text_column,
)

__all__ = ["status_heatmap"]

_UNREGISTERED_COLOR = "#D55E00"
# ColorBrewer Blues without its near-white end, so that a cell of 1 stays visible
_HEAT_CMAP = ListedColormap(colormaps["Blues"](np.linspace(0.22, 1.0, 256)), name="logscan_blues")




def _heatmap_from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    require(frame, "status")
    methods = text_column(frame, "method")
    return pd.crosstab(methods, frame["status"].astype("int64"))


def _heatmap_from_report(report: dict[str, Any]) -> pd.DataFrame:
    """Method × status counts from a Report: its ``methods`` table when present, else what the
    verdicts and classes hold (only the methods that drew a 501/405)."""
    cells: dict[tuple[str, int], int] = {}
    methods = report.get("methods")
    if isinstance(methods, Mapping):
        rows: Iterable[Any] = [{"method": m, **v} for m, v in methods.items()]
    elif isinstance(methods, list):
        rows = methods
    else:
        rows = []
    for row in rows:
        counts = row.get("counts") or row.get("status_counts") or {}
        for status, n in counts.items():
            key = (str(row.get("method", NO_VALUE)), int(status))
            cells[key] = cells.get(key, 0) + int(n)
    if not cells:
        for verdict in report.get("verdicts") or []:
            for status, n in (verdict.get("counts") or {}).items():
                key = (str(verdict.get("method", NO_VALUE)), int(status))
                cells[key] = cells.get(key, 0) + int(n)
        for cls in ("not_implemented", "method_not_allowed"):
            for method, n in ((report.get("classes") or {}).get(cls, {}).get("by") or {}).items():
                cells.setdefault((str(method), CLASS_STATUS[cls]), int(n))
    if not cells:
        return pd.DataFrame()
    table = pd.Series(cells).unstack(fill_value=0)
    return table.reindex(sorted(table.columns), axis=1)


def _method_order(table: pd.DataFrame) -> list[str]:
    totals = table.sum(axis=1)

    def key(method: str) -> tuple[int, int, str]:
        group = 2 if method == NO_VALUE else (0 if is_registered(method) else 1)
        return group, -int(totals[method]), method

    return sorted(table.index, key=key)


def status_heatmap(
    data: pd.DataFrame | Any,
    *,
    statuses: Sequence[int] | None = None,
    max_methods: int = 30,
    annotate: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Requests by method (rows) and status (columns), on a log colour scale.

    Methods in the IANA HTTP Method Registry come first, by volume; unregistered methods follow,
    their labels in italic vermillion, then requests with no method (``-``). ``statuses`` limits
    the columns; ``max_methods`` the rows (the busiest of each group are kept). Cells show their
    counts when ``annotate`` (default: when the grid is small enough to read).
    """
    table = _heatmap_from_frame(data) if is_frame(data) else _heatmap_from_report(
        report_dict(data)
    )
    if statuses is not None and not table.empty:
        table = table.reindex(columns=[int(s) for s in statuses], fill_value=0)
        table = table[table.sum(axis=1) > 0]
    if ax is None:
        n_rows = min(len(table), max_methods) if not table.empty else 4
        n_cols = len(table.columns) if not table.empty else 4
        ax = new_axes((max(6.0, 1.2 + 0.62 * n_cols), max(3.0, 1.6 + 0.34 * n_rows)))
    ax.set_title("Responses by method and status")
    if table.empty or not table.to_numpy().any():
        return empty(ax, "no requests to show")

    order = _method_order(table)
    methods = len(order)
    if methods > max_methods:
        listed = [m for m in order if m != NO_VALUE and is_registered(m)]
        others = [m for m in order if m not in listed]
        keep_reg = listed[: max(max_methods - min(len(others), max_methods // 3), 0)]
        order = keep_reg + others[: max_methods - len(keep_reg)]
    table = table.loc[order]
    values = table.to_numpy()
    masked = np.ma.masked_equal(values, 0)
    image = ax.imshow(
        masked, aspect="auto", cmap=_HEAT_CMAP, interpolation="nearest",
        norm=LogNorm(vmin=1, vmax=max(int(values.max()), 2)),
    )  # fmt: skip
    ax.set_facecolor("#f7f7f7")
    colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02, shrink=0.6,
                                  aspect=25, anchor=(0.0, 1.0))
    colorbar.outline.set_visible(False)
    colorbar.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    colorbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    colorbar.ax.yaxis.set_minor_formatter(NullFormatter())
    colorbar.set_label("requests (log scale)")

    ax.set_xticks(range(len(table.columns)), [str(s) for s in table.columns])
    ax.set_yticks(
        range(len(order)),
        ["(no method)" if m == NO_VALUE else safe_label(m, max_chars=28) for m in order],
    )
    ax.tick_params(length=0)
    ax.set_xlabel("status")
    # a cut grid says so: the rows left out are the quietest of their group
    ax.set_ylabel("method" if len(order) == methods else f"method ({len(order)} of {methods})")
    for label, status in zip(ax.get_xticklabels(), table.columns, strict=True):
        if int(status) in CLASS_STATUS.values():
            label.set_fontweight("bold")
    for label, method in zip(ax.get_yticklabels(), order, strict=True):
        if method != NO_VALUE and not is_registered(method):
            label.set_fontstyle("italic")
            label.set_color(_UNREGISTERED_COLOR)
    registered = sum(1 for m in order if m != NO_VALUE and is_registered(m))
    if 0 < registered < len(order):
        ax.axhline(registered - 0.5, color="#333333", linewidth=1.2)
    for spine in ax.spines.values():
        spine.set_visible(False)

    if annotate is None:
        annotate = values.size <= 400
    if annotate:
        cmap, norm = image.get_cmap(), image.norm
        for (row, col), n in np.ndenumerate(values):
            if n:
                r, g, b, _ = cmap(norm(n))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                ax.text(col, row, f"{n:,}", ha="center", va="center", fontsize="x-small",
                        color="white" if dark else "black")
    if registered < len(order):
        # the key sits under the colour bar, so that it takes no width from the grid
        key = colorbar.ax.legend(
            handles=[
                Patch(facecolor="none", edgecolor="none", label="registered method (IANA)"),
                Patch(facecolor="none", edgecolor="none", label="unregistered method"),
            ],
            labelcolor=["#000000", _UNREGISTERED_COLOR], handlelength=0, handletextpad=0,
            loc="upper left", bbox_to_anchor=(-0.5, -0.06), frameon=False, fontsize="small",
        )  # fmt: skip
        key.get_texts()[1].set_fontstyle("italic")
    return ax
