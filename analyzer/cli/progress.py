"""A progress line on stderr for long inputs: bytes read of the total, redrawn in place.

Shown only when stderr is a terminal (and not turned off); a hand-written ``\\r`` line, so no
dependency. Safe to call from several threads.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

_MIN_TOTAL = 64 << 20  # smaller inputs are read too fast for a bar to help
_INTERVAL = 0.2
_WIDTH = 30


class ProgressBar:
    """``update(done)`` as bytes are read; ``close()`` clears the line."""

    def __init__(self, total: int, stream: TextIO | None = None, *, label: str = "reading"
                 ) -> None:
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._drawn = 0.0
        self._shown = False

    def update(self, done: int) -> None:
        with self._lock:
            self.done = max(self.done, done)
            now = time.monotonic()
            if now - self._drawn >= _INTERVAL:
                self._drawn = now
                self._draw(now)

    def line(self, now: float | None = None) -> str:
        elapsed = (now if now is not None else time.monotonic()) - self._started
        done = min(self.done, self.total) if self.total else self.done
        rate = done / elapsed / 1e6 if elapsed > 0 else 0.0
        if not self.total:
            return f"{self.label} {done / 1e6:,.0f} MB  {rate:,.0f} MB/s"
        share = done / self.total
        filled = int(share * _WIDTH)
        bar = "#" * filled + "-" * (_WIDTH - filled)
        return (f"{self.label} [{bar}] {share:4.0%}  {done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB"
                f"  {rate:,.0f} MB/s")

    def _draw(self, now: float) -> None:
        self.stream.write("\r" + self.line(now) + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        with self._lock:
            if self._shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._shown = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wanted(enabled: bool | None, stream: TextIO | None = None) -> bool:
    """Whether to show progress: ``enabled`` if given, else when the stream is a terminal."""
    if enabled is not None:
        return enabled
    stream = stream if stream is not None else sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def progress_bar(enabled: bool | None) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback ``(done, total)`` that draws a bar on stderr, when one is wanted
    and the input is long enough (None otherwise); the bar is cleared on exit."""
    if not wanted(enabled):
        yield None
        return
    bars: list[ProgressBar] = []
    lock = threading.Lock()

    def advance(done: int, total: int) -> None:
        with lock:
            if not bars:
                if enabled is None and 0 < total < _MIN_TOTAL:
                    return
                bars.append(ProgressBar(total))
        bars[0].update(done)

    try:
        yield advance
    finally:
        for bar in bars:
            bar.close()
