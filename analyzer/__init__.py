"""logscan: find which parts of HTTP a web server does not support, from its access logs.

>>> import analyzer
>>> report = analyzer.analyze("sample_logs/nginx_combined.log")   # doctest: +SKIP
>>> frame = analyzer.read_log("sample_logs/nginx_combined.log")   # doctest: +SKIP

Everything else is reached through its module (``analyzer.frame.parse_log``,
``analyzer.verdicts.classify``, ...). Importing the package changes nothing in the process.
"""

import importlib
from typing import TYPE_CHECKING

from .errors import AnalyzerError

if TYPE_CHECKING:
    from . import plots
    from .api import analyze, summarize
    from .formats import PRESETS, LogFormat
    from .frame import read_log
    from .report.build import build_report
    from .report.model import Report
    from .summary.summary import Summary

# Each name is loaded when first used, so that `import analyzer` loads neither pandas, Arrow
# nor matplotlib: the command sets up the process (analyzer.cli.tuning) before Arrow loads.
_LAZY = {
    "analyze": ".api", "summarize": ".api", "PRESETS": ".formats", "LogFormat": ".formats",
    "read_log": ".frame", "Report": ".report.model", "build_report": ".report.build",
    "Summary": ".summary.summary",
}


def __getattr__(name: str) -> object:
    if name == "plots":
        return importlib.import_module(".plots", __name__)
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'analyzer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY, "plots"])


def _version() -> str:
    """The installed distribution's version, looked up when asked for (importlib.metadata and
    the e-mail parser it loads are 20 ms of a command's start)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("logscan")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout without install
        return "0.0.0"


__all__ = [
    "PRESETS",
    "AnalyzerError",
    "LogFormat",
    "Report",
    "Summary",
    "analyze",
    "build_report",
    "plots",
    "read_log",
    "summarize",
]
