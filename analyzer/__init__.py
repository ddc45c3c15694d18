"""logscan: find which parts of HTTP a web server does not support, from its access logs.

>>> import analyzer
>>> report = analyzer.analyze("sample_logs/nginx_combined.log")   # doctest: +SKIP
>>> frame = analyzer.read_log("sample_logs/nginx_combined.log")   # doctest: +SKIP

Everything else is reached through its module (``analyzer.frame.parse_log``,
``analyzer.verdicts.classify``, ...). Importing the package changes nothing in the process.
"""

from typing import TYPE_CHECKING

from .api import analyze, summarize
from .errors import AnalyzerError
from .formats import PRESETS, LogFormat
from .frame import read_log
from .report.build import Report, build_report
from .summary.summary import Summary

if TYPE_CHECKING:
    from . import plots


def __getattr__(name: str) -> object:
    # matplotlib is loaded on first use of the plots, so that `import analyzer` stays quick
    if name == "plots":
        import importlib

        return importlib.import_module(".plots", __name__)
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'analyzer' has no attribute {name!r}")


def _version() -> str:
    """The installed distribution's version, looked up when asked for (importlib.metadata and
    the e-mail parser it loads are 20 ms of a command's start)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("logscan-http")
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
