"""logscan: find which parts of HTTP a web server does not support, from its access logs.

>>> import analyzer
>>> frame = analyzer.read_log("sample_logs/...")          # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import (
    AnalyzerError,
    FormatDetectionError,
    InputError,
    StrictModeError,
    UnknownFieldError,
    UnknownFormatError,
)
from .formats import PRESETS, LogFormat, detect_format
from .frame import ParsedLog, SourceStats, iter_parsed, parse_log, read_log, read_logs
from .report import Report, build_report

try:
    __version__ = version("logscan")
except PackageNotFoundError:  # pragma: no cover - running from a checkout without install
    __version__ = "0.0.0"

__all__ = [
    "PRESETS",
    "AnalyzerError",
    "FormatDetectionError",
    "InputError",
    "LogFormat",
    "ParsedLog",
    "Report",
    "SourceStats",
    "StrictModeError",
    "UnknownFieldError",
    "UnknownFormatError",
    "build_report",
    "detect_format",
    "iter_parsed",
    "parse_log",
    "read_log",
    "read_logs",
    "__version__",
]
