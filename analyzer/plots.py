"""Plots of the three classes (501, 405, 505), in seaborn's manner.

Every function takes ``data`` first (a :class:`~analyzer.report.Report`, or a canonical frame from
:func:`analyzer.read_log`), everything else by keyword, draws on ``ax`` (a new
:class:`~matplotlib.figure.Figure` when ``ax`` is None) and returns the Axes. Nothing here touches
pyplot's global state, shows a window or saves a file: the caller saves
(``ax.figure.savefig("trend.png")``).

Every label that comes from a log (methods, protocols, addresses, user-agent families) passes
through :func:`safe_label`: control characters are removed and ``$`` is escaped, so a user agent
can neither break a line nor switch matplotlib into mathtext.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .verdicts.clients import CLIENT_KINDS, classify_user_agents
from .verdicts.trends import BUCKETS, SPIKE_K, choose_bucket, find_spikes
from .vocabulary import is_registered

__all__ = [
    "CLASS_STATUS",
    "OKABE_ITO",
    "PLOT_FILES",
    "safe_label",
    "save_plots",
    "status_heatmap",
    "top_clients_plot",
    "trend_plot",
]

#: The three classes and the status that defines each (DESIGN.md section 4), in report order.
CLASS_STATUS: dict[str, int] = {
    "not_implemented": 501,
    "method_not_allowed": 405,
    "version_not_supported": 505,
}
_CLASS_TITLE = {
    "not_implemented": "501 Not Implemented",
    "method_not_allowed": "405 Method Not Allowed",
    "version_not_supported": "505 HTTP Version Not Supported",
}
_CLASS_LINESTYLE = {
    "not_implemented": "-",
    "method_not_allowed": "--",
    "version_not_supported": ":",
}

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
_KIND_COLOR = dict(zip(CLIENT_KINDS, (*OKABE_ITO[:6], "#999999"), strict=True))
_UNREGISTERED_COLOR = "#D55E00"
_OTHER_COLOR = "#999999"
_NO_VALUE = "-"
_OTHER = "other"

#: The files ``save_plots`` writes, by plot.
PLOT_FILES: dict[str, str] = {
    "trend": "trend.png",
    "status_heatmap": "status_heatmap.png",
    "top_clients": "top_clients.png",
}

# ColorBrewer Blues without its near-white end, so that a cell of 1 stays visible
_HEAT_CMAP = ListedColormap(colormaps["Blues"](np.linspace(0.22, 1.0, 256)), name="logscan_blues")
_MAX_LABEL = 48
_FREQ = {"minute": "1min", "hour": "1h", "day": "1D"}

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def safe_label(value: object, *, max_chars: int = _MAX_LABEL) -> str:
    """A log value made safe to use as a matplotlib label.

    Control and invisible formatting characters are removed, ``$`` is escaped so the text is
    never parsed as mathtext, and long values are cut to ``max_chars`` with an ellipsis.
    """
    text = _NO_VALUE if value is None or value is pd.NA else str(value)
    text = _CONTROL.sub("", text)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text.replace("$", r"\$")


# ---------------------------------------------------------------------------------------------
# Inputs: a Report or a frame, reduced to the small tables that are drawn


def _is_frame(data: object) -> bool:
    return isinstance(data, pd.DataFrame)


def _report_dict(data: object) -> dict[str, Any]:
    if isinstance(data, Mapping):
        return dict(data)
    to_dict = getattr(data, "to_dict", None)
    if to_dict is None:
        raise TypeError(
            f"data must be a Report or a frame from analyzer.read_log, not {type(data).__name__}"
        )
    result: dict[str, Any] = to_dict()
    return result


def _check_classes(classes: Iterable[str] | str | None) -> list[str]:
    if classes is None:
        return list(CLASS_STATUS)
    chosen = [classes] if isinstance(classes, str) else list(classes)
    unknown = [c for c in chosen if c not in CLASS_STATUS]
    if unknown:
        raise ValueError(
            f"unknown class {unknown[0]!r}; choose from {', '.join(CLASS_STATUS)}"
        )
    return chosen


def _require(frame: pd.DataFrame, *columns: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the frame has no {missing[0]!r} column (this log format does not record it)"
        )


def _text_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as plain Python strings, ``-`` for missing values."""
    if column not in frame.columns:
        return pd.Series(_NO_VALUE, index=frame.index, dtype=object)
    values = frame[column].astype(object)
    return values.where(values.notna(), _NO_VALUE).map(str)


