"""The Dask engine: partitions over files and byte ranges, on a Dask cluster.

Each partition (a line-aligned byte range of a plain file, or a whole compressed file) is read
by the worker that runs it: no log bytes travel through the scheduler. Each is summarised, and
the Summaries are merged as an ordered tree (``split_every`` at a time) by the same
``Summary.merge`` that the local engine uses, so both give the same Report.

``scheduler`` is a ``distributed.Client``, the address of a running scheduler
(``tcp://host:8786``), or None for a local cluster in this process. Inputs may be fsspec URLs
(``s3://bucket/logs/*.gz``) when the matching fsspec backend is installed.

:func:`read_logs_dask` gives the canonical frame as a Dask DataFrame, one partition per unit.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from ..errors import AnalyzerError, MissingExtraError
from ..frame import ordered_columns, to_frame
from ..pipeline import (
    Options,
    Piece,
    Rows,
    Tracked,
    Unit,
    UnitReader,
    check_strict,
    combine,
    read_unit,
    shift_piece,
    take_head,
    unit_items,
)
from ..sources.inputs import opener_for
from ..sources.ranges import count_newlines, line_offset
from ..summary.summary import Summary

PARTITION_SIZE = 128 << 20
SPLIT_EVERY = 8

__all__ = ["PARTITION_SIZE", "read_logs_dask", "run_dask"]


def require() -> tuple[Any, Any]:
    """The dask and distributed modules, or a MissingExtraError that says how to install them."""
    try:
        import dask
        import distributed
    except ImportError:
        raise MissingExtraError("the dask engine", "dask") from None
    return dask, distributed


@contextlib.contextmanager
def connect(scheduler: Any = None) -> Iterator[Any]:
    """A ``distributed.Client``: the one given, one connected to an address, or a local
    cluster of threads in this process (closed on exit; a given client is left open)."""
    _, distributed = require()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler is None:
        from .local import default_workers

        # port 0: the scheduler's HTTP server takes any free port, so that runs side by side
        # neither collide on 8787 nor warn about it
        cluster = distributed.LocalCluster(
            n_workers=1, threads_per_worker=default_workers(), processes=False,
            dashboard_address=":0",
        )
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = distributed.Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise AnalyzerError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        yield client
    finally:
        client.close()


def run_dask(units: Sequence[Unit], options: Options, *, scheduler: Any = None) -> Piece:
    """The units' pieces, combined in order as a tree on a Dask cluster."""
    dask, _ = require()
    pieces = [dask.delayed(read_unit, pure=True)(unit, options) for unit in units]
    while len(pieces) > 1:
        pieces = [
            dask.delayed(combine, pure=True)(pieces[i : i + SPLIT_EVERY])
            for i in range(0, len(pieces), SPLIT_EVERY)
        ]
    if not pieces:
        return Piece(Summary.empty())
    with connect(scheduler) as client:
        piece: Piece = client.compute(pieces[0]).result()
    return piece


# -- the canonical frame as a Dask DataFrame ----------------------------------------------------

def read_logs_dask(
    units: Sequence[Unit],
    *,
    strict: bool = False,
    scheduler: Any = None,
) -> Any:
    """The canonical frame (DESIGN.md section 2) as a Dask DataFrame, one partition per unit.

    Line numbers are exact: the newlines of every range are counted first (on the cluster),
    which reads the plain files once more; compressed files are one partition each.
    """
    dask, _ = require()
    import dask.dataframe as dd

    if not units:
        raise AnalyzerError("no input to read")
    offsets = _line_offsets(units, scheduler)
    meta = _meta(units)
    options = Options(strict=strict, keep_rows=True)
    return dd.from_map(  # type: ignore[no-untyped-call]
        _frame_partition, units, offsets, meta=meta, options=options, columns_meta=meta,
        enforce_metadata=False,
    )


def _line_offsets(units: Sequence[Unit], scheduler: Any) -> list[int]:
    """Lines before each unit's first line, within its source."""
    dask, _ = require()
    spans = [u.span for u in units]
    counted = [i for i, u in enumerate(units) if u.span is not None and not u.span.last]
    counts: dict[int, int] = {}
    if counted:
        tasks = [dask.delayed(count_newlines, pure=True)(spans[i], opener=opener_for(
            units[i].source.path)) for i in counted]
        if scheduler is None:  # no cluster needed for a quick count: threads here
            results = list(dask.compute(*tasks, scheduler="threads"))
        else:
            with connect(scheduler) as client:
                results = client.compute(tasks, sync=True)
        counts = dict(zip(counted, results, strict=True))
    offsets: list[int] = []
    before: dict[str, list[int]] = {}
    for i, unit in enumerate(units):
        if unit.span is None:
            offsets.append(0)
            continue
        seen = before.setdefault(unit.source.path, [])
        offsets.append(line_offset(seen, unit.span))
        seen.append(counts.get(i, 0))
    return offsets


def _frame_partition(unit: Unit, offset: int, *, options: Options, columns_meta: pd.DataFrame
                     ) -> pd.DataFrame:
    piece = check_strict(shift_piece(read_unit(unit, options), {unit.source.path: offset}))
    assert isinstance(piece.data, Rows)
    frame = to_frame(list(piece.data.tables)) if piece.data.tables else columns_meta.iloc[:0]
    return _conform(frame, columns_meta)


def _meta(units: Sequence[Unit]) -> pd.DataFrame:
    """An empty frame with the columns and types of the inputs, from a sample of each."""
    from dask.dataframe.utils import clear_known_categories

    frames = []
    for unit in units:
        if unit.span is not None and unit.span.start > 0:
            continue  # a later range of a source already sampled
        frames.append(_sample(unit))
    columns: dict[str, Any] = {}
    for frame in frames:
        for name in frame.columns:
            columns.setdefault(name, frame[name].iloc[:0])
    meta = pd.DataFrame({name: columns[name] for name in ordered_columns(list(columns))})
    result: pd.DataFrame = clear_known_categories(meta)  # type: ignore[no-untyped-call]
    return result


def _sample(unit: Unit) -> pd.DataFrame:
    """The first parsed lines of a unit as an empty frame (its columns and their types)."""
    options = Options(block_size=1 << 16, keep_rows=True)
    reader = UnitReader(unit.source, options)
    items = Tracked(unit_items(unit, options))
    try:
        head = take_head(items) if unit.source.fmt is None else []
        reader.detect(head)
        for item in itertools.chain(head, items):
            parsed = reader.parse(item)
            if parsed.table.num_rows:
                return to_frame([(unit.source.path, parsed.table)]).iloc[:0]
    finally:
        items.close()
    return to_frame([]).iloc[:0]


def _conform(frame: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """The partition with the meta's columns, in order (absent ones all null)."""
    out = {}
    for name in meta.columns:
        if name in frame.columns:
            out[name] = frame[name]
        else:
            out[name] = pd.Series(pd.array([None] * len(frame), dtype=_nullable(meta[name])),
                                  index=frame.index)
    return pd.DataFrame(out, index=frame.index)


def _nullable(column: pd.Series) -> Any:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.CategoricalDtype()
    return dtype
