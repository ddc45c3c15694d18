"""The parsing kernels on the neutral log, in one sitting: the read floor, the full JSON report
with the Arrow kernel and with the native kernel (plain and gzip input), and GoAccess, each the
median of several runs in fresh processes.

The log is the one ``../shared/bench/genlog.py`` writes (``--format apache-combined --seed
20240310``, see its README), generated on first use into ``--data`` (benchmarks/data/ by
default, which git ignores). Runs of the measurements are interleaved, so that a change in the
machine's load touches all of them; the CPU seconds (user and system of the process and its
children) are less sensitive to other load than the wall time, and are shown beside it.
GoAccess runs with ``--log-format=COMBINED``, its JSON report written to /dev/null, and
``--jobs`` set to the cores when its version has that option.

    python benchmarks/bench_kernel.py                          # 1,000,000 and 5,000,000 lines
    python benchmarks/bench_kernel.py --lines 20000000 --runs 3 --no-goaccess
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENLOG = HERE.parent.parent / "shared" / "bench" / "genlog.py"
SEED = "20240310"
FLOOR = """
import gzip, sys
path = sys.argv[1]
opened = gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb", buffering=0)
n = 0
with opened as f:
    while chunk := f.read(16 << 20):
        n += chunk.count(b"\\n")
print(n)
"""
LOGSCAN = [sys.executable, "-m", "analyzer", "--format", "json", "-o", os.devnull]


def neutral_log(lines: int, data: Path, gzipped: bool) -> Path:
    path = data / f"neutral-{lines}.log"
    if not path.exists():
        if not GENLOG.exists():
            sys.exit(f"Error: {GENLOG} is missing (the neutral log's generator, ../shared/bench)")
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(GENLOG), "--format", "apache-combined", "--lines",
                        str(lines), "--seed", SEED, "--out", str(path)], check=True)
    if not gzipped:
        return path
    packed = path.with_name(path.name + ".gz")
    if not packed.exists():
        print(f"compressing {packed} ...", file=sys.stderr, flush=True)
        with packed.open("wb") as out:
            subprocess.run(["gzip", "-6", "-c", str(path)], stdout=out, check=True)
    return packed


def goaccess() -> tuple[list[str], str] | None:
    """GoAccess's command (without the log) and its version, or None when not installed."""
    binary = shutil.which("goaccess")
    if binary is None:
        return None
    shown = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    version = re.search(r"GoAccess - ([\d.]+)", shown)
    name = version[1].rstrip(".") if version else "unknown"
    helps = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    jobs = [f"--jobs={os.cpu_count()}"] if "--jobs" in helps else []
    quiet = ["--no-progress"] if "--no-progress" in helps else []
    # GoAccess picks its output format from the file name: a .json name that is /dev/null
    sink = Path(tempfile.mkdtemp(prefix="bench-goaccess-")) / "report.json"
    sink.symlink_to(os.devnull)
    return [binary, "--log-format=COMBINED", *jobs, *quiet, "-o", str(sink)], name


def run_once(argv: list[str], kernel: str | None, path: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user and system) and peak RSS (MB) of one process."""
    env = dict(os.environ)
    if kernel:
        env["LOGSCAN_KERNEL"] = kernel
    started = time.perf_counter()
    process = subprocess.Popen([*argv, str(path)], stdout=subprocess.DEVNULL, env=env,
                               cwd=HERE.parent)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"Error: {' '.join(argv)} {path} exited with {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measurements(lines: int, data: Path, gzipped: bool, other: tuple[list[str], str] | None
                 ) -> list[tuple[str, list[str], str | None, Path]]:
    plain = neutral_log(lines, data, gzipped=False)
    found: list[tuple[str, list[str], str | None, Path]] = [
        ("read floor", [sys.executable, "-c", FLOOR], None, plain),
        ("logscan, arrow kernel", LOGSCAN, "arrow", plain),
        ("logscan, native kernel", LOGSCAN, "native", plain),
    ]
    if gzipped:
        packed = neutral_log(lines, data, gzipped=True)
        found += [("read floor, gzip", [sys.executable, "-c", FLOOR], None, packed),
                  ("logscan native, gzip", LOGSCAN, "native", packed)]
    if other is not None:
        found.append((f"GoAccess {other[1]}", other[0], None, plain))
    return found


def bench(lines: int, runs: int, data: Path, gzipped: bool,
          other: tuple[list[str], str] | None) -> None:
    chosen = measurements(lines, data, gzipped, other)
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, *_ in chosen}
    load = os.getloadavg()[0]
    for _ in range(runs):
        for name, argv, kernel, path in chosen:
            results[name].append(run_once(argv, kernel, path))
    size_mb = chosen[0][3].stat().st_size / 1e6
    print(f"\n{lines:,} lines ({size_mb:,.0f} MB), median of {runs}, {os.cpu_count()} cores, "
          f"load average {load:.1f} at the start and {os.getloadavg()[0]:.1f} at the end")
    print("| measurement | wall s (median; runs) | CPU s | lines/s | peak RSS |")
    print("|---|---|---|---|---|")
    for name, *_ in chosen:
        walls = [r[0] for r in results[name]]
        wall = statistics.median(walls)
        cpu = statistics.median(r[1] for r in results[name])
        peak = max(r[2] for r in results[name])
        shown = ", ".join(f"{w:.2f}" for w in walls)
        print(f"| {name} | {wall:.2f} ({shown}) | {cpu:.2f} | {lines / wall:,.0f} | "
              f"{peak:.0f} MB |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--no-gzip", action="store_true", help="skip the gzip measurements")
    parser.add_argument("--no-goaccess", action="store_true", help="skip GoAccess")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from analyzer.parse.kernels import native_available

    if not native_available():
        sys.exit("Error: the native kernel is not built in this install (see the README)")
    other = None if args.no_goaccess else goaccess()
    for lines in args.lines:
        bench(lines, args.runs, args.data, not args.no_gzip, other)


if __name__ == "__main__":
    main()