def _request_class(frame: pd.DataFrame) -> pd.Series:
    """The class of each request, by its status; None for any other status."""
    _require(frame, "status")
    by_status = {status: cls for cls, status in CLASS_STATUS.items()}
    return frame["status"].astype("int64").map(by_status)


def _class_key(cls: str) -> str:
    return "protocol" if cls == "version_not_supported" else "method"


@dataclass(frozen=True)
class _Trend:
    """Requests per time bucket: one column per series, named ``(class, key)``."""

    counts: pd.DataFrame
    unit: str
    spikes: dict[tuple[str, str], list[pd.Timestamp]]
    rule: str


def _unit(bucket: str) -> str:
    """``"30min"`` as ``"30 minutes"``, ``"1h"`` as ``"hour"``: the y label's unit."""
    step = pd.Timedelta(bucket)
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, rest = divmod(int(step.total_seconds()), size)
        if count and not rest:
            return name if count == 1 else f"{count} {name}s"
    return str(step)


def _pick_bucket(start: pd.Timestamp, end: pd.Timestamp, bucket: str | None) -> tuple[str, str]:
    """(pandas frequency, unit for the y label): as analyzer.verdicts.trends chooses from the span
    (minute up to 6 hours, hour up to 14 days, else day), or the ``bucket`` asked for."""
    bucket = bucket or choose_bucket(start, end)
    if bucket in BUCKETS:
        return _FREQ[bucket], bucket
    try:
        return bucket, _unit(bucket)
    except ValueError:
        raise ValueError(
            f"bucket {bucket!r} is not a fixed time span (try 'minute', 'hour', 'day', '5min' "
            "or '6h')"
        ) from None


def _series_order(column: tuple[str, str], classes: list[str], total: int) -> tuple:
    """Class order, then busiest first, with ``other`` last in its class."""
    cls, key = column
    return classes.index(cls), key == _OTHER, -int(total), key


def _trend_from_frame(
    frame: pd.DataFrame, classes: list[str], bucket: str | None, k: float, top: int
) -> _Trend:
    _require(frame, "time", "status")
    cls = _request_class(frame)
    keep = cls.isin(classes) & frame["time"].notna()
    rows = frame.loc[keep]
    if rows.empty:
        return _Trend(pd.DataFrame(), "hour", {}, "")
    # the x axis spans the whole log, so a class that starts late shows where it starts
    first, last = frame["time"].min(), frame["time"].max()
    unit_freq, unit = _pick_bucket(first, last, bucket)
    keys = pd.Series(
        np.where(
            cls[keep] == "version_not_supported",
            _text_column(rows, "protocol"),
            _text_column(rows, "method"),
        ),
        index=rows.index,
    )
    # Keep the `top` most frequent keys of each class; the rest become "other".
    labelled = pd.DataFrame({"cls": cls[keep], "key": keys, "time": rows["time"]})
    ranks = labelled.groupby(["cls", "key"]).size().rename("n").reset_index()
    ranks = ranks.sort_values(["cls", "n", "key"], ascending=[True, False, True])
    ranks["rank"] = ranks.groupby("cls").cumcount()
    kept = set(map(tuple, ranks.loc[ranks["rank"] < top, ["cls", "key"]].to_numpy()))
    is_kept = [(c, key) in kept for c, key in zip(labelled["cls"], labelled["key"], strict=True)]
    labelled["key"] = labelled["key"].where(is_kept, _OTHER)

    times = labelled["time"].dt.tz_convert("UTC").dt.tz_localize(None)
    start = first.tz_convert("UTC").tz_localize(None).floor(unit_freq)
    end = last.tz_convert("UTC").tz_localize(None).floor(unit_freq)
    labelled["bucket"] = times.dt.floor(unit_freq)
    counts = labelled.groupby(["bucket", "cls", "key"]).size().unstack(["cls", "key"], fill_value=0)
    counts = counts.reindex(pd.date_range(start, end, freq=unit_freq), fill_value=0)
    order = sorted(counts.columns, key=lambda c: _series_order(c, classes, counts[c].sum()))
    counts = counts[order]
    spikes = {col: list(find_spikes(counts[col], k)["bucket"]) for col in order}
    return _Trend(counts, unit, spikes, f"median + {k:g}·MAD")


