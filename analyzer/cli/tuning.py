"""Process-wide settings that the ``logscan`` command makes for itself (never the library).

Measured on the 5,000,000-line benchmark log (2 cores); see benchmarks/README.md.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# glibc's mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
_MMAP_THRESHOLD = 64 << 20  # above any block buffer
_TRIM_THRESHOLD = 32 << 20
# A worker back from an Arrow kernel waits for the GIL while another runs Python between its
# kernels; a shorter switch interval (5 ms by default) hands it over sooner.
_SWITCH_INTERVAL = 0.0005


def tune_process() -> None:
    """Arrow's jemalloc pool, glibc's heap kept for block buffers, a short GIL switch. Called
    before Arrow is loaded."""
    _arrow_pool()
    _glibc_heap()
    sys.setswitchinterval(_SWITCH_INTERVAL)


def _arrow_pool() -> None:
    """Arrow's jemalloc pool rather than its default (mimalloc): freed blocks are reused, and
    the report peaks lower at the same speed (1,000,000-line benchmark log: 250 against 280
    MB). Arrow reads the variable when it loads (choosing the pool later is not the same: the
    peak stays at 264 MB); a pool the user names wins."""
    if sys.platform == "linux":
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")


def _glibc_heap() -> None:
    """Block-sized buffers reused from glibc's heap, in at most two arenas: by default each
    4 MiB block buffer gets fresh pages from the kernel and hands them back when freed, so
    every block faults in and zeroes 1,024 new pages."""
    libc = _glibc()
    if libc is None:  # pragma: no cover - not glibc
        return
    libc.mallopt(_M_ARENA_MAX, 2)
    libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def _glibc() -> Any:  # noqa: ANN401 - a ctypes library handle
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both must exist
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None
    return libc
