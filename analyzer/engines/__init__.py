"""Engines compute the merged Summary of many inputs: ``local`` (every core of this machine,
bounded memory) or ``dask`` (a Dask cluster: local by default, or a scheduler by address).

Both cut the inputs into the same units (:mod:`analyzer.engines.units`) and combine the units'
Summaries with the same ``Summary.merge``, so they give the same Report as a single pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from ..errors import AnalyzerError
from ..formats import LogFormat
from ..frame import Paths, as_path_list
from ..progress import bar_for
from ..report import Report
from ..summary import Summary
from .units import UNIT_BLOCK_SIZE, Options, expand

ENGINES = ("local", "dask")

__all__ = ["ENGINES", "analyze", "read_logs", "summarize"]


def summarize(
    paths: Paths,
    *,
    engine: str = "local",
    log_format: str | LogFormat | None = None,
    client_field: str = "client",
    since: datetime | None = None,
    until: datetime | None = None,
    strict: bool = False,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
    block_size: int = UNIT_BLOCK_SIZE,
    range_size: int | None = None,
) -> Summary:
    """The merged Summary of the inputs (paths, globs, rotated sets, ``-``, fsspec URLs).

    ``progress``: a bar on stderr (None: when stderr is a terminal; local engine only).
    ``scheduler`` (dask): a ``distributed.Client``, a scheduler address, or None for a local
    cluster. ``range_size``: bytes per unit of a plain file (engine-specific default).
    """
    _check_engine(engine)
    inputs = expand(_inputs(paths))
    options = Options(client_field, since, until, strict, block_size)
    if engine == "dask":
        from .dask import PARTITION_SIZE, summarize_dask

        return summarize_dask(inputs, log_format, options, scheduler=scheduler,
                              range_size=range_size or PARTITION_SIZE)
    from .local import RANGE_SIZE, summarize_local

    return summarize_local(inputs, log_format, options, workers=workers,
                           progress=lambda total: bar_for(total, progress),
                           range_size=range_size or RANGE_SIZE)


def analyze(
    data: Paths | pd.DataFrame,
    *,
    engine: str = "local",
    log_format: str | LogFormat | None = None,
    server: str = "auto",
    client_field: str = "client",
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    strict: bool = False,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
) -> Report:
    """The Report of logs (paths, globs, rotated sets, ``-``, fsspec URLs) or of a canonical frame.

    Logs are streamed: each unit is parsed and summarised as it is read, so memory is bounded by
    the block size and the Summary, never by the size of the input. ``engine="local"`` uses
    every core (``workers`` threads); ``engine="dask"`` runs on ``scheduler`` (a
    ``distributed.Client``, an address, or None for a local cluster). ``server``,
    ``client_field``, ``since``/``until`` and ``strict`` are as for
    :func:`analyzer.analysis.analyze`, which gives the same Report from one thread.
    """
    from ..analysis import _bounds, _iso
    from ..analysis import analyze as analyze_frame
    from ..report import Window, build_report

    _check_engine(engine)
    if isinstance(data, pd.DataFrame):
        return analyze_frame(data, log_format=log_format, server=server,
                             client_field=client_field, since=since, until=until, strict=strict)
    start, end = _bounds(since, until)
    summary = summarize(data, engine=engine, log_format=log_format, client_field=client_field,
                        since=start, until=end, strict=strict, workers=workers,
                        scheduler=scheduler, progress=progress)
    return build_report(summary, server=server, window=Window(_iso(start), _iso(end)),
                        client_field=client_field)


def read_logs(
    paths: Paths,
    log_format: str | LogFormat | None = None,
    *,
    strict: bool = False,
    engine: str = "pandas",
    scheduler: Any = None,
    range_size: int | None = None,
) -> Any:
    """The canonical frame of the logs: a pandas DataFrame (``engine="pandas"``, as
    :func:`analyzer.read_log`), or a Dask DataFrame over files and byte ranges
    (``engine="dask"``, partitions read on the cluster; ``scheduler`` as for :func:`summarize`).
    """
    if engine == "dask":
        from .dask import PARTITION_SIZE, read_logs_dask

        return read_logs_dask(expand(_inputs(paths)), log_format, strict=strict,
                              scheduler=scheduler, range_size=range_size or PARTITION_SIZE)
    if engine not in ("pandas", "local"):
        raise AnalyzerError(f"unknown engine {engine!r}; choose one of: pandas, dask")
    from ..frame import read_log

    return read_log(paths, log_format, strict=strict)


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise AnalyzerError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")


def _inputs(paths: Paths) -> Sequence[str]:
    return as_path_list(paths)
