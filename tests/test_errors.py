"""Errors: each is an AnalyzerError and the builtin it resembles, and pickles as itself."""

from __future__ import annotations

import pickle

import pytest

from analyzer import AnalyzerError
from analyzer.errors import (
    FormatDetectionError,
    InputError,
    MissingExtraError,
    StateError,
    StateLockedError,
    StrictModeError,
    UnknownFieldError,
    UnknownFormatError,
    UnknownStatusError,
)

CASES = [
    (InputError("a.log", "no such file"), OSError, "a.log: no such file"),
    (UnknownFormatError("%Q", "unknown directive %Q"), ValueError,
     "log format '%Q': unknown directive %Q"),
    (FormatDetectionError("a.log", "closest is 'combined'"), ValueError,
     "no known log format fits a.log: closest is 'combined'; give the format with --log-format "
     "NAME or --log-format 'FORMAT STRING', or the server's configuration with --server-config"),
    (StrictModeError("a.log", 7, "no_match", "x"), ValueError,
     "a.log:7: rejected (no_match) in --strict mode: 'x'"),
    (UnknownFieldError("nope", ["client", "user"]), ValueError,
     "unknown field 'nope'; choose one of: client, user"),
    (UnknownStatusError("999", [400, 501]), ValueError,
     "no explanation for status 999; known: 400, 501"),
    (MissingExtraError("the dask engine", "dask"), ImportError,
     "the dask engine needs: pip install 'logscan-http[dask]'"),
    (StateError("/s", "damaged"), OSError, "state directory /s: damaged"),
    (StateLockedError("/s"), OSError, "another logscan report is running on /s"),
    (AnalyzerError("plain"), Exception, "plain"),
]


@pytest.mark.parametrize(("error", "builtin", "message"), CASES,
                         ids=lambda c: type(c).__name__ if isinstance(c, Exception) else "")
def test_an_error_is_its_builtin_too_and_pickles(error: AnalyzerError, builtin: type,
                                                 message: str) -> None:
    assert isinstance(error, AnalyzerError) and isinstance(error, builtin)
    assert str(error) == message
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == message
    assert vars(again) == vars(error)
