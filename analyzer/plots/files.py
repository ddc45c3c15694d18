"""save_plots: every plot written to a folder, under fixed names."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from .clients import top_clients_plot
from .heatmap import status_heatmap
from .trend import trend_plot

__all__ = ["PLOT_FILES", "save_plots"]

#: The files ``save_plots`` writes, by plot.
PLOT_FILES: dict[str, str] = {
    "trend": "trend.png",
    "status_heatmap": "status_heatmap.png",
    "top_clients": "top_clients.png",
}


def _figures(data: pd.DataFrame | Any) -> dict[str, Figure]:
    def root(figure: Any) -> Figure:
        found = figure.get_figure(root=True)
        assert isinstance(found, Figure)
        return found

    return {
        "trend": trend_plot(data),
        "status_heatmap": root(status_heatmap(data)),
        "top_clients": root(top_clients_plot(data)),
    }


def save_plots(data: pd.DataFrame | Any, directory: str | os.PathLike[str]) -> list[str]:
    """Write every plot to ``directory`` (created if needed) under the names in ``PLOT_FILES``;
    returns the paths written."""
    os.makedirs(directory, exist_ok=True)
    written = []
    for name, figure in _figures(data).items():
        path = os.path.join(os.fspath(directory), PLOT_FILES[name])
        figure.savefig(path, dpi=120)
        written.append(path)
    return written
