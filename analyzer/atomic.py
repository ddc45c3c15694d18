"""Replacing files so that no reader ever sees one half written, and a crash leaves the old one.

Used for the scheduled runs' checkpoint, the report files they write, and Prometheus' textfile
collector (which reads every ``*.prom`` file at each scrape).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], text: str, mode: int = 0o644) -> None:
    """Replace a text file atomically: a temp file beside it, fsync, ``os.replace``."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            temp.unlink()
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def write_all(files: Sequence[tuple[str | os.PathLike[str], str]], mode: int = 0o644) -> None:
    """Replace several text files, none of them unless every one could be written: each is
    written to a temp file beside it and fsynced first, and only then are they renamed into
    place. An ``OSError`` names the file (``filename``) that could not be written."""
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in files:
            path = Path(name)
            staged.append((_stage(path, text, mode), path))
        for temp, path in staged:
            try:
                os.replace(temp, path)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        for temp, _ in staged:
            try:
                temp.unlink()
            except OSError:  # already renamed into place
                pass
        raise
    for directory in dict.fromkeys(path.parent for _, path in staged):
        fsync_dir(directory)


def _stage(path: Path, text: str, mode: int) -> Path:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
    return temp


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable."""
    try:
        fsync_file(path)
    except OSError:  # some file systems cannot fsync a directory
        pass
