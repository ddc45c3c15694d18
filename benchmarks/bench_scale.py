"""Scale: the whole `logscan FILE --format json` report against input size, beside baselines
measured in the same run.

Each measurement runs in a fresh process; its wall time and the peak memory of its whole process
tree (sum of RSS over the processes, sampled every 50 ms, and the kernel's ru_maxrss of the
largest one) are recorded. With ``--repeat N`` the fastest and slowest of N runs are shown
(lines/s and MB/s from the fastest), and the memory is the largest of all N:

* floor        reading the file in 16 MiB blocks and counting lines (no parsing)
* logscan      `logscan FILE --format json` (the default local engine: all cores, streaming)
* logscan-gz   the same on the gzip version of the file (decompressed with isal when installed)
* goaccess     `goaccess FILE --log-format=COMBINED -o report.json` (when installed; run once
  whatever ``--repeat`` says)
* threads / processes (--compare): the Summary alone, by the local engine's threads and by a
  pool of worker processes that each read their own byte ranges

    python benchmarks/bench_scale.py                          # 1M, 5M and 20M lines
    python benchmarks/bench_scale.py --lines 5000000 --gzip --goaccess
    python benchmarks/bench_scale.py --engine dask --lines 1000000

Logs are generated on first use into benchmarks/data/ (git-ignored; 20M lines is 3.5 GB). The
analyzer package is byte-compiled first, as an installed one is: a checkout run with
PYTHONDONTWRITEBYTECODE would otherwise compile it at every start (about 0.1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from bench_parse import FLOOR
from generate import generate

DATA = Path(__file__).parent / "data"

# threads (the local engine) against worker processes over the same units: Summary only
_THREADS = """
import sys
from analyzer import summarize
print(summarize(sys.argv[1]).requests)
"""
_PROCESSES = """
import sys
from concurrent.futures import ProcessPoolExecutor
from analyzer.engines.local import default_workers
from analyzer.pipeline import Options, check_strict, combine, plan, read_unit
from analyzer.sources.inputs import expand_all
units = plan(expand_all([sys.argv[1]]), None)
with ProcessPoolExecutor(default_workers()) as pool:  # each worker reads its own byte ranges
    pieces = list(pool.map(read_unit, units, [Options()] * len(units)))
print(check_strict(combine(pieces)).data.requests)
"""


def measure(argv: list[str], *, repeat: int = 1) -> dict[str, object]:
    """``repeat`` runs: the fastest and slowest wall seconds (and every run's), and the peak
    tree RSS and largest ru_maxrss (MB) of all of them: a memory bound holds on every run."""
    runs = [_run(argv) for _ in range(repeat)]
    return {
        "seconds": min(r["seconds"] for r in runs),
        "slowest": max(r["seconds"] for r in runs),
        "runs": [round(r["seconds"], 3) for r in runs],
        "peak_tree_rss_mb": max(r["peak_tree_rss_mb"] for r in runs),
        "max_rss_mb": max(r["max_rss_mb"] for r in runs),
    }


def _run(argv: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    # stdin closed: GoAccess reads a piped stdin as more log; stderr to a file, not a pipe
    # that nobody reads while it runs (GoAccess writes progress there, and would block)
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=errors)
    root = psutil.Process(proc.pid)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        total = 0
        try:
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            members = []
        for member in members:
            try:
                total += member.memory_info().rss
            except psutil.Error:
                pass
        peak = max(peak, total)
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        errors.seek(0)
        raise SystemExit(f"{argv[:4]} failed: {errors.read().decode()[-2000:]}")
    errors.close()
    return {"seconds": seconds, "peak_tree_rss_mb": peak / 2**20,
            "max_rss_mb": usage.ru_maxrss / 1024}


def log_for(lines: int) -> Path:
    path = DATA / f"combined-{lines}.log"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        generate(path, lines)
    return path


def gzip_of(path: Path) -> Path:
    packed = path.with_suffix(".log.gz")
    if not packed.exists():
        print(f"compressing {packed} ...", file=sys.stderr, flush=True)
        try:
            from isal import igzip as gzip_module  # much faster than gzip at level 6
        except ImportError:  # pragma: no cover
            import gzip as gzip_module
        temporary = packed.with_suffix(".tmp")
        with path.open("rb") as raw, gzip_module.open(temporary, "wb") as out:
            shutil.copyfileobj(raw, out, 16 << 20)
        temporary.rename(packed)
    return packed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="*",
                        default=[1_000_000, 5_000_000, 20_000_000])
    parser.add_argument("--gzip", action="store_true", help="also the gzip version of each log")
    parser.add_argument("--goaccess", action="store_true", help="also GoAccess, when installed")
    parser.add_argument("--engine", default="local", choices=["local", "dask"])
    parser.add_argument("--compare", action="store_true",
                        help="also the Summary alone by threads and by worker processes")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per measurement (fastest and slowest shown)")
    parser.add_argument("--out", type=Path, default=DATA / "scale.json")
    args = parser.parse_args()

    import analyzer

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(analyzer.__file__).parent)],
                   check=True, stdout=subprocess.DEVNULL)
    logscan = [sys.executable, "-m", "analyzer", "--format", "json", "--no-progress",
               "--engine", args.engine]
    results = []
    header = (f"{'log':<26} {'measurement':<12} {'fastest':>8} {'slowest':>8} {'lines/s':>12} "
              f"{'MB/s':>7} {'tree RSS MB':>11} {'max RSS MB':>10}")
    print(header)
    for lines in args.lines:
        path = log_for(lines)
        size_mb = path.stat().st_size / 1e6
        runs = [("floor", path, [sys.executable, "-c", FLOOR, str(path)]),
                ("logscan", path, [*logscan, str(path)])]
        if args.gzip:
            packed = gzip_of(path)
            runs.append(("logscan-gz", packed, [*logscan, str(packed)]))
        if args.compare:
            runs.append(("threads", path, [sys.executable, "-c", _THREADS, str(path)]))
            runs.append(("processes", path, [sys.executable, "-c", _PROCESSES, str(path)]))
        if args.goaccess and shutil.which("goaccess"):
            out = Path(tempfile.mkdtemp()) / "report.json"
            runs.append(("goaccess", path, ["goaccess", str(path), "--log-format=COMBINED",
                                            "-o", str(out)]))
        for name, source, argv in runs:
            # GoAccess runs once: at 40x logscan's time, run-to-run drift does not matter
            result = measure(argv, repeat=1 if name == "goaccess" else args.repeat)
            seconds = result["seconds"]
            row = {"log": path.name, "lines": lines, "input": source.name, "name": name,
                   "size_mb": size_mb, **result}
            results.append(row)
            print(f"{source.name:<26} {name:<12} {seconds:>8.2f} {result['slowest']:>8.2f} "
                  f"{lines / seconds:>12,.0f} {size_mb / seconds:>7.0f} "
                  f"{result['peak_tree_rss_mb']:>11.0f} {result['max_rss_mb']:>10.0f}",
                  flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
