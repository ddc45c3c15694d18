"""top_clients_plot: who sends each class, as horizontal bars coloured by client kind.

A frame and a Report give the same bars: the busiest addresses (or user-agent families) of each
class, each coloured by the kind of most of its requests, and one grey bar for everyone else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..verdicts.clients import CLIENT_KINDS, classify_user_agents
from .common import (
    CLASS_TITLES,
    NO_VALUE,
    OKABE_ITO,
    OTHER_COLOR,
    check_classes,
    empty,
    is_frame,
    new_axes,
    report_dict,
    request_class,
    require,
    safe_label,
    text_column,
)

__all__ = ["KIND_COLORS", "top_clients_plot"]

#: The colour of each client kind (``unknown`` grey).
KIND_COLORS: dict[str, str] = dict(zip(CLIENT_KINDS, (*OKABE_ITO[:6], OTHER_COLOR), strict=True))
_REST_COLOR = "#DDDDDD"  # the bar of everyone beyond the top: lighter than "unknown"


@dataclass(frozen=True)
class _Group:
    """The bars of one class: (who, requests, kind), busiest first, and the rest."""

    rows: list[tuple[str, int, str]]
    rest: int  # requests of everyone not listed
    rest_count: int | None  # how many they are (None: the Report does not say)


def _kind_of(table: pd.DataFrame) -> dict[str, str]:
    """Each ``who``'s kind: the kind of most of its requests (ties: the first kind by name)."""
    counts = table.groupby(["who", "kind"]).size().reset_index(name="n")
    counts = counts.sort_values(["who", "n", "kind"], ascending=[True, False, True])
    first = counts.drop_duplicates("who")
    return dict(zip(first["who"].map(str), first["kind"].map(str), strict=True))


def _clients_from_frame(
    frame: pd.DataFrame, classes: list[str], by: str, top: int
) -> dict[str, _Group]:
    cls = request_class(frame)
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
        require(frame, "client")
        who = text_column(rows, "client")
    else:
        who = family
    table = pd.DataFrame({"cls": cls[keep], "who": who, "kind": kind})
    out: dict[str, _Group] = {}
    for name in classes:
        part = table[table["cls"] == name]
        if part.empty:
            continue
        counts = part.groupby("who").size()
        counts = counts.iloc[np.lexsort((counts.index.to_numpy(str), -counts.to_numpy()))]
        kinds = _kind_of(part)
        shown = [(str(w), int(n), kinds[str(w)]) for w, n in counts.head(top).items()]
        rest = len(part) - sum(n for _, n, _ in shown)
        rest_count = len(counts) - len(shown) if by == "client" else None
        out[name] = _Group(shown, rest, rest_count)
    return out


def _clients_from_report(
    report: dict[str, Any], classes: list[str], by: str, top: int
) -> dict[str, _Group]:
    out: dict[str, _Group] = {}
    section = report.get("classes") or {}
    for name in classes:
        entry = section.get(name) or {}
        clients = entry.get("top_clients") or []
        items = (entry.get("top_families") or []) if by == "family" else clients
        # a family's kind: the Report's, else (a Report written before it kept one) the kind of
        # that family's busiest listed client
        kind_by_family: dict[str, str] = {}
        for item in clients:
            kind_by_family.setdefault(str(item.get("family")), str(item.get("kind", "unknown")))
        rows = []
        for item in items:
            label = str(item.get("client", item.get("family", NO_VALUE)))
            fallback = kind_by_family.get(label, "unknown") if by == "family" else "unknown"
            rows.append((label, int(item.get("count", 0)), str(item.get("kind", fallback))))
        if not rows:
            continue
        shown = sorted(rows, key=lambda r: (-r[1], r[0]))[:top]
        rest = int(entry.get("count", 0)) - sum(n for _, n, _ in shown)
        distinct = entry.get("distinct_clients")
        rest_count = int(distinct) - len(shown) if by == "client" and distinct else None
        out[name] = _Group(shown, max(rest, 0), rest_count)
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
    are drawn per class, busiest first, under a heading per class, and one light grey bar sums
    everyone else. A Report lists its top 10 per class, so ``top`` above 10 draws no more bars
    from a Report than from ``top=10``.
    """
    if by not in ("client", "family"):
        raise ValueError(f"by must be 'client' or 'family', not {by!r}")
    chosen = check_classes(classes)
    if is_frame(data):
        groups = _clients_from_frame(data, chosen, by, top)
    else:
        groups = _clients_from_report(report_dict(data), chosen, by, top)
    n_bars = sum(len(g.rows) + (g.rest > 0) for g in groups.values())
    if ax is None:
        ax = new_axes((9, max(2.8, 1.2 + 0.3 * (n_bars + 1.6 * len(groups)))))
    what = "client addresses" if by == "client" else "user-agent families"
    ax.set_title(f"Top {what} per class")
    if not groups:
        return empty(ax, "no 501, 405 or 505 responses in this log")
    kinds_seen = _draw_bars(ax, groups, by)
    ax.set_xlabel("requests")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.12)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.legend(
        handles=[Patch(color=KIND_COLORS[k], label=k) for k in CLIENT_KINDS if k in kinds_seen],
        title="client kind", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
        fontsize="small",
    )  # fmt: skip
    return ax


def _rest_label(group: _Group, by: str) -> str:
    if group.rest_count is None:
        return "(other families)" if by == "family" else "(other clients)"
    noun = "client" if group.rest_count == 1 else "clients"
    return f"({group.rest_count:,} other {noun})"


def _draw_bars(ax: Axes, groups: dict[str, _Group], by: str) -> set[str]:
    """One heading per class, then its bars; returns the kinds drawn."""
    y = 0.0
    ticks: list[float] = []
    labels: list[str] = []
    headings: list[float] = []
    kinds_seen: set[str] = set()
    for name, group in groups.items():
        headings.append(y)
        ticks.append(y)
        labels.append(CLASS_TITLES[name])
        y += 1
        bars: list[tuple[str | None, int, str]] = [
            (who, n, KIND_COLORS.get(kind, OTHER_COLOR)) for who, n, kind in group.rows
        ]
        kinds_seen |= {kind if kind in KIND_COLORS else "unknown" for _, _, kind in group.rows}
        if group.rest > 0:
            bars.append((None, group.rest, _REST_COLOR))
        for who, n, color in bars:
            ax.barh(y, n, color=color, height=0.75)
            ax.annotate(f"{n:,}", (n, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize="x-small")
            ticks.append(y)
            labels.append(_rest_label(group, by) if who is None else safe_label(who, max_chars=40))
            y += 1
        y += 0.6
    ax.set_yticks(ticks, labels)
    for tick, label in zip(ticks, ax.get_yticklabels(), strict=True):
        if tick in headings:
            label.set_fontweight("bold")
    ax.set_ylim(y - 0.6, -0.8)
    return kinds_seen
