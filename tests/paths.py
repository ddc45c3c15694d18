"""Where the tests' logs are: the shipped samples, and the real public logs that CI keeps beside
the checkout (``../shared/real_logs``)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_LOGS = REPO / "sample_logs"
REAL_LOGS = REPO.parent / "shared" / "real_logs"
CONFORMANCE = REPO.parent / "shared" / "conformance"
