"""The canonical frame: reading whole logs into one typed pandas DataFrame.

``parse_log`` returns the frame together with the rejected lines and per-source counts;
``read_log`` returns just the frame. Both read blocks in parallel threads (Arrow releases the
GIL), in order, with a bounded number of blocks in flight.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from .errors import StrictModeError
from .formats import Detection, LogFormat, detect_format
from .formats.detect import SAMPLE_LINES
from .parse import REJECT_SCHEMA, ParsedBlock, parse_block, problem_block
from .sources import BLOCK_SIZE, Block, Problem, expand_inputs, iter_blocks

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

    def add(self, block: ParsedBlock) -> None:
        self.lines += block.lines
        self.parsed += block.table.num_rows
        self.rejected += block.rejects.num_rows


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


def iter_parsed(
    paths: Paths,
    log_format: str | LogFormat | None = None,
    *,
    strict: bool = False,
    block_size: int = BLOCK_SIZE,
    workers: int | None = None,
) -> Iterator[tuple[SourceStats, ParsedBlock]]:
    """Parsed blocks of every input, in order, each with its source's running stats."""
    fixed = LogFormat.resolve(log_format) if log_format is not None else None
    workers = workers or min(os.cpu_count() or 1, 8)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for path in expand_inputs(as_path_list(paths)):
            stats = SourceStats(path, fixed.describe() if fixed else "")
            for parsed in _parse_source(pool, path, fixed, stats, block_size, workers * 2):
                stats.add(parsed)
                if strict and parsed.rejects.num_rows:
                    first = parsed.rejects.slice(0, 1).to_pylist()[0]
                    raise StrictModeError(path, first["line"], first["reason"], first["text"])
                yield stats, parsed


def _parse_source(
    pool: ThreadPoolExecutor,
    path: str,
    fixed: LogFormat | None,
    stats: SourceStats,
    block_size: int,
    in_flight: int,
) -> Iterator[ParsedBlock]:
    items: Iterator[Block | Problem] = iter_blocks(path, block_size=block_size)
    fmt, fallbacks = fixed, ()
    if fmt is None:
        head = _head(items)
        detection = _detect(path, [b for b in head if isinstance(b, Block)])
        fmt, fallbacks = detection.format, detection.fallbacks
        stats.format, stats.detection = fmt.name, detection.describe()
        items = itertools.chain(head, items)
    pending: list[Future[ParsedBlock]] = []
    empty = True
    for item in items:
        empty = False
        if isinstance(item, Problem):
            pending.append(_done(problem_block(item)))
        else:
            pending.append(pool.submit(parse_block, item, fmt, fallbacks))
        while len(pending) >= in_flight:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()
    if empty:  # an empty input is still a source: 0 lines, 0 parsed, 0 rejected
        yield empty_block(path)


_SAMPLE_BYTES = 1 << 20


def _head(items: Iterator[Block | Problem]) -> list[Block | Problem]:
    """The first items of a source, enough for a detection sample (or all of a small one)."""
    head: list[Block | Problem] = []
    lines = size = 0
    for item in items:
        head.append(item)
        if isinstance(item, Block):
            lines, size = lines + item.lines, size + len(item.data)
        if lines >= 2 * SAMPLE_LINES or size >= _SAMPLE_BYTES:
            break
    return head


def _detect(path: str, blocks: list[Block]) -> Detection:
    data = b"".join(bytes(b.data[:_SAMPLE_BYTES]) for b in blocks)
    head = data[:_SAMPLE_BYTES].split(b"\n", 2 * SAMPLE_LINES)
    if len(data) > _SAMPLE_BYTES or len(head) > 2 * SAMPLE_LINES:
        head = head[:-1]  # the last piece may be part of a line
    sample = [line.decode("utf-8", "backslashreplace").rstrip("\r") for line in head]
    return detect_format(path, sample)


def empty_block(source: str) -> ParsedBlock:
    """What an empty input parses to: no rows, no rejects, 0 lines (but a source all the same)."""
    table = pa.table({"line": pa.array([], pa.int64())})
    return ParsedBlock(source, 0, table, REJECT_SCHEMA.empty_table())


def _done(value: ParsedBlock) -> Future[ParsedBlock]:
    future: Future[ParsedBlock] = Future()
    future.set_result(value)
    return future


def parse_log(
    paths: Paths,
    log_format: str | LogFormat | None = None,
    *,
    strict: bool = False,
    block_size: int = BLOCK_SIZE,
    workers: int | None = None,
) -> ParsedLog:
    """Parse whole inputs: the frame, the rejects and the per-source line accounting.

    ``log_format`` is a preset name, an Apache or NGINX format string, or a LogFormat; without
    it each input's format is detected from its first lines.
    """
    tables: list[pa.Table] = []
    rejects: list[pa.Table] = []
    sources: dict[str, SourceStats] = {}
    for stats, block in iter_parsed(paths, log_format, strict=strict, block_size=block_size,
                                    workers=workers):
        sources[stats.path] = stats
        tables.append(_with_source(block.table, block.source))
        rejects.append(_with_source(block.rejects, block.source))
    return ParsedLog(to_frame(tables), _reject_frame(rejects), list(sources.values()))


def read_log(
    paths: Paths, log_format: str | LogFormat | None = None, *, strict: bool = False
) -> pd.DataFrame:
    """The canonical frame of one or more logs (DESIGN.md section 2)."""
    return parse_log(paths, log_format, strict=strict).frame


read_logs = read_log


def _with_source(table: pa.Table, source: str) -> pa.Table:
    indices = pa.array([0] * table.num_rows, pa.int32())
    column = pa.DictionaryArray.from_arrays(indices, pa.array([source], pa.string()))
    return table.add_column(0, "source", column)


def to_frame(tables: list[pa.Table]) -> pd.DataFrame:
    """Blocks -> one DataFrame: canonical column order, categories, Arrow-backed strings."""
    tables = [t for t in tables if t.num_rows] or tables[:1]
    if not tables:
        return pd.DataFrame({"source": pd.Categorical([]), "line": pd.Series([], dtype="int64")})
    table = pa.concat_tables(tables, promote_options="permissive")
    table = table.select(_ordered(table.column_names))
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
    return frame


def _types_mapper(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    if arrow_type in (pa.string(), pa.large_string()):
        return pd.ArrowDtype(arrow_type)
    if arrow_type == pa.int64():
        return pd.Int64Dtype()
    if arrow_type == pa.int32():
        return pd.Int32Dtype()
    return None


def _ordered(names: list[str]) -> list[str]:
    first = [n for n in CANONICAL_ORDER if n in names]
    return first + [n for n in names if n not in first]


def _reject_frame(tables: list[pa.Table]) -> pd.DataFrame:
    schema = pa.schema([("source", pa.dictionary(pa.int32(), pa.string()))] + list(REJECT_SCHEMA))
    table = pa.concat_tables(tables).unify_dictionaries() if tables else schema.empty_table()
    frame = table.to_pandas(types_mapper=_types_mapper)
    frame["line"] = frame["line"].astype("int64")
    return frame
