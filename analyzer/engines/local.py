"""The local engine: the pipeline's units on every core of this machine, in bounded memory.

Byte ranges of plain files are read, parsed and summarised by worker threads on their own.
Whole sources (compressed files, stdin, URLs, resumed files) are read by a worker each when
there are at least as many as workers; otherwise, and always for stdin, they are read here and
their blocks parsed by all the workers. At most ``workers + 1`` units are queued or running and
a unit holds one block at a time, so memory does not grow with the input. Pieces are combined
in input order, which keeps line numbers exact and makes ``--strict`` stop at the first
rejected line.

Threads, not processes: measured on the 5,000,000-line benchmark log (2 cores), both use the
two cores equally (Arrow's kernels and the CSV tokenizer release the GIL), but worker processes
each carry their own copy of the interpreter and libraries (~110 MB) and a compressed file's
blocks would have to be copied to them.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from queue import Full, Queue

from ..parse.kernels import active_kernel
from ..pipeline import (
    Lines,
    Options,
    Piece,
    Read,
    Source,
    Tracked,
    Unit,
    UnitReader,
    combine,
    last_line,
    read_item,
    read_unit,
    split_block,
    take_head,
    unit_bytes,
    unit_items,
)
from ..sources.inputs import STDIN
from ..sources.items import Block, Problem
from ..summary.summary import Summary

ProgressCallback = Callable[[int, int], None]
# finished pieces are merged into the running total once they hold this many Summary rows, or
# a quarter of the total's: a compressed file gives a piece per block, and with the whole
# total's rows waiting the 20,000,000-line gzip log peaked 40-60 MB higher, in the same time
_COMPACT_ROWS = 100_000
_COMPACT_SHARE = 4

__all__ = ["default_workers", "run_local"]


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_local(
    units: Sequence[Unit],
    options: Options,
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> Piece:
    """The units' pieces combined in order (``--strict``: stops at the first rejected line).

    ``progress(done, total)`` is called with the input bytes read so far and in all (0 when
    unknown), from worker threads.
    """
    workers = workers or default_workers()
    advance = _Counter(sum(unit_bytes(u) for u in units), progress) if progress else None
    fold = _OrderedFold(workers + 1)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="logscan") as pool:
        try:
            whole = sum(1 for u in units if u.span is None and u.source.path != STDIN)
            for unit in units:
                if unit.span is not None or (whole >= workers and unit.source.path != STDIN):
                    fold.submit(pool, read_unit, unit, options, advance)
                else:
                    _stream(pool, fold, unit, options, advance, workers)
                if fold.stopped:
                    break
            piece = fold.result()
        finally:
            fold.cancel()
    _give_back_memory()
    return piece


def _give_back_memory() -> None:
    """Hand the blocks' freed memory back to the system before the caller goes on (a report
    is built next): Arrow's allocator and glibc's keep freed memory for reuse. Measured on the
    1,000,000-line benchmark log: peak 266 MB without, 248 MB with."""
    import ctypes

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


class _Counter:
    """Bytes read, told to the caller's progress callback (thread-safe)."""

    def __init__(self, total: int, progress: ProgressCallback) -> None:
        self.total = total
        self.done = 0
        self._progress = progress
        self._lock = threading.Lock()

    def __call__(self, count: int) -> None:
        with self._lock:
            self.done += count
            done = self.done
        self._progress(done, self.total)


def _stream(
    pool: ThreadPoolExecutor,
    fold: _OrderedFold,
    unit: Unit,
    options: Options,
    advance: Callable[[int], None] | None,
    workers: int,
) -> None:
    """A source read from its start (or offset) here; its blocks parsed on the pool."""
    items = Tracked(unit_items(unit, options, advance))
    reader = UnitReader(unit.source, options)
    lines = 0
    try:
        head = take_head(items) if unit.source.fmt is None else []
        reader.detect(head)
        if _shared_readers(options):
            lines = _to_readers(pool, fold, reader.source, itertools.chain(head, items), options,
                                workers)
        else:
            for item in head:
                lines += _queue(pool, fold, reader, item, options, workers)
            for item in items:
                lines += _queue(pool, fold, reader, item, options, workers)
                if fold.stopped:
                    return
    finally:
        items.close()
    reads: tuple[Read, ...] = ()
    if unit.resume is not None:
        reads = (Read(unit.resume.file, unit.resume.offset, items.end, lines),)
    if not lines or reads:  # an empty source is still listed; a resumed one says where it ended
        fold.submit(pool, lambda: UnitReader(reader.source, options).piece(reads=reads))


