"""trend_plot: one panel per class, requests per time bucket stacked by method (protocol for 505).

Each panel shows the ``top`` busiest keys of its class, each in its own colour, and sums the rest
as a grey ``other`` whose legend entry says how many keys it holds. Few buckets are drawn as
stacked bars, many as a stacked area (a step per bucket). Spikes are marked above the stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, overload

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.container import Container
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import offset_copy

from ..verdicts.trends import SPIKE_K
from .common import (
    CLASS_STATUS,
    CLASS_TITLES,
    OKABE_ITO,
    OTHER_COLOR,
    check_classes,
    class_key,
    is_frame,
    report_dict,
    safe_label,
)
from .trend_data import Panel, Trend, spike_rule, trend_from_frame, trend_from_report

__all__ = ["MAX_TOP", "trend_plot"]

#: The most keys a panel draws in colour: one colour of the palette each (black is for marks).
MAX_TOP = len(OKABE_ITO) - 1
#: Up to this many buckets a panel is drawn as bars; beyond, as an area.
_MAX_BARS = 60
_TITLE = "Unsupported-request responses over time"


@overload
def trend_plot(
    data: pd.DataFrame | Any,
    *,
    classes: Iterable[str] | str | None = ...,
    bucket: str | None = ...,
    k: float = ...,
    top: int = ...,
    figure: None = ...,
) -> Figure: ...


@overload
def trend_plot(
    data: pd.DataFrame | Any,
    *,
    classes: Iterable[str] | str | None = ...,
    bucket: str | None = ...,
    k: float = ...,
    top: int = ...,
    figure: SubFigure,
) -> SubFigure: ...


@overload
def trend_plot(
    data: pd.DataFrame | Any,
    *,
    classes: Iterable[str] | str | None = ...,
    bucket: str | None = ...,
    k: float = ...,
    top: int = ...,
    figure: Figure,
) -> Figure: ...


def trend_plot(
    data: pd.DataFrame | Any,
    *,
    classes: Iterable[str] | str | None = None,
    bucket: str | None = None,
    k: float = SPIKE_K,
    top: int = 5,
    figure: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """Requests per time bucket: one panel per class, stacked by method (by protocol for 505).

    ``classes`` picks some of ``not_implemented``, ``method_not_allowed``,
    ``version_not_supported`` (all by default; a class without requests gets no panel).
    ``bucket`` is ``"minute"``, ``"hour"``, ``"day"`` or a fixed span such as ``"15min"``; when
    None it is chosen from the span as :mod:`analyzer.verdicts.trends` does (a Report brings its
    own). The ``top`` busiest keys of each class (at most 7) get a colour each, in the same order
    from a Report and from a frame; the rest are summed as ``other`` (a single key left over is
    drawn by name instead). Spikes are marked with a
    triangle: the Report's when it carries them, else the buckets above median +
    ``k``·max(1.4826·MAD, 1) of the class or of one of its keys.

    Draws on ``figure`` (a Figure or a SubFigure; a new Figure when None) and returns it: one
    Axes per panel, top to bottom, in ``figure.axes``.
    """
    if not 1 <= top <= MAX_TOP:
        raise ValueError(f"top must be between 1 and {MAX_TOP} (one colour each), not {top}")
    chosen = check_classes(classes)
    if is_frame(data):
        trend = trend_from_frame(data, chosen, bucket, k, top, MAX_TOP)
        rule = spike_rule(k)
    else:
        trend = trend_from_report(report_dict(data), chosen, top, MAX_TOP)
        rule = spike_rule()
    rows = max(len(trend.panels), 1)
    if figure is None:
        figure = Figure(figsize=(10, 1.3 + 2.1 * rows), layout="constrained")
    figure.suptitle(_TITLE)
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    if not trend.panels:
        ax = axes[0]
        ax.text(0.5, 0.5, "no 501, 405 or 505 responses in this log", ha="center",
                va="center", transform=ax.transAxes, color="#555555")
        ax.set_xticks([])
        ax.set_yticks([])
        return figure
    for ax, panel in zip(axes, trend.panels, strict=True):
        _draw_panel(ax, panel, trend, rule)
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    axes[-1].set_xlabel("time (UTC)")
    figure.supylabel(f"requests per {trend.unit}")
    return figure


def _label(key: str, total: int) -> str:
    return f"{safe_label(key, max_chars=28)} ({total:,})"


def _other_label(panel: Panel) -> str:
    noun = class_key(panel.cls) + ("s" if panel.other_keys > 1 else "")
    return f"other: {panel.other_keys} {noun} ({int(panel.other.sum()):,})"


def _draw_panel(ax: Axes, panel: Panel, trend: Trend, rule: str) -> None:
    layers = [
        (_label(key, int(values.sum())), values, OKABE_ITO[rank])
        for rank, (key, values) in enumerate(zip(panel.keys, panel.counts, strict=True))
    ]
    if panel.other_keys:
        layers.append((_other_label(panel), panel.other, OTHER_COLOR))
    x = trend.index.to_numpy()
    step = trend.step.to_timedelta64()
    handles: list[Artist | Container] = []
    if len(x) <= _MAX_BARS:
        bottom = np.zeros(len(x), dtype="int64")
        for label, values, color in layers:
            handles.append(ax.bar(x, values, width=step, bottom=bottom, align="edge",
                                  color=color, label=label, edgecolor="white", linewidth=0.5))
            bottom = bottom + values
    else:
        # one step per bucket: the area of bucket i spans [start_i, start_i + step)
        edges = np.append(x, x[-1] + step)
        stacked = [np.append(values, values[-1]) for _, values, _ in layers]
        handles += ax.stackplot(edges, *stacked, step="post", colors=[c for _, _, c in layers],
                                labels=[label for label, _, _ in layers], linewidth=0)
    # the legend reads like the stack: top layer first
    handles.reverse()
    totals = panel.totals
    top = max(int(totals.max()), 1)
    if panel.spikes:
        where = list(panel.spikes)
        marks = offset_copy(ax.transData, fig=ax.get_figure(root=True), y=7, units="points")
        handles += ax.plot(x[where] + step / 2, totals[where], linestyle="none", marker="v",
                           markersize=7, color=OKABE_ITO[-1], transform=marks, label=rule)
    ax.set_ylim(0, top * 1.18)
    ax.set_xlim(x[0], x[-1] + step)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.set_title(
        f"{CLASS_TITLES[panel.cls]}: {int(totals.sum()):,} requests",
        loc="left", fontsize="medium",
    )
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(
        handles=handles,
        title=f"{class_key(panel.cls)} ({CLASS_STATUS[panel.cls]})",
        loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small",
        title_fontsize="small", alignment="left",
    )  # fmt: skip
