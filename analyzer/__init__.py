"""logscan: find which parts of HTTP a web server does not support, from its access logs.

>>> import analyzer
>>> frame = analyzer.read_log("sample_logs/...")          # doctest: +SKIP
"""

import os
import sys

# Arrow's jemalloc pool rather than its default (mimalloc): on the 5,000,000-line benchmark log
# the report peaks about 45 MB lower at the same speed, as freed blocks are reused. Only a
# default: a pool the user names in ARROW_DEFAULT_MEMORY_POOL wins, and it takes effect only
# when pyarrow is first loaded after this line (always so for the logscan command).
if sys.platform == "linux":
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

from .analysis import parse_when
from .classify import (
    ServerGuess,
    classify,
    client_table,
    guess_server,
    protocol_table,
    verdict_table,
)
from .engines import analyze, read_logs, summarize  # all cores, or Dask: engine="dask"
from .errors import (
    AnalyzerError,
    FormatDetectionError,
    InputError,
    StrictModeError,
    UnknownFieldError,
    UnknownFormatError,
)
from .formats import PRESETS, LogFormat, detect_format
from .frame import ParsedLog, SourceStats, iter_parsed, parse_log, read_log
from .report import Report, build_report
from .summary import Summary
from .trends import trend_table

# the plotting helpers load matplotlib on first use, so that `import analyzer` (and the CLI)
# stays quick
_PLOTS = ("trend_plot", "status_heatmap", "top_clients_plot", "save_plots")


def __getattr__(name: str) -> object:
    if name in _PLOTS:
        from . import plots

        return getattr(plots, name)
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'analyzer' has no attribute {name!r}")


def _version() -> str:
    """The installed distribution's version, looked up when asked for: importlib.metadata and
    the e-mail parser it loads were 20 ms of every command's start."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("logscan")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout without install
        return "0.0.0"

__all__ = [
    "PRESETS",
    "AnalyzerError",
    "FormatDetectionError",
    "InputError",
    "LogFormat",
    "ParsedLog",
    "Report",
    "ServerGuess",
    "SourceStats",
    "StrictModeError",
    "Summary",
    "UnknownFieldError",
    "UnknownFormatError",
    "analyze",
    "build_report",
    "classify",
    "client_table",
    "detect_format",
    "guess_server",
    "iter_parsed",
    "parse_log",
    "parse_when",
    "protocol_table",
    "read_log",
    "read_logs",
    "save_plots",
    "status_heatmap",
    "summarize",
    "top_clients_plot",
    "trend_plot",
    "trend_table",
    "verdict_table",
    "__version__",
]
