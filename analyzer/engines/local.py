"""The local engine: every core of this machine, memory bounded by the block size.

Plain files are cut into line-aligned byte ranges that worker threads read, parse and
summarise on their own. Compressed files are decompressed in parallel with each other (one per
worker) when there are at least as many as workers; otherwise they, and stdin, are read by the
calling thread and their blocks parsed by all the workers. At most ``workers + 1`` units are
queued or running, and a unit holds one block at a time, so memory does not grow with the
input. Pieces are combined in input order (:func:`analyzer.engines.units.combine_many`),
which keeps line numbers exact and makes ``--strict`` stop at the first rejected line.

Threads, not processes: measured on the 5,000,000-line benchmark log (2 cores), both use the
two cores equally (Arrow's kernels and the CSV tokenizer release the GIL), but worker processes
each carry their own copy of the interpreter and libraries (~110 MB) and a compressed file's
blocks would have to be copied to them; see the README's Speed section.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from ..formats import LogFormat
from ..progress import ProgressBar
from ..ranges import renumber
from ..sources import STDIN, Block, Problem
from ..summary import Summary
from .units import (
    RANGE_SIZE,
    Options,
    Piece,
    Source,
    Summarizer,
    Unit,
    combine_many,
    finish,
    opener_for,
    plan,
    split_block,
    stream_blocks,
    summarize_unit,
    unit_bytes,
)

_COMPACT_ROWS = 100_000
# finished pieces are merged into the running total once they hold a quarter of its rows: a
# compressed file gives a piece per 4 MiB block, and with the whole total's rows waiting
# (twice the memory of the total) the 20,000,000-line gzip log peaked at 419-438 MB, against
# 354-400 MB with a quarter, in the same time (an eighth measured no lower)
_COMPACT_SHARE = 4
# A worker back from an Arrow kernel waits for the GIL while another runs Python between its
# kernels; a shorter switch interval (5 ms by default) hands it over sooner. Measured on the
# 5,000,000-line log, eight runs each: 1.75 cores used on average with 5 ms, 1.80 with 0.5 ms.
_SWITCH_INTERVAL = 0.0005
_STREAM_BLOCKS = 1  # a stream is read in parse blocks, each handed to a worker (2 peaked 56 MB
# higher on the 20M-line gzip log, at the same speed)
__all__ = ["RANGE_SIZE", "default_workers", "summarize_local"]


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def summarize_local(
    paths: Sequence[str],
    log_format: str | LogFormat | None,
    options: Options,
    *,
    workers: int | None = None,
    progress: Callable[[int], ProgressBar | None] | None = None,
    range_size: int = RANGE_SIZE,
) -> Summary:
    """The merged Summary of the inputs (``paths`` already expanded, in reading order)."""
    workers = workers or default_workers()
    _tune_malloc()
    units = plan(paths, log_format, range_size=range_size, split=True)
    bar = progress(sum(unit_bytes(u) for u in units)) if progress is not None else None
    advance = bar.advance if bar is not None else None
    fold = _OrderedFold(workers + 1)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_INTERVAL)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="logscan") as pool:
            try:
                # compressed files: one per worker when there are enough to go round (each
                # worker decompresses its own), else decompressed here and parsed by them all
                streams = sum(1 for u in units if u.span is None and u.source.path != STDIN)
                whole = streams >= workers
                for unit in units:
                    if unit.span is not None or (whole and unit.source.path != STDIN):
                        fold.submit(pool, summarize_unit, unit, options, advance)
                    else:
                        _stream(pool, fold, unit, options, advance, workers)
                    if fold.stopped:
                        break
                piece = fold.result()
            finally:
                fold.cancel()
    finally:
        sys.setswitchinterval(switch)
        if bar is not None:
            bar.close()
    _release_memory()
    return finish(piece)


# glibc's mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
_MMAP_THRESHOLD = 64 << 20  # above any block buffer
_TRIM_THRESHOLD = 32 << 20


def _tune_malloc() -> None:
    """Block-sized buffers reused from glibc's heap, in at most two arenas.

    By default glibc gives each 4 MiB block buffer fresh pages from the kernel (mmap) and
    hands them back when it is freed, so that every block faults in and zeroes 1,024 new
    pages. Kept on the heap instead (mmap threshold above the block size; free memory beyond
    32 MiB still trimmed), the 5,000,000-line log took half the page faults (240,000-277,000
    down to 115,000-135,000) and 0.3-0.6 s less system time, for about 10 MB more peak
    memory. The rest is given back at the end of the run (_release_memory). The settings are
    the process's and stay after the run (a notebook that analyses again gains from them too).

    By default each thread would also get an arena of its own, each keeping the freed buffers
    it once held: on the 20,000,000-line log the peak was 395 MB with them and 375 MB with two
    shared arenas, and the run was no slower.
    """
    libc = _glibc()
    if libc is None:  # pragma: no cover - not glibc
        return
    libc.mallopt(_M_ARENA_MAX, 2)
    libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def _release_memory() -> None:
    """Give the blocks' memory back to the system before the report is built: Arrow's
    allocator and glibc's keep freed memory for reuse, and the report would add to it."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _glibc() -> Any:  # noqa: ANN401 - a ctypes library handle
    """The C library when it is glibc (mallopt and malloc_trim are glibc's), else None."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both must exist
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None
    return libc


def _stream(
    pool: ThreadPoolExecutor,
    fold: _OrderedFold,
    unit: Unit,
    options: Options,
    advance: Callable[[int], None] | None,
    workers: int,
) -> None:
    """A source read from its start here; its blocks parsed and summarised on the pool."""
    items = stream_blocks(unit.source.path, opener=opener_for(unit.source.path),
                          block_size=options.block_size * _STREAM_BLOCKS, progress=advance)
    summarizer = Summarizer(unit.source, options)
    head: list[Block | Problem] = []
    if unit.source.fmt is None:
        from ..frame import _head

        head = _head(items)
        summarizer.detect(head)
    source = summarizer.source
    consumed, empty = 0, True
    try:
        for item in _chained(head, items):
            empty = False
            relative = renumber(item, -consumed)  # pieces count lines from their own start
            consumed += item.lines if isinstance(item, Block) else 1
            # a queued stream block holds its bytes: no more queued than there are workers
            fold.submit(pool, _summarize_item, source, relative, options,
                        limit=workers)
            if fold.stopped:
                return
    finally:
        items.close()
    if empty:  # an empty source is still listed, with 0 lines
        fold.submit(pool, lambda: summarizer.piece())


def _chained(head: list[Block | Problem], rest):  # noqa: ANN001, ANN202 - an iterator
    yield from head
    yield from rest


def _summarize_item(source: Source, item: Block | Problem, options: Options) -> Piece:
    """One block read by the calling thread, parsed in pieces of the block size."""
    summarizer = Summarizer(source, options)
    parts = split_block(item, options.block_size) if isinstance(item, Block) else [item]
    for part in parts:
        summarizer.add(summarizer.parse(part))
    return summarizer.piece()


class _OrderedFold:
    """Futures combined in submission order, with at most ``limit`` queued or running."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending: deque[Future[Piece]] = deque()
        self.done: list[Piece] = []
        self.done_rows = 0
        self.merged: Piece | None = None
        self.stopped = False  # --strict: a rejected line was found; later units are not needed

    def submit(self, pool: ThreadPoolExecutor, fn: Callable[..., Piece], *args: object,
               limit: int | None = None) -> None:
        while True:
            running = [f for f in self.pending if not f.done()]
            if len(running) < (limit or self.limit):
                break
            wait(running, return_when=FIRST_COMPLETED)
            self._drain()
        self.pending.append(pool.submit(fn, *args))
        self._drain()

    def _drain(self) -> None:
        while self.pending and self.pending[0].done():
            self._take(self.pending.popleft().result())

    def _take(self, piece: Piece) -> None:
        self.done.append(piece)
        self.done_rows += piece.summary.num_rows
        if piece.strict is not None:
            self.stopped = True
        if self.done_rows >= max(_COMPACT_ROWS, self._merged_rows() // _COMPACT_SHARE):
            self._compact()

    def _merged_rows(self) -> int:
        return self.merged.summary.num_rows if self.merged is not None else 0

    def _compact(self) -> None:
        pieces = ([self.merged] if self.merged is not None else []) + self.done
        self.merged = combine_many(pieces)
        self.done, self.done_rows = [], 0

    def result(self) -> Piece:
        while self.pending and not self.stopped:
            self._take(self.pending.popleft().result())
        self._compact()
        assert self.merged is not None
        return self.merged

    def cancel(self) -> None:
        for future in self.pending:
            future.cancel()
