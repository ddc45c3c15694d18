"""Engines run the pipeline's units: ``local`` (every core of this machine, bounded memory) or
``dask`` (a Dask cluster: local by default, or a scheduler by address).

Both take the same units (:func:`analyzer.pipeline.plan`) and combine their pieces with the
same :func:`analyzer.pipeline.combine`, so they give the same Summary as one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import AnalyzerError
from ..formats.serverconfig import FormatChoice
from ..parse.kernels import active_kernel
from ..pipeline import RANGE_SIZE, Options, Piece, check_strict, plan
from .local import ProgressCallback, run_local

ENGINES = ("local", "dask")

__all__ = ["ENGINES", "ProgressCallback", "check_engine", "run"]


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise AnalyzerError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")


# the native kernel reads a range several times faster, and each range's Summary costs the same
# fixed ~25 ms of Arrow calls: larger ranges (measured on the 5,000,000-line benchmark log,
# 2 cores: 7.0 -> 6.3 CPU-s for 16 -> 64 MiB)
NATIVE_RANGE_SIZE = 64 << 20


def local_range_size() -> int:
    """The byte ranges the local engine cuts plain files into, for the active kernel."""
    return NATIVE_RANGE_SIZE if active_kernel() == "native" else RANGE_SIZE


def run(
    paths: Sequence[str],
    log_format: FormatChoice,
    options: Options,
    *,
    engine: str = "local",
    workers: int | None = None,
    scheduler: Any = None,
    progress: ProgressCallback | None = None,
    range_size: int | None = None,
) -> Piece:
    """The combined piece of the inputs (expanded, in reading order) on ``engine``;
    ``--strict``: the first rejected line raised."""
    check_engine(engine)
    if engine == "dask":
        from .dask import PARTITION_SIZE, run_dask

        units = plan(paths, log_format, range_size=range_size or PARTITION_SIZE)
        return check_strict(run_dask(units, options, scheduler=scheduler))
    units = plan(paths, log_format, range_size=range_size or local_range_size())
    return check_strict(run_local(units, options, workers=workers, progress=progress))
