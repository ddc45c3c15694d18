"""Naming inputs: paths, globs, stdin and URLs expanded, rotated sets put in order, each checked.

Files are opened here (``open_raw``, or fsspec for URLs); reading them is :mod:`.blocks`' work.
"""

from __future__ import annotations

import glob
import os
import re
import stat
import sys
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

from ..errors import InputError

STDIN = "-"
Opener = Callable[[str], BinaryIO]
ROTATED = re.compile(
    r"^(?P<base>.*?)(?:\.(?P<n>\d+)|-(?P<date>\d{8,10}))?(?:\.(?:gz|bz2|xz|zst))?$"
)


def local_path(path: str) -> bool:
    """A path on this machine (not ``-`` and not a URL such as ``s3://bucket/key``)."""
    return path != STDIN and "://" not in path


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Paths in reading order: globs expanded, rotated sets oldest first, each input checked."""
    paths: list[str] = []
    for item in inputs:
        if item == STDIN:
            paths.append(item)
            continue
        matches = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not matches:
            raise InputError(item, "no file matches this pattern")
        paths.extend(matches)
    for path in paths:
        _check_readable(path)
    return order_rotated(list(dict.fromkeys(paths)))


def order_rotated(paths: list[str]) -> list[str]:
    """``a.log a.log.1 a.log.2.gz`` -> ``a.log.2.gz a.log.1 a.log`` (logrotate's numbering)."""
    groups: dict[str, list[tuple[tuple[int, int | str], str]]] = {}
    for path in paths:
        match = ROTATED.match(path)
        assert match is not None  # the pattern matches any string
        base = match["base"]
        if match["n"] is not None:
            key: tuple[int, int | str] = (0, -int(match["n"]))
        elif match["date"] is not None:
            key = (1, match["date"])
        else:
            key = (2, 0)
        groups.setdefault(base, []).append((key, path))
    ordered: list[str] = []
    for members in groups.values():
        ordered.extend(path for _, path in sorted(members, key=lambda m: m[0]))
    return ordered


def _check_readable(path: str) -> None:
    if path == STDIN:
        return
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(path, "is a directory; give the log files inside it (or a glob)")
    if not os.access(path, os.R_OK):
        raise InputError(path, "permission denied")
    check_name(path)


def check_name(path: str) -> None:
    """A source is named by its path in every report, so the path must be text."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(path, "the file name is not valid UTF-8; rename the file, or link it "
                         "under a UTF-8 name") from None


def open_raw(path: str) -> BinaryIO:
    if path == STDIN:
        return sys.stdin.buffer
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None


def expand_all(inputs: Sequence[str]) -> list[str]:
    """Inputs in reading order: local paths and globs as :func:`expand_inputs` orders them;
    URLs (``s3://...``) through fsspec, globs expanded."""
    if all(local_path(item) or item == STDIN for item in inputs):
        return expand_inputs(list(inputs))
    paths: list[str] = []
    for item in inputs:
        if item == STDIN or local_path(item):
            paths.extend(expand_inputs([item]))
        else:
            paths.extend(_expand_url(item))
    return list(dict.fromkeys(paths))


def opener_for(path: str) -> Opener | None:
    """None for local paths (read with the fast path); fsspec for URLs."""
    if local_path(path) or path == STDIN:
        return None
    fsspec = _fsspec(path)

    def open_url(url: str) -> BinaryIO:
        try:
            handle: BinaryIO = fsspec.open(url, "rb").open()
            return handle
        except (OSError, ValueError) as exc:
            raise InputError(url, str(exc)) from None

    return open_url


def rotated_candidates(path: str) -> list[str]:
    """Rotated copies of ``path`` beside it, oldest first (one per rotation number or date,
    the uncompressed one when both exist)."""
    names = glob.glob(glob.escape(path) + ".*") + glob.glob(glob.escape(path) + "-*")
    by_key: dict[tuple[str | None, str | None], str] = {}
    for name in sorted(names, key=lambda n: (len(n), n)):
        match = ROTATED.match(name)
        if match is None or match["base"] != path or name == path:
            continue
        if not os.path.isfile(name):
            continue
        by_key.setdefault((match["n"], match["date"]), name)
    return order_rotated(list(by_key.values()))


def _fsspec(url: str) -> Any:  # noqa: ANN401 - the fsspec module
    try:
        import fsspec
    except ImportError:
        raise InputError(
            url, "reading URLs needs fsspec: pip install 'logscan-http[dask]'") from None
    return fsspec


def _expand_url(url: str) -> list[str]:
    fsspec = _fsspec(url)
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise InputError(url, f"cannot open this URL ({exc})") from None
    if glob.has_magic(path):
        found = sorted(fs.glob(path))
        if not found:
            raise InputError(url, "no file matches this pattern")
        return [fs.unstrip_protocol(p) for p in found]
    if not fs.exists(path):
        raise InputError(url, "no such file")
    return [url]
