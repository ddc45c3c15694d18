"""A one-pass reference for the engines: every input read whole, in order, on one thread."""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.engines import run
from analyzer.pipeline import Options
from analyzer.sources.inputs import expand_all
from analyzer.summary import Summary


def one_pass(paths: str | Sequence[str], **options: object) -> Summary:
    """The Summary of the inputs read as single units by one worker (no byte ranges)."""
    names = [paths] if isinstance(paths, str) else list(paths)
    piece = run(expand_all(names), options.pop("log_format", None), Options(**options),  # type: ignore[arg-type]
                workers=1, range_size=1 << 60)
    assert isinstance(piece.data, Summary)
    return piece.data


def summarize_with(paths: str | Sequence[str], *, engine: str = "local",
                   range_size: int | None = None, block_size: int | None = None,
                   workers: int | None = None, scheduler: object = None,
                   log_format: str | None = None, strict: bool = False,
                   max_keys: int | None = None) -> Summary:
    """The engines' Summary with units and blocks of the sizes given (small, to cut tiny logs
    into many units)."""
    from analyzer.engines import check_engine

    check_engine(engine)
    names = [paths] if isinstance(paths, str) else list(paths)
    options = Options(strict=strict, **({"block_size": block_size} if block_size else {}),
                      **({"max_keys": max_keys} if max_keys else {}))
    piece = run(expand_all(names), log_format, options, engine=engine, workers=workers,
                scheduler=scheduler, range_size=range_size)
    assert isinstance(piece.data, Summary)
    return piece.data
