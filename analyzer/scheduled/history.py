"""The state of scheduled reports: checkpoints and a Parquet history of run Summaries.

Layout of a state directory (created 0700)::

    STATE/
      lock                                  flock'ed by the run in progress
      checkpoint.json                       the commit record (see below)
      history/day=YYYY-MM-DD/RUN.parquet    each run's Summary (Summary.to_arrow() + "run")
      totals/RUN.parquet                    request counts of every committed run (cumulative)

``checkpoint.json`` names the committed runs, the offsets reached in each input, and the
totals file. A run writes its Parquet files first, then replaces the checkpoint atomically
(temporary file, fsync, ``os.replace``, fsync of the directory): that replacement is the
commit. A run killed before it leaves files that no checkpoint names; readers ignore them and
the next run deletes them, and reads the same lines again from the old offsets, so nothing is
lost or counted twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import fsync_dir, fsync_file, write_atomic
from ..errors import StateError, StateLockedError
from ..summary.summary import Summary
from .checkpoints import Checkpoint

STATE_SCHEMA = "logscan.state/1"
CHECKPOINT = "checkpoint.json"
LOCK = "lock"
HISTORY = "history"
TOTALS = "totals"
# how to recover from a damaged or missing stored file
_RECOVER = ("restore it from a backup, or move the state directory away to start over (the "
            "next run reads the logs from their start)")


@dataclass(frozen=True)
class RunRecord:
    """One committed run: when it ran and how many lines it read."""

    id: str
    started: datetime
    finished: datetime
    new_lines: int

    @property
    def day(self) -> str:
        return self.finished.astimezone(UTC).strftime("%Y-%m-%d")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "day": self.day, "started": self.started.isoformat(),
                "finished": self.finished.isoformat(), "new_lines": self.new_lines}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        return cls(str(data["id"]), datetime.fromisoformat(data["started"]),
                   datetime.fromisoformat(data["finished"]), int(data["new_lines"]))


@dataclass(frozen=True)
class State:
    """What the checkpoint file says: offsets per input, committed runs, the totals file."""

    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)
    runs: tuple[RunRecord, ...] = ()
    totals: str | None = None  # the run id whose totals file is current

    @property
    def run_ids(self) -> set[str]:
        return {r.id for r in self.runs}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": STATE_SCHEMA,
            "sources": {p: c.to_dict() for p, c in self.checkpoints.items()},
            "runs": [r.to_dict() for r in self.runs],
            "totals": self.totals,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        if data.get("schema") != STATE_SCHEMA:
            raise ValueError(f"not a {STATE_SCHEMA} checkpoint")
        return cls(
            {p: Checkpoint.from_dict(c) for p, c in data.get("sources", {}).items()},
            tuple(RunRecord.from_dict(r) for r in data.get("runs", [])),
            data.get("totals"),
        )


def new_run_id(started: datetime) -> str:
    return f"{started.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"


class StateStore:
    """One state directory. Use :meth:`locked` around everything that reads or commits."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    # -- the lock -----------------------------------------------------------------------------
    @contextmanager
    def locked(self, wait: float = 0.0) -> Iterator[StateStore]:
        """Hold the state's lock; wait up to ``wait`` seconds for another run to finish."""
        self._create()
        try:
            fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(str(self.directory),
                             f"cannot open the lock ({exc.strerror})") from None
        try:
            deadline = time.monotonic() + max(wait, 0.0)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise StateLockedError(str(self.directory)) from None
                    time.sleep(min(0.05, left))
            try:
                yield self
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _create(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(str(self.directory), f"cannot create ({exc.strerror})") from None
        if not self.directory.is_dir():
            raise StateError(str(self.directory), "not a directory")

    # -- reading ------------------------------------------------------------------------------
    def load(self) -> State:
        path = self.directory / CHECKPOINT
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return State()
        except OSError as exc:
            raise StateError(str(self.directory), f"cannot read {CHECKPOINT} ({exc.strerror})") \
                from None
        try:
            state = State.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StateError(str(self.directory), f"{CHECKPOINT} is damaged ({exc}); move it away "
                             "to start over") from None
        if state.totals is not None and state.totals not in state.run_ids:
            raise StateError(str(self.directory), f"{CHECKPOINT} is damaged (its totals name run "
                             f"{state.totals}, which it does not list); move it away to start "
                             "over")
        return state

    def verify(self, state: State) -> None:
        """Every file the checkpoint names exists (call it holding the lock: a run that commits
        meanwhile replaces the totals file)."""
        for run in state.runs:
            self._check_exists(self._history_path(run), f"run {run.id}")
        if state.totals is not None:
            self._check_exists(self._totals_path(state.totals), f"the totals of run {state.totals}")

    def _history_path(self, run: RunRecord) -> Path:
        return self.directory / HISTORY / f"day={run.day}" / f"{run.id}.parquet"

    def _totals_path(self, run_id: str) -> Path:
        return self.directory / TOTALS / f"{run_id}.parquet"

    def _check_exists(self, path: Path, what: str) -> None:
        if not path.is_file():
            name = path.relative_to(self.directory)
            raise StateError(str(self.directory), f"{name} is missing, but {CHECKPOINT} names "
                             f"{what}; {_RECOVER}")

    def _read_parquet(self, path: Path, what: str) -> pa.Table:
        """A stored Parquet file, or a StateError naming it."""
        self._check_exists(path, what)
        try:
            return pq.read_table(path)
        except (OSError, pa.ArrowException):
            name = path.relative_to(self.directory)
            raise StateError(str(self.directory), f"{name} is damaged (not a readable Parquet "
                             f"file); {_RECOVER}") from None

    def summary(self, runs: Iterable[RunRecord]) -> Summary:
        """The merged Summary of the given committed runs."""
        pieces = list(self.run_summaries(runs).values())
        return Summary.merge_all(pieces) if pieces else Summary.empty()

    def run_summaries(self, runs: Iterable[RunRecord]) -> dict[str, Summary]:
        """The stored Summary of each of the given committed runs, by run id.

        Only the runs asked for are read, so the Parquet files of other runs (the orphans of a
        killed run) never count. A run that read nothing stores no rows and is left out.
        """
        pieces: dict[str, Summary] = {}
        for run in sorted(runs, key=lambda r: r.id):
            path = self._history_path(run)
            table = self._read_parquet(path, f"run {run.id}")
            if table.num_rows:
                pieces[run.id] = self._summary(table, path)
        return pieces

    def _summary(self, table: pa.Table, path: Path) -> Summary:
        try:
            return Summary.from_arrow(table)
        except (KeyError, ValueError, TypeError, pa.ArrowException):
            name = path.relative_to(self.directory)
            raise StateError(str(self.directory), f"{name} is damaged (not a stored Summary); "
                             f"{_RECOVER}") from None

    def totals(self, state: State) -> Summary:
        """The Summary of every committed run."""
        if state.totals is None:
            return Summary.empty()
        path = self._totals_path(state.totals)
        return self._summary(self._read_parquet(path, f"the totals of run {state.totals}"), path)

    # -- committing ---------------------------------------------------------------------------
    def commit(
        self,
        state: State,
        run: RunRecord,
        summary: Summary,
        checkpoints: Mapping[str, Checkpoint],
        totals: Summary,
    ) -> State:
        """Store a run: its Summary, the new totals, then (the commit) the checkpoint."""
        history = summary.to_arrow()
        history = history.append_column("run", pa.array([run.id] * history.num_rows, pa.string()))
        write_parquet(history, self.directory / HISTORY / f"day={run.day}" / f"{run.id}.parquet")
        write_parquet(totals.to_arrow(), self.directory / TOTALS / f"{run.id}.parquet")
        new = replace(
            state,
            checkpoints={**state.checkpoints, **checkpoints},
            runs=(*state.runs, run),
            totals=run.id,
        )
        write_checkpoint(self.directory / CHECKPOINT, new.to_dict())
        self.clean(new)
        return new

    def clean(self, state: State) -> list[Path]:
        """Delete what no checkpoint names: orphans of killed runs, replaced totals, temp files."""
        removed: list[Path] = []
        committed = state.run_ids
        for path in (self.directory / HISTORY).glob("day=*/*"):
            if path.name.startswith(".") or path.stem not in committed:
                removed.append(path)
        for path in (self.directory / TOTALS).glob("*"):
            if path.name.startswith(".") or path.stem != state.totals:
                removed.append(path)
        removed += [p for p in self.directory.glob(f".{CHECKPOINT}.*")]
        for path in removed:
            try:
                path.unlink()
            except OSError:
                pass
        for day in (self.directory / HISTORY).glob("day=*"):
            try:
                day.rmdir()  # only when empty
            except OSError:
                pass
        return removed


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write a Parquet file whole or not at all (temp file, fsync, rename)."""
    for directory in reversed([path.parent, *path.parent.parents]):
        if not directory.is_dir():
            directory.mkdir(mode=0o700, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, temp)
    fsync_file(temp)
    os.replace(temp, path)
    fsync_dir(path.parent)


def write_checkpoint(path: Path, data: Mapping[str, Any]) -> None:
    """Replace the checkpoint atomically: after a crash it is the old one or the new one."""
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n", mode=0o600)