def _shared_readers(options: Options) -> bool:
    """Whether a stream's blocks go to a few long-lived readers (one per worker) instead of a
    Summary each: with the native kernel, a 4 MiB block's Summary cost several times its
    parsing (measured on the 5,000,000-line benchmark log, gzip: 250 Summaries, 15.4 CPU-s).
    Not for --strict (the first rejected line needs the blocks in order) nor for frames."""
    return active_kernel() == "native" and not options.strict and not options.keep_rows


def _to_readers(pool: ThreadPoolExecutor, fold: _OrderedFold, source: Source,
                items: Iterator[Block | Problem], options: Options, workers: int) -> int:
    """The stream's items parsed by ``workers`` readers that take them from a queue of at most
    ``workers`` items (memory stays a few blocks), each giving one piece; the lines read."""
    queue: Queue[Block | Problem | None] = Queue(maxsize=workers)
    readers: list[Future[Piece]] = []
    for _ in range(workers):
        fold.submit(pool, _read_queue, source, queue, options, limit=len(fold.pending) + 1)
        readers.append(fold.pending[-1])
    lines, next_line = 0, 1
    try:
        for item in items:
            if not _put(queue, item, readers):
                return lines  # the readers failed: the fold raises their error
            lines += item.lines if isinstance(item, Block) else 1
            next_line = last_line(item) + 1
    finally:
        for _ in readers:
            _put(queue, None, readers)
    # the readers' pieces come in any order of the lines: one more says where the source ended
    ended = {source.path: Lines(0, next_line)} if lines else {}
    fold.submit(pool, Piece, Summary.empty(max_keys=options.max_keys), ended)
    return lines


def _read_queue(source: Source, queue: Queue[Block | Problem | None], options: Options) -> Piece:
    reader = UnitReader(source, options)
    while (item := queue.get()) is not None:
        parts = split_block(item, options.block_size) if isinstance(item, Block) else [item]
        for part in parts:
            reader.add(reader.parse(part), last_line(part))
    return reader.piece()


def _put(queue: Queue[Block | Problem | None], item: Block | Problem | None,
         readers: list[Future[Piece]]) -> bool:
    """Queue an item; False when every reader has stopped (failed), so nothing would take it."""
    while True:
        try:
            queue.put(item, timeout=0.05)
            return True
        except Full:
            if all(r.done() for r in readers):
                return False


def _queue(pool: ThreadPoolExecutor, fold: _OrderedFold, reader: UnitReader,
           item: Block | object, options: Options, workers: int) -> int:
    # a queued stream block holds its bytes: no more queued than there are workers
    fold.submit(pool, read_item, reader.source, item, options, limit=workers)
    return item.lines if isinstance(item, Block) else 1


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
        self.done_rows += _rows(piece)
        if piece.strict is not None:
            self.stopped = True
        if self.done_rows >= max(_COMPACT_ROWS, self._merged_rows() // _COMPACT_SHARE):
            self._compact()

    def _merged_rows(self) -> int:
        return _rows(self.merged) if self.merged is not None else 0

    def _compact(self) -> None:
        pieces = ([self.merged] if self.merged is not None else []) + self.done
        if pieces:
            self.merged = combine(pieces)
        self.done, self.done_rows = [], 0

    def result(self) -> Piece:
        while self.pending and not self.stopped:
            self._take(self.pending.popleft().result())
        self._compact()
        if self.merged is None:
            from ..summary.summary import Summary

            return Piece(Summary.empty())
        return self.merged

    def cancel(self) -> None:
        for future in self.pending:
            future.cancel()


def _rows(piece: Piece) -> int:
    data = piece.data
    return data.num_rows if hasattr(data, "num_rows") else 0
