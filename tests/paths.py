"""Where the tests' logs are: the shipped samples, and the real public logs that CI keeps beside
the checkout (``../shared/real_logs``).

A fresh clone has no ``../shared``: every test that reads a real log goes through
:func:`real_log` (or :data:`needs_real_logs`) and skips with a reason when it is absent.
"""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_LOGS = REPO / "sample_logs"
REAL_LOGS = REPO.parent / "shared" / "real_logs"
CONFORMANCE = REPO.parent / "shared" / "conformance"
_ABSENT = f"{REAL_LOGS} is absent (real logs are kept beside the checkout, not in it)"

#: Marks a test (or a module, as ``pytestmark``) that reads ../shared/real_logs.
needs_real_logs = pytest.mark.skipif(not REAL_LOGS.is_dir(), reason=_ABSENT)


def real_log(name: str) -> Path:
    """The path of one real log; skips the calling test when it is not there."""
    path = REAL_LOGS / name
    if not path.exists():
        pytest.skip(_ABSENT if not REAL_LOGS.is_dir() else f"{path} is not there")
    return path


def real_log_param(name: str) -> object:
    """A ``pytest.param`` for a real log that is skipped (with the reason) when it is absent."""
    return pytest.param(REAL_LOGS / name, id=name, marks=needs_real_logs)
