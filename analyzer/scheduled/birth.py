"""When a file was created (its birth time), where the system can say.

A rotation that renames a log, compresses it (deleting the renamed file) and only then creates
the new log often hands the new file the inode number the old one had. Device and inode then say
"the same file", as after ``copytruncate``; the birth time tells the two apart. Python before 3.12
exposes no birth time on Linux, so it is read with ``statx(2)`` through the C library; where that
is missing (another system, an old kernel, a file system that keeps none) the answer is None and
the caller falls back to what device and inode say.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable

_AT_EMPTY_PATH = 0x1000
_STATX_BTIME = 0x800
_BTIME_OFFSET = 80  # struct statx: stx_btime (a struct statx_timestamp) starts here
_STATX_SIZE = 256


def _load_statx() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.statx
    except (OSError, AttributeError):  # no C library, or one older than glibc 2.28
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint,
                         ctypes.c_void_p]
    function.restype = ctypes.c_int
    return function


_statx = _load_statx()


def birth_ns(fd: int) -> int | None:
    """The birth time of the open file ``fd`` in nanoseconds since the epoch, or None."""
    if _statx is None:
        return None
    buffer = ctypes.create_string_buffer(_STATX_SIZE)
    if _statx(fd, b"", _AT_EMPTY_PATH, _STATX_BTIME, buffer) != 0:
        return None
    mask = int.from_bytes(buffer.raw[0:4], sys.byteorder)
    if not mask & _STATX_BTIME:
        return None
    seconds = int.from_bytes(buffer.raw[_BTIME_OFFSET:_BTIME_OFFSET + 8], sys.byteorder,
                             signed=True)
    nanoseconds = int.from_bytes(buffer.raw[_BTIME_OFFSET + 8:_BTIME_OFFSET + 12],
                                 sys.byteorder)
    return seconds * 1_000_000_000 + nanoseconds


def path_birth_ns(path: str) -> int | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return birth_ns(fd)
    finally:
        os.close(fd)