def _trend_from_report(report: dict[str, Any], classes: list[str], top: int) -> _Trend:
    """The trend table from a Report's ``trends`` section (written by analyzer.verdicts.trends)."""
    if "trends" not in report:
        raise ValueError(
            "this Report has no trends section; plot a frame from analyzer.read_log instead"
        )
    trends = report.get("trends") or {}
    series = trends.get("series") or []
    unit = str(trends.get("bucket_unit") or trends.get("bucket") or "hour")
    frames = []
    for item in series:
        cls = item.get("class")
        if cls not in classes:
            continue
        key = str(item.get("key", item.get("method", item.get("protocol", _NO_VALUE))))
        points = item.get("points") or []
        index = pd.to_datetime([p[0] for p in points], utc=True).tz_localize(None)
        frames.append(pd.Series([int(p[1]) for p in points], index=index, name=(cls, key)))
    if not frames:
        return _Trend(pd.DataFrame(), unit, {}, "")
    counts = pd.concat(frames, axis=1).fillna(0).astype(int).sort_index()
    totals = counts.sum()
    cols = sorted(counts.columns, key=lambda c: _series_order(c, classes, totals[c]))
    ranked: list[tuple[str, str]] = []
    for cls in classes:
        ranked += [c for c in cols if c[0] == cls][:top]
    counts = counts[ranked]
    spikes: dict[tuple[str, str], list[pd.Timestamp]] = {c: [] for c in ranked}
    for spike in trends.get("spikes") or []:
        cls, key = spike.get("class"), str(spike.get("key", spike.get("method", "")))
        when = pd.Timestamp(spike["time"]).tz_convert(None)
        if key == "*" and when in counts.index:
            # a spike of the class as a whole: ring its busiest line in that bucket
            mine = [c for c in ranked if c[0] == cls]
            if not mine:
                continue
            key = max(mine, key=lambda c: counts.at[when, c])[1]
        if (cls, key) in spikes and when not in spikes[(cls, key)]:
            spikes[(cls, key)].append(when)
    return _Trend(counts, unit, spikes, str(trends.get("spike_rule") or "classifier's spikes"))


# ---------------------------------------------------------------------------------------------
# trend_plot


def _new_axes(figsize: tuple[float, float]) -> Axes:
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def _empty(ax: Axes, message: str) -> Axes:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def trend_plot(
    data: pd.DataFrame | Any,
    *,
    classes: Iterable[str] | str | None = None,
    bucket: str | None = None,
    k: float = SPIKE_K,
    top: int = 5,
    ax: Axes | None = None,
) -> Axes:
    """Requests per time bucket for each class, one line per method (per protocol for 505).

    ``classes`` picks some of ``not_implemented``, ``method_not_allowed``,
    ``version_not_supported`` (all by default); the line style tells the class (solid 501,
    dashed 405, dotted 505) and the colour the method. ``bucket`` is ``"minute"``, ``"hour"``,
    ``"day"`` or a fixed pandas frequency such as ``"15min"``; when None it is chosen from the
    span as :mod:`analyzer.verdicts.trends` does (a Report brings its own). The ``top`` methods of
    each
    class are drawn and the rest summed as ``other``. Spikes are ringed: the Report's when it
    carries them, else the buckets above median + ``k``·max(1.4826·MAD, 1) of their series
    (:func:`analyzer.verdicts.trends.find_spikes`).
    """
    chosen = _check_classes(classes)
    if _is_frame(data):
        trend = _trend_from_frame(data, chosen, bucket, k, top)
    else:
        trend = _trend_from_report(_report_dict(data), chosen, top)
    if ax is None:
        ax = _new_axes((10, 4.8))
    ax.set_title("Unsupported-request responses over time")
    if trend.counts.empty:
        return _empty(ax, "no 501, 405 or 505 responses in this log")

    x = trend.counts.index.to_numpy()
    markers = len(x) <= 60
    spike_x: list[np.datetime64] = []
    spike_y: list[int] = []
    # one colour per method (or protocol), the same in every class; the line style tells the class
    colors: dict[str, str] = {_OTHER: _OTHER_COLOR}
    for _, key in trend.counts.columns:
        colors.setdefault(key, OKABE_ITO[(len(colors) - 1) % 7])
    for cls, key in trend.counts.columns:
        y = trend.counts[(cls, key)].to_numpy()
        ax.plot(
            x, y,
            color=colors[key],
            linestyle=_CLASS_LINESTYLE[cls],
            marker="o" if markers else None,
            markersize=3,
            linewidth=1.6,
            label=f"{CLASS_STATUS[cls]} {safe_label(key, max_chars=24)}",
        )  # fmt: skip
        for when in trend.spikes.get((cls, key), []):
            stamp = np.datetime64(pd.Timestamp(when).to_datetime64())
            spike_x.append(stamp)
            spike_y.append(int(trend.counts.loc[when, (cls, key)]))
    if spike_x:
        ax.plot(
            spike_x, spike_y, color="#000000", linestyle="none", marker="o", markersize=11,
            markerfacecolor="none",
            markeredgecolor="#000000", markeredgewidth=1.4, label=f"spike ({trend.rule})",
        )  # fmt: skip

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(f"requests per {trend.unit}")
    ax.set_ylim(bottom=0)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(
        title="status and method\n(protocol for 505)",
        loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small",
    )  # fmt: skip
    return ax


