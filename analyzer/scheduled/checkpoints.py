"""Checkpoints for scheduled runs: read only the lines added since the last run.

Each input is remembered by its identity (device and inode, plus a fingerprint: a hash of its
first bytes, up to ``FINGERPRINT_SIZE``, and how many bytes it covers) and the offset and line
number reached. The next run finds out what happened to it:

* **appended**: same identity, not shorter than the offset: read on from the offset;
* **renamed away** (logrotate's default ``create``): the path holds a new file; the old one is
  found among the rotated names beside it (``access.log.1``, ``access.log.1.gz``,
  ``access.log-20250101``, ...) by its inode, or by the fingerprint of its (decompressed) first
  bytes, read to its end from the offset; rotated files newer than it (two rotations between
  runs) are read whole; then the new file from its start. A new file that got the old one's
  inode number (renamed, compressed, then created) is told apart by its birth time
  (:mod:`analyzer.scheduled.birth`) where the system keeps one;
* **copied and truncated** (``copytruncate``): same inode, but shorter than the offset or with
  other first bytes: the copy, when one is found by its fingerprint, is finished from the
  offset, then the file is read again from its start;
* **never seen**: read from its start.

A last line without its newline waits for the next run while a writer may be in the middle of
it; it is counted once its file is quiet (unchanged for ``QUIET_SECONDS``, or since the previous
run) or rotated away. Reading goes through the one pipeline (:mod:`analyzer.pipeline`): each
stretch to read is a unit that resumes at an offset. Nothing here writes the checkpoints:
:mod:`analyzer.scheduled.history` stores them with the run's Summary.
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, BinaryIO

from ..engines.local import run_local
from ..errors import InputError
from ..formats.serverconfig import FormatChoice, resolve_choice
from ..pipeline import Options, Resume, Unit, check_strict, source_for
from ..sources.codecs import read_head
from ..sources.inputs import ROTATED, check_name, open_raw, rotated_candidates
from ..summary.bounded import DEFAULT_MAX_KEYS
from ..summary.summary import Summary
from .birth import birth_ns

FINGERPRINT_SIZE = 1024
QUIET_SECONDS = 60  # a log unchanged this long has no writer in the middle of a line


@dataclass(frozen=True)
class Checkpoint:
    """Where reading of one input stopped, and how to recognise the file next time."""

    path: str
    dev: int
    ino: int
    fingerprint: str  # sha256 of the first fingerprint_size bytes, hex
    fingerprint_size: int
    offset: int  # content bytes consumed: everything before it is counted
    line: int  # the number of the next line
    size: int = 0  # of the file when this run read it (a tail beyond offset: a line unfinished)
    born: int | None = None  # birth time (ns) where the system keeps one: tells a reused inode

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        return cls(
            path=str(data["path"]), dev=int(data["dev"]), ino=int(data["ino"]),
            fingerprint=str(data["fingerprint"]), fingerprint_size=int(data["fingerprint_size"]),
            offset=int(data["offset"]), line=int(data["line"]), size=int(data.get("size", 0)),
            born=None if data.get("born") is None else int(data["born"]),
        )


@dataclass(frozen=True)
class Segment:
    """One stretch of one file that this run reads."""

    file: str
    from_offset: int
    first_line: int
    final: bool  # the file can no longer grow: read its last line even without a newline
    to_offset: int = 0
    lines: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "from_offset": self.from_offset, "to_offset": self.to_offset,
                "lines": self.lines}


@dataclass(frozen=True)
class SourceRun:
    """What one run read of one input (the ``run.sources`` entries of the report)."""

    path: str
    from_offset: int  # where the previous run stopped (in the file it was reading then)
    to_offset: int  # where this run stopped, in the file now at ``path``
    new_lines: int
    rotated: bool
    truncated: bool
    segments: tuple[Segment, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path, "from_offset": self.from_offset, "to_offset": self.to_offset,
            "new_lines": self.new_lines, "rotated": self.rotated, "truncated": self.truncated,
            "segments": [s.to_dict() for s in self.segments],
        }
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class NewLines:
    """The result of reading what was added: its Summary, per-input accounts, new checkpoints."""

    summary: Summary
    sources: tuple[SourceRun, ...]
    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)

    @property
    def new_lines(self) -> int:
        return sum(s.new_lines for s in self.sources)


@dataclass(frozen=True)
class _Plan:
    segments: tuple[Segment, ...]
    rotated: bool = False
    truncated: bool = False
    note: str | None = None


def expand_live(inputs: Sequence[str], known: Iterable[str] = ()) -> list[str]:
    """The live logs named by ``inputs`` (paths or globs; never stdin), without rotated copies.

    A glob such as ``/var/log/apache2/*access.log`` names several live logs; their rotated
    copies are found by each run itself, so a glob that also matches them (``access.log*``)
    keeps only the live file. A path in ``known`` (read by an earlier run) may be missing for a
    while: rotated away, not created again yet.
    """
    remembered = set(known)
    paths: list[str] = []
    for item in inputs:
        if item == "-":
            raise InputError(item, "scheduled reports read files, not stdin")
        matches = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not matches:
            raise InputError(item, "no file matches this pattern")
        paths.extend(matches)
    unique = list(dict.fromkeys(os.path.abspath(p) for p in paths))
    live = set(unique)
    kept = []
    for path in unique:
        match = ROTATED.match(path)
        assert match is not None
        if match["base"] != path and match["base"] in live:
            continue  # a rotated copy of a live log that is also named
        kept.append(path)
    for path in kept:
        if not (path in remembered and not os.path.lexists(path)):
            _check_file(path)
    return kept


def _check_file(path: str) -> None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "not a regular file; give the log files (or a glob)")
    if not os.access(path, os.R_OK):
        raise InputError(path, "permission denied")
    check_name(path)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_new(
    paths: Sequence[str],
    checkpoints: Mapping[str, Checkpoint],
    log_format: FormatChoice = None,
    *,
    strict: bool = False,
    workers: int | None = None,
    max_keys: int = DEFAULT_MAX_KEYS,
) -> NewLines:
    """Read the lines added to each input since ``checkpoints``; nothing is written."""
    fixed = resolve_choice(log_format)
    plans = [(path, checkpoints.get(path), _plan_input(path, checkpoints.get(path)))
             for path in paths]
    units = [Unit(source_for(path, order, fixed, read_from=s.file),
                  resume=Resume(s.file, s.from_offset, s.first_line, s.final))
             for order, (path, _, plan) in enumerate(plans) for s in plan.segments]
    piece = check_strict(run_local(units, Options(strict=strict, max_keys=max_keys),
                                   workers=workers))
    assert isinstance(piece.data, Summary)
    reads = iter(piece.reads)
    runs: list[SourceRun] = []
    new_checkpoints: dict[str, Checkpoint] = {}
    for path, saved, plan in plans:
        done = [replace(s, to_offset=r.end, lines=r.lines)
                for s, r in zip(plan.segments, reads, strict=False)]
        runs.append(_source_run(path, saved, plan, done))
        checkpoint = _identify(path, done[-1]) if done else saved
        if checkpoint is not None:
            new_checkpoints[path] = checkpoint
    return NewLines(piece.data, tuple(runs), new_checkpoints)


def _plan_input(path: str, saved: Checkpoint | None) -> _Plan:
    try:
        live: BinaryIO | None = open_raw(path)
    except InputError:
        if saved is None or os.path.exists(path):
            raise
        live = None  # rotated away and not created again (yet): finish the old file
    if live is None:
        assert saved is not None
        return _plan_gone(path, saved)
    with live:
        return _plan(path, live, saved)


def _source_run(path: str, saved: Checkpoint | None, plan: _Plan, done: list[Segment]
                ) -> SourceRun:
    return SourceRun(
        path,
        from_offset=saved.offset if saved else 0,
        to_offset=done[-1].to_offset if done else (saved.offset if saved else 0),
        new_lines=sum(s.lines for s in done),
        rotated=plan.rotated,
        truncated=plan.truncated,
        segments=tuple(done),
        note=plan.note,
    )


def _identify(path: str, last: Segment) -> Checkpoint:
    """The checkpoint after reading ``last``: the identity of its file and where it stopped
    (the file at ``path``, or the rotated file read last when ``path`` is missing)."""
    with open_raw(last.file) as handle:
        info = os.fstat(handle.fileno())
        born = birth_ns(handle.fileno())
        head = read_head(last.file, min(FINGERPRINT_SIZE, last.to_offset), handle)
    return Checkpoint(path, info.st_dev, info.st_ino, digest(head), len(head), last.to_offset,
                      last.first_line + last.lines, info.st_size, born)


# -- what to read -------------------------------------------------------------------------------


def _plan(path: str, live: BinaryIO, saved: Checkpoint | None) -> _Plan:
    info = os.fstat(live.fileno())
    quiet = time.time() - info.st_mtime >= QUIET_SECONDS
    fresh = Segment(path, 0, 1, final=quiet)
    if saved is None:
        return _Plan((fresh,))
    same_file = _same_file(info, birth_ns(live.fileno()), saved)
    same_start = _fingerprint_matches(read_head(path, saved.fingerprint_size, live), saved)
    long_enough = info.st_size >= saved.offset
    unchanged = quiet or info.st_size == saved.size
    if same_file and same_start and long_enough:
        return _Plan((Segment(path, saved.offset, saved.line, final=unchanged),))
    found = _find_rotated(path, saved)
    if found is not None:
        old, newer = found
        segments = [Segment(old, saved.offset, saved.line, final=True)]
        segments += [Segment(f, 0, 1, final=True) for f in newer]
        return _Plan((*segments, fresh), rotated=not same_file, truncated=same_file)
    if not same_file and same_start and long_enough and saved.fingerprint_size:
        # the same content under a new inode (copied back, restored): read on
        return _Plan((Segment(path, saved.offset, saved.line, final=unchanged),))
    if same_file:
        return _Plan((fresh,), truncated=True)
    lost = f"the previous file was not found beside {path}; lines added to it after offset " \
           f"{saved.offset} are not counted"
    return _Plan((fresh,), rotated=True, note=lost)


def _same_file(info: os.stat_result, born: int | None, saved: Checkpoint) -> bool:
    """The file at the path is the one the checkpoint names: same device and inode, and (where
    both birth times are known) born at the same time, since a rotation that compresses before
    it creates the new log often hands the new file the old one's inode number."""
    if (info.st_dev, info.st_ino) != (saved.dev, saved.ino):
        return False
    return born is None or saved.born is None or born == saved.born


def _plan_gone(path: str, saved: Checkpoint) -> _Plan:
    """Nothing at ``path``: finish the file it was, and any rotated after it."""
    found = _find_rotated(path, saved)
    if found is None:
        return _Plan((), rotated=True, note=f"{path} is missing, and so is the file it was")
    old, newer = found
    segments = [Segment(old, saved.offset, saved.line, final=True)]
    segments += [Segment(f, 0, 1, final=True) for f in newer]
    return _Plan(tuple(segments), rotated=True,
                 note=f"{path} is missing (rotated, not created again yet)")


def _fingerprint_matches(head: bytes, saved: Checkpoint) -> bool:
    return len(head) == saved.fingerprint_size and digest(head) == saved.fingerprint


def _find_rotated(path: str, saved: Checkpoint) -> tuple[str, list[str]] | None:
    """The rotated file that was at ``path`` at the last run, and the rotated files newer than
    it (read whole), or None."""
    candidates = rotated_candidates(path)
    newest_first = list(reversed(candidates))
    match = None
    for name in newest_first:  # the same inode and first bytes: renamed, still plain
        try:
            info = os.stat(name)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == (saved.dev, saved.ino) and _head_matches(name, saved):
            match = name
            break
    if match is None and saved.fingerprint_size:  # copied, or compressed after the rename
        match = next((n for n in newest_first if _head_matches(n, saved)), None)
    if match is None:
        return None
    return match, candidates[candidates.index(match) + 1 :]


def _head_matches(name: str, saved: Checkpoint) -> bool:
    try:
        head = read_head(name, saved.fingerprint_size)
    except (InputError, OSError):
        return False
    return _fingerprint_matches(head, saved)
