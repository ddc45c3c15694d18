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


# Debian's server configuration trees (installed by .ci/run), and the NGINX format that wrote
# sample_logs/nginx_timed.log
NGINX_ETC = Path("/etc/nginx")
APACHE_ETC = Path("/etc/apache2")
needs_nginx = pytest.mark.skipif(not (NGINX_ETC / "nginx.conf").is_file(),
                                 reason="Debian's nginx package is not installed")
needs_apache = pytest.mark.skipif(not (APACHE_ETC / "apache2.conf").is_file(),
                                  reason="Debian's apache2 package is not installed")

TIMED = ("'$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent '\n"
         "        '\"$http_referer\" \"$http_user_agent\" $request_time $host '\n"
         "        '\"$sent_http_allow\"'")
