"""Helpers for the scheduled-report tests: tiny combined-format logs with known contents."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from click.testing import CliRunner, Result

from analyzer.cli.app import main


def line(i: int, method: str = "GET", status: int = 200, client: str | None = None) -> bytes:
    """One combined-format line; ``i`` makes it unique (and sets the minute)."""
    address = client or f"10.0.{i // 250}.{i % 250 + 1}"
    minute = i % 60
    return (
        f'{address} - - [22/Nov/2026:10:{minute:02d}:00 +0000] "{method} /r/{i} HTTP/1.1" '
        f'{status} 12 "-" "curl/8.5.0"\n'
    ).encode()


def lines(start: int, stop: int, **kwargs: object) -> bytes:
    return b"".join(line(i, **kwargs) for i in range(start, stop))  # type: ignore[arg-type]


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def rotate(path: Path, *, compress: bool = False) -> None:
    """logrotate's default: rename ``path`` to ``path.1`` (shifting older ones), optionally
    compress it, and create an empty ``path``."""
    directory, name = path.parent, path.name
    numbered = sorted(
        (p for p in directory.iterdir() if p.name.startswith(name + ".")),
        key=lambda p: int(p.name[len(name) + 1 :].split(".")[0]),
        reverse=True,
    )
    for old in numbered:
        number, _, suffix = old.name[len(name) + 1 :].partition(".")
        os.rename(old, directory / f"{name}.{int(number) + 1}{'.' + suffix if suffix else ''}")
    os.rename(path, directory / f"{name}.1")
    path.write_bytes(b"")  # logrotate's "create" comes before the compression
    if compress:
        compress_file(directory / f"{name}.1")


def compress_file(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    return target


def copytruncate(path: Path) -> None:
    """logrotate's copytruncate: copy to ``path.1``, then truncate ``path`` in place."""
    (path.parent / f"{path.name}.1").write_bytes(path.read_bytes())
    with open(path, "r+b") as handle:
        handle.truncate(0)


def sample_log(folder: Path) -> Path:
    """A log of eight lines: six GETs, a FOO answered 501 and a PROPFIND answered 405."""
    path = folder / "access.log"
    path.write_bytes(lines(0, 6) + line(6, "FOO", 501, client="192.0.2.7")
                     + line(7, "PROPFIND", 405, client="192.0.2.8"))
    return path


def report(runner: CliRunner, *args: str | Path) -> Result:
    """``logscan report ARGS --log-format combined``."""
    return runner.invoke(main, ["report", *map(str, args), "--log-format", "combined"])
