"""The canonical frame (DESIGN.md section 2): the pipeline keeping every column of every row.

``read_log`` returns the frame; ``parse_log`` returns it together with the rejected lines and
the per-source line accounting. Both read the same units as every other front end, so the same
input gives the same lines, formats and line numbers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import pyarrow as pa

from .formats import LogFormat
from .formats.serverconfig import ConfigPaths, with_server_config
from .parse.block import REJECT_SCHEMA
from .pipeline import Options, Rows

# DESIGN.md section 2: canonical columns first, in this order; other columns follow
CANONICAL_ORDER = (
    "source", "line", "client", "user", "time", "request", "method", "target", "protocol",
    "status", "bytes", "referer", "user_agent", "vhost", "port", "duration", "allow",
)
CATEGORY_COLUMNS = ("source", "method", "protocol", "vhost")
Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


@dataclass
class SourceStats:
    """Line accounting for one input: ``lines == parsed + rejected``, always."""

    path: str
    format: str
    detection: str | None = None
    lines: int = 0
    parsed: int = 0
    rejected: int = 0


@dataclass
class ParsedLog:
    """A parsed log: the canonical frame, the rejected lines, and per-source accounting."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    sources: list[SourceStats] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(s.lines for s in self.sources)

    @property
    def parsed(self) -> int:
        return sum(s.parsed for s in self.sources)

    @property
    def rejected(self) -> int:
        return sum(s.rejected for s in self.sources)


def as_path_list(paths: Paths) -> list[str]:
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def parse_log(
    paths: Paths,
    log_format: str | LogFormat | None = None,
    *,
    strict: bool = False,
    workers: int | None = None,
    block_size: int | None = None,
    server_config: ConfigPaths = None,
) -> ParsedLog:
    """Parse whole inputs: the frame, the rejects and the per-source line accounting.

    ``log_format`` is a preset name, an Apache or NGINX format string, or a LogFormat; without
    it each input's format is detected from its first lines. ``server_config``: NGINX or Apache
    configuration files (a path or a list); each input gets the format of the directive that
    writes it, the others ``log_format`` or detection. ``block_size``: bytes parsed at once
    (memory per worker thread).
    """
    from .engines import run
    from .sources.inputs import expand_all

    options = Options(strict=strict, keep_rows=True)
    if block_size:
        options = replace(options, block_size=block_size)
    formats = with_server_config(log_format, server_config)
    piece = run(expand_all(as_path_list(paths)), formats, options, workers=workers)
    assert isinstance(piece.data, Rows)
    rows = piece.data
    sources = [_stats(path, rows, piece.lines[path].count if path in piece.lines else 0)
               for path in rows.formats]
    return ParsedLog(to_frame(list(rows.tables)), _reject_frame(list(rows.rejects)), sources)


def _stats(path: str, rows: Rows, lines: int) -> SourceStats:
    name, detection = rows.formats[path]
    parsed = sum(t.num_rows for s, t in rows.tables if s == path)
    rejected = sum(t.num_rows for s, t in rows.rejects if s == path)
    return SourceStats(path, name, detection, lines, parsed, rejected)


def read_log(
    paths: Paths,
    log_format: str | LogFormat | None = None,
    *,
    strict: bool = False,
    engine: str = "local",
    scheduler: Any = None,
    range_size: int | None = None,
    server_config: ConfigPaths = None,
) -> pd.DataFrame:
    """The canonical frame of one or more logs (paths, globs, rotated sets, ``-``, URLs).

    ``log_format`` and ``server_config`` are as for :func:`analyzer.analyze`: a preset name, a
    format string or a LogFormat; NGINX or Apache configuration files whose directives give
    the inputs they write their formats. Without either, formats are detected.
    ``engine="dask"`` gives a Dask DataFrame instead, one partition per unit, read on
    ``scheduler`` (a ``distributed.Client``, an address, or None for a local cluster);
    ``range_size``: bytes of a plain file per partition.
    """
    from .engines import check_engine

    check_engine(engine)
    if engine == "dask":
        from .engines.dask import PARTITION_SIZE, read_logs_dask
        from .pipeline import plan
        from .sources.inputs import expand_all

        units = plan(expand_all(as_path_list(paths)),
                     with_server_config(log_format, server_config),
                     range_size=range_size or PARTITION_SIZE)
        result: pd.DataFrame = read_logs_dask(units, strict=strict, scheduler=scheduler)
        return result
    return parse_log(paths, log_format, strict=strict, server_config=server_config).frame


def _with_source(source: str, table: pa.Table) -> pa.Table:
    indices = pa.array([0] * table.num_rows, pa.int32())
    column = pa.DictionaryArray.from_arrays(indices, pa.array([source], pa.string()))
    return table.add_column(0, "source", column)


def to_frame(blocks: list[tuple[str, pa.Table]]) -> pd.DataFrame:
    """Blocks of sources -> one DataFrame: canonical column order, categories, Arrow-backed
    strings."""
    tables = [_with_source(s, t) for s, t in blocks if t.num_rows] or [
        _with_source(s, t) for s, t in blocks[:1]]
    if not tables:
        return pd.DataFrame({"source": pd.Categorical([]), "line": pd.Series([], dtype="int64")})
    table = pa.concat_tables(tables, promote_options="permissive")
    table = table.select(ordered_columns(table.column_names))
    for name in CATEGORY_COLUMNS:
        if name in table.column_names and not pa.types.is_dictionary(table.schema.field(name).type):
            index = table.column_names.index(name)
            table = table.set_column(index, name, table.column(name).dictionary_encode())
    table = table.unify_dictionaries()
    frame = table.to_pandas(types_mapper=_types_mapper, split_blocks=True, self_destruct=True)
    frame["line"] = frame["line"].astype("int64")  # never null
    for name in ("bytes",):
        if name in frame:
            frame[name] = frame[name].astype("Int64")
    if "port" in frame:
        frame["port"] = frame["port"].astype("Int32")
    result: pd.DataFrame = frame
    return result


def _types_mapper(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    if arrow_type in (pa.string(), pa.large_string()):
        return pd.ArrowDtype(arrow_type)
    if arrow_type == pa.int64():
        return pd.Int64Dtype()
    if arrow_type == pa.int32():
        return pd.Int32Dtype()
    return None


def ordered_columns(names: list[str]) -> list[str]:
    first = [n for n in CANONICAL_ORDER if n in names]
    return first + [n for n in names if n not in first]


def _reject_frame(blocks: list[tuple[str, pa.Table]]) -> pd.DataFrame:
    schema = pa.schema([("source", pa.dictionary(pa.int32(), pa.string()))] + list(REJECT_SCHEMA))
    tables = [_with_source(s, t) for s, t in blocks]
    table = pa.concat_tables(tables).unify_dictionaries() if tables else schema.empty_table()
    frame = table.to_pandas(types_mapper=_types_mapper)
    frame["line"] = frame["line"].astype("int64")
    result: pd.DataFrame = frame
    return result
