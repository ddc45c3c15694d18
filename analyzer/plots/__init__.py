"""Plots of the three classes (501, 405, 505), in seaborn's manner.

Every function takes ``data`` first (a :class:`~analyzer.report.build.Report`, or a canonical
frame from :func:`analyzer.read_log`) and everything else by keyword. ``status_heatmap`` and
``top_clients_plot`` draw on ``ax`` (a new :class:`~matplotlib.figure.Figure` when ``ax`` is None)
and return the Axes; ``trend_plot`` draws one panel per class on ``figure`` (a Figure or a
SubFigure, new when None) and returns it. Nothing here touches pyplot's global state, shows a
window or saves a file, except ``save_plots``, which writes every plot to a folder.

Every label that comes from a log (methods, protocols, addresses, user-agent families) passes
through :func:`safe_label`: control characters are removed and ``$`` is escaped, so a user agent
can neither break a line nor switch matplotlib into mathtext.
"""

from .clients import KIND_COLORS, top_clients_plot
from .common import CLASS_STATUS, OKABE_ITO, OTHER_COLOR, safe_label
from .files import PLOT_FILES, save_plots
from .heatmap import status_heatmap
from .trend import MAX_TOP, trend_plot

__all__ = [
    "CLASS_STATUS",
    "KIND_COLORS",
    "MAX_TOP",
    "OKABE_ITO",
    "OTHER_COLOR",
    "PLOT_FILES",
    "safe_label",
    "save_plots",
    "status_heatmap",
    "top_clients_plot",
    "trend_plot",
]
