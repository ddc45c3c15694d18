"""The library's entry points: logs (or a frame) in, a Summary or a Report out.

Logs are streamed through the one pipeline (:mod:`analyzer.pipeline`): each unit is parsed and
summarised as it is read, so memory is bounded by the block size and the Summary, never by the
size of the input; verdicts are computed once, from the merged Summary.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from .engines import ProgressCallback, run
from .errors import AnalyzerError
from .formats import LogFormat
from .formats.serverconfig import ConfigPaths, with_server_config
from .frame import Paths, as_path_list
from .pipeline import Options
from .report.build import build_report
from .report.model import Report, Window
from .sources.inputs import expand_all
from .summary.bounded import DEFAULT_MAX_KEYS
from .summary.summary import Summary
from .timewindow import bounds, iso

__all__ = ["analyze", "summarize"]


def summarize(
    data: Paths | pd.DataFrame,
    *,
    log_format: str | LogFormat | None = None,
    client_field: str = "client",
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    strict: bool = False,
    engine: str = "local",
    workers: int | None = None,
    scheduler: Any = None,
    progress: ProgressCallback | None = None,
    server_config: ConfigPaths = None,
    max_keys: int = DEFAULT_MAX_KEYS,
) -> Summary:
    """The merged Summary of logs (paths, globs, rotated sets, ``-``, fsspec URLs) or of a
    canonical frame.

    ``engine="local"`` uses every core (``workers`` threads); ``engine="dask"`` runs on
    ``scheduler`` (a ``distributed.Client``, an address, or None for a local cluster).
    ``progress(done, total)`` is called with the input bytes read (local engine).
    ``server_config``: NGINX or Apache configuration files (a path or a list); each input gets
    the format of the directive that writes it, the others ``log_format`` or detection.
    ``max_keys`` is K: every part keyed by a value clients write (method, protocol, vhost,
    client, user agent...) keeps exact counts for the K busiest keys of each group and folds
    the rest into exact remainders (see the README's "Hostile volume"); it must be at least 1.
    """
    _check_keys(max_keys)
    start, end = bounds(since, until)
    if isinstance(data, pd.DataFrame):
        return Summary.from_frame(data, client_field=client_field, since=start, until=end,
                                  max_keys=max_keys)
    options = Options(client_field, start, end, strict, max_keys=max_keys)
    formats = with_server_config(log_format, server_config)
    piece = run(expand_all(as_path_list(data)), formats, options, engine=engine,
                workers=workers, scheduler=scheduler, progress=progress)
    assert isinstance(piece.data, Summary)
    return piece.data


def analyze(
    data: Paths | pd.DataFrame,
    *,
    log_format: str | LogFormat | None = None,
    server: str = "auto",
    client_field: str = "client",
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    strict: bool = False,
    engine: str = "local",
    workers: int | None = None,
    scheduler: Any = None,
    progress: ProgressCallback | None = None,
    server_config: ConfigPaths = None,
    max_keys: int = DEFAULT_MAX_KEYS,
) -> Report:
    """The Report of logs or of a canonical frame.

    ``server`` is ``apache``, ``nginx`` or ``auto`` (from the format, else from the statuses);
    ``client_field`` picks the client identity (``client``, ``x-forwarded-for``, or any
    column); ``since``/``until`` keep requests with ``since <= time < until``: ISO dates or
    times, or durations before now (``24h``, ``7d``, ``1w2d``). The rest is as for
    :func:`summarize`; every list of the Report names at most ``max_keys`` entries (and at most
    :data:`analyzer.report.build.LISTED`), and says how many more there are.
    """
    start, end = bounds(since, until)
    summary = summarize(data, log_format=log_format, client_field=client_field, since=start,
                        until=end, strict=strict, engine=engine, workers=workers,
                        scheduler=scheduler, progress=progress, server_config=server_config,
                        max_keys=max_keys)
    return build_report(summary, server=server, window=Window(iso(start), iso(end)),
                        client_field=client_field)


def _check_keys(max_keys: int) -> None:
    if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
        raise AnalyzerError(f"max_keys must be a whole number of at least 1, not {max_keys!r}")
