"""Format strings that reach native kernels: a result or a clear AnalyzerError, never a signal.

An empty strftime format (``%{}t`` and its relatives) used to reach Arrow's ``strptime``, which
crashed the interpreter within a few hundred calls; each case runs in its own process so that a
crash fails the test instead of ending the run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_CHILD = """
import sys
import analyzer
from analyzer import AnalyzerError
path, log_format = sys.argv[1], sys.argv[2]
for call in (analyzer.analyze, analyzer.read_log):
    try:
        call(path, log_format=log_format)
        print("result")
    except AnalyzerError as exc:
        print("error", type(exc).__name__)
"""

EMPTY_STRFTIME = ["%{}t", "%{begin:}t", "%{end:}t", "%200{}t", '%h %{}t "%r" %>s']


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lines that a time field could match: dates, clock times, numbers, words, nothing."""
    values = ["10/Oct/2025:13:55:36 +0000", "[10/Oct/2025:13:55:36 +0000]", "2025-10-10",
              "13:55:36", "1760104536", "abc", "", "%", "10.0.0.1 [x] \"GET / HTTP/1.1\" 200"]
    path = tmp_path_factory.mktemp("native") / "access.log"
    path.write_text("".join(f"{values[i % len(values)]}{i % 7 or ''}\n" for i in range(3000)))
    return path


@pytest.mark.parametrize("log_format", EMPTY_STRFTIME)
def test_empty_strftime_never_kills_the_process(log: Path, log_format: str) -> None:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(log), log_format],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"exit {done.returncode} (a negative code is a signal)"
    assert len(done.stdout.splitlines()) == 2  # analyze and read_log each answered
    assert done.stderr == ""