# ---------------------------------------------------------------------------------------------
# status_heatmap


def _heatmap_from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    _require(frame, "status")
    methods = _text_column(frame, "method")
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
            key = (str(row.get("method", _NO_VALUE)), int(status))
            cells[key] = cells.get(key, 0) + int(n)
    if not cells:
        for verdict in report.get("verdicts") or []:
            for status, n in (verdict.get("counts") or {}).items():
                key = (str(verdict.get("method", _NO_VALUE)), int(status))
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
        group = 2 if method == _NO_VALUE else (0 if is_registered(method) else 1)
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
    table = _heatmap_from_frame(data) if _is_frame(data) else _heatmap_from_report(
        _report_dict(data)
    )
    if statuses is not None and not table.empty:
        table = table.reindex(columns=[int(s) for s in statuses], fill_value=0)
        table = table[table.sum(axis=1) > 0]
    if ax is None:
        n_rows = min(len(table), max_methods) if not table.empty else 4
        n_cols = len(table.columns) if not table.empty else 4
        ax = _new_axes((max(6.0, 1.2 + 0.62 * n_cols), max(3.0, 1.6 + 0.34 * n_rows)))
    ax.set_title("Responses by method and status")
    if table.empty or not table.to_numpy().any():
        return _empty(ax, "no requests to show")

    order = _method_order(table)
    if len(order) > max_methods:
        registered = [m for m in order if m != _NO_VALUE and is_registered(m)]
        others = [m for m in order if m not in registered]
        keep_reg = registered[: max(max_methods - min(len(others), max_methods // 3), 0)]
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
        ["(no method)" if m == _NO_VALUE else safe_label(m, max_chars=28) for m in order],
    )
    ax.tick_params(length=0)
    ax.set_xlabel("status")
    ax.set_ylabel("method")
    for label, status in zip(ax.get_xticklabels(), table.columns, strict=True):
        if int(status) in CLASS_STATUS.values():
            label.set_fontweight("bold")
    for label, method in zip(ax.get_yticklabels(), order, strict=True):
        if method != _NO_VALUE and not is_registered(method):
            label.set_fontstyle("italic")
            label.set_color(_UNREGISTERED_COLOR)
    registered = sum(1 for m in order if m != _NO_VALUE and is_registered(m))
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


# ---------------------------------------------------------------------------------------------
# top_clients_plot


def _clients_from_frame(
    frame: pd.DataFrame, classes: list[str], by: str, top: int
) -> dict[str, list[tuple[str, int, str]]]:
    cls = _request_class(frame)
    keep = cls.isin(classes)
    rows = frame.loc[keep]
    if rows.empty:
        return {}
    if "user_agent" in rows.columns:
        described = classify_user_agents(rows["user_agent"])
        family = described["ua_family"].astype(str)
        kind = described["client_kind"].astype(str)
    else:
        family = pd.Series("(none)", index=rows.index)
        kind = pd.Series("unknown", index=rows.index)
    if by == "client":
        _require(frame, "client")
        who = _text_column(rows, "client")
    else:
        who = family
    table = pd.DataFrame({"cls": cls[keep], "who": who, "kind": kind})
    out: dict[str, list[tuple[str, int, str]]] = {}
    for name in classes:
        part = table[table["cls"] == name]
        if part.empty:
            continue
        counts = part.groupby("who").size().sort_values(ascending=False, kind="stable")
        counts = counts.iloc[np.lexsort((counts.index.to_numpy(str), -counts.to_numpy()))]
        # each client's kind: the kind of most of its requests
        kinds = part.groupby(["who", "kind"]).size().sort_values(ascending=False, kind="stable")
        main_kind = kinds.reset_index().drop_duplicates("who").set_index("who")["kind"]
        out[name] = [(w, int(n), str(main_kind[w])) for w, n in counts.head(top).items()]
    return out


def _clients_from_report(
    report: dict[str, Any], classes: list[str], by: str, top: int
) -> dict[str, list[tuple[str, int, str]]]:
    out: dict[str, list[tuple[str, int, str]]] = {}
    section = report.get("classes") or {}
    for name in classes:
        entry = section.get(name) or {}
        items = entry.get("top_families") if by == "family" else entry.get("top_clients")
        if by == "family" and items is None:
            items = entry.get("top_user_agents") or []
        rows = []
        for item in items or []:
            label = item.get("client", item.get("family", item.get("user_agent", _NO_VALUE)))
            rows.append((str(label), int(item.get("count", 0)), str(item.get("kind", "unknown"))))
        if rows:
            out[name] = sorted(rows, key=lambda r: (-r[1], r[0]))[:top]
    return out


def top_clients_plot(
    data: pd.DataFrame | Any,
    *,
    classes: Iterable[str] | str | None = None,
    by: str = "client",
    top: int = 8,
    ax: Axes | None = None,
) -> Axes:
    """The clients behind each class, as horizontal bars, coloured by client kind.

    ``by`` is ``"client"`` (the address) or ``"family"`` (the user-agent family); ``top`` bars
    are drawn per class, busiest first, under a heading per class.
    """
    if by not in ("client", "family"):
        raise ValueError(f"by must be 'client' or 'family', not {by!r}")
    chosen = _check_classes(classes)
    if _is_frame(data):
        groups = _clients_from_frame(data, chosen, by, top)
    else:
        groups = _clients_from_report(_report_dict(data), chosen, by, top)
    n_bars = sum(len(v) for v in groups.values())
    if ax is None:
        ax = _new_axes((9, max(2.8, 1.2 + 0.3 * (n_bars + 1.6 * len(groups)))))
    what = "client addresses" if by == "client" else "user-agent families"
    ax.set_title(f"Top {what} per class")
    if not groups:
        return _empty(ax, "no 501, 405 or 505 responses in this log")

    y = 0.0
    ticks: list[float] = []
    labels: list[str] = []
    headings: list[float] = []
    kinds_seen: list[str] = []
    for name, rows in groups.items():
        headings.append(y)
        ticks.append(y)
        labels.append(_CLASS_TITLE[name])
        y += 1
        for who, n, kind in rows:
            color = _KIND_COLOR.get(kind, _KIND_COLOR["unknown"])
            ax.barh(y, n, color=color, height=0.75, label=kind)
            ax.annotate(f"{n:,}", (n, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize="x-small")
            if kind not in kinds_seen:
                kinds_seen.append(kind)
            ticks.append(y)
            labels.append(safe_label(who, max_chars=40))
            y += 1
        y += 0.6
    ax.set_yticks(ticks, labels)
    for tick, label in zip(ticks, ax.get_yticklabels(), strict=True):
        if tick in headings:
            label.set_fontweight("bold")
    ax.set_ylim(y - 0.6, -0.8)
    ax.set_xlabel("requests")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.margins(x=0.12)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    order = [k for k in CLIENT_KINDS if k in kinds_seen]
    ax.legend(
        handles=[Patch(color=_KIND_COLOR[k], label=k) for k in order],
        title="client kind", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
        fontsize="small",
    )  # fmt: skip
    return ax


# ---------------------------------------------------------------------------------------------
# Files


def save_plots(data: pd.DataFrame | Any, directory: str | os.PathLike[str]) -> list[str]:
    """Write every plot to ``directory`` (created if needed) under the names in ``PLOT_FILES``;
    returns the paths written."""
    os.makedirs(directory, exist_ok=True)
    written = []
    for name, draw in (
        ("trend", trend_plot), ("status_heatmap", status_heatmap), ("top_clients", top_clients_plot)
    ):  # fmt: skip
        path = os.path.join(os.fspath(directory), PLOT_FILES[name])
        draw(data).figure.savefig(path, dpi=120)
        written.append(path)
    return written
