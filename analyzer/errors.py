"""Every error the library raises on purpose; the CLI turns them into one line and exit 2."""

from __future__ import annotations


class AnalyzerError(Exception):
    """Base class: a problem with the input or options; the message says how to fix it."""


class InputError(AnalyzerError):
    """An input cannot be read: missing, a directory, unreadable, or not decompressible."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{_shown_path(path)}: {problem}")


def _shown_path(path: str) -> str:
    """A path that is not UTF-8 (surrogate escapes) with its bytes as ``\\xHH``."""
    try:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return path.encode("utf-8", "backslashreplace").decode("utf-8")


class UnknownFormatError(AnalyzerError):
    """A `--log-format` value is neither a preset name nor a format string we can compile."""

    def __init__(self, value: str, problem: str) -> None:
        self.value = value
        self.problem = problem
        shown = value if len(value) <= 100 else value[:97] + "..."
        super().__init__(f"log format {shown!r}: {problem}")


class FormatDetectionError(AnalyzerError):
    """No known format fits the first lines of an input."""

    def __init__(self, path: str, sample_line: str, best: str | None, matched: int, tried: int):
        self.path = path
        self.sample_line = sample_line
        self.best = best
        shown = sample_line if len(sample_line) <= 160 else sample_line[:157] + "..."
        closest = f" (closest: {best}, {matched}/{tried} lines)" if best else ""
        super().__init__(
            f"{path}: no known log format fits{closest}; a line that does not fit: {shown!r}. "
            "Pass the format with --log-format NAME or --log-format 'FORMAT STRING'"
        )


class StrictModeError(AnalyzerError):
    """`--strict` was given and a line was rejected."""

    def __init__(self, source: str, line: int, reason: str, text: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        shown = text if len(text) <= 120 else text[:117] + "..."
        super().__init__(f"{source}:{line}: rejected ({reason}) in --strict mode: {shown!r}")


class UnknownFieldError(AnalyzerError):
    """A column or field name given by the user does not exist."""

    def __init__(self, name: str, choices: list[str]) -> None:
        self.name = name
        self.choices = choices
        super().__init__(f"unknown field {name!r}; choose one of: {', '.join(choices)}")


class StateError(AnalyzerError):
    """The state directory of scheduled reports cannot be used (unreadable, damaged, or busy)."""

    def __init__(self, directory: str, problem: str, message: str | None = None) -> None:
        self.directory = directory
        self.problem = problem
        super().__init__(message or f"state directory {directory}: {problem}")


class StateLockedError(StateError):
    """Another `logscan report` holds the lock on the same state directory."""

    def __init__(self, directory: str) -> None:
        super().__init__(directory, "locked by another run",
                         f"another logscan report is running on {directory}")
