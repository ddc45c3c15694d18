"""Record a fresh sample from real Apache httpd and NGINX and check it like the committed one.

Runs `sample_logs/record.py --quick --no-install` (about 20 s): both servers must be installed
(Debian packages apache2-bin and nginx). Without them the test skips, except under CI=true,
where a missing server is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_samples as samples

pytestmark = pytest.mark.live

RECORDER = Path(__file__).resolve().parents[1] / "sample_logs" / "record.py"
SERVERS = (Path("/usr/sbin/apache2"), Path("/usr/sbin/nginx"))


def _missing_servers() -> list[str]:
    return [str(path) for path in SERVERS if not path.exists()]


def test_fresh_recording_matches_its_manifest(tmp_path: Path) -> None:
    missing = _missing_servers()
    if missing and os.environ.get("CI") != "true":
        pytest.skip(
            f"needs real servers, not installed: {', '.join(missing)} "
            "(apt-get install apache2-bin nginx)"
        )
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(RECORDER), "--quick", "--no-install", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    elapsed = time.monotonic() - started
    assert elapsed < 90, f"quick recording took {elapsed:.0f} s"

    samples.check_directory(tmp_path, parser="local")
    samples.check_directory(tmp_path)  # with analyzer.read_log once it exists

    fresh = samples.load_formats(tmp_path)
    committed = samples.load_formats(samples.SAMPLES)
    assert {n: (e["server"], e["format"]) for n, e in fresh.items()} == {
        n: (e["server"], e["format"]) for n, e in committed.items()
    }
    for name in fresh:
        sent = samples.read_manifest(tmp_path / f"{name}.manifest.csv")
        recorded = samples.read_manifest(samples.SAMPLES / f"{name}.manifest.csv")
        # The same requests as the committed sample, in the same order (the mix is seeded).
        assert [_request_key(r) for r in sent] == [_request_key(r) for r in recorded], name


def _request_key(row: dict[str, str]) -> tuple[str, ...]:
    fields = ("seq", "vhost", "client_addr", "x_forwarded_for", "method", "target", "protocol")
    return tuple(row[f] for f in (*fields, "raw_request_line"))
