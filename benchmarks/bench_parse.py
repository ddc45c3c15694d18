"""Parse speed and peak memory, beside baselines measured in the same run.

Each measurement runs in a fresh Python process so that its peak RSS is its own:

* floor        reading the file in 16 MiB blocks and counting lines (no parsing)
* python-re    a plain-Python parser: one compiled combined-log regex per line (the usual way)
* read_log     analyzer.read_log -> typed pandas DataFrame
* cli-json     `logscan FILE --format json` (the whole command)

    python benchmarks/bench_parse.py                  # 5M lines, generated on first use
    python benchmarks/bench_parse.py --lines 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from generate import generate

#: the floor every benchmark reports beside its measurements: read the file, count its lines
FLOOR = """
import sys
n = 0
with open(sys.argv[1], "rb", buffering=0) as f:
    while chunk := f.read(16 << 20):
        n += chunk.count(b"\\n")
print(n)
"""
_PYTHON_RE = r"""
import re, sys
pattern = re.compile(
    r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) '
    r'"((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$')
rows = bad = 0
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    for line in f:
        m = pattern.match(line.rstrip("\n"))
        if m:
            rows += 1
            m.groups()
        else:
            bad += 1
print(rows, bad)
"""
_READ_LOG = """
import sys, analyzer
frame = analyzer.read_log(sys.argv[1])
print(len(frame))
"""


def measure(name: str, argv: list[str], path: Path) -> dict[str, float | str]:
    """Run one measurement in its own process; wall time and the child's peak RSS."""
    wrapper = (
        "import resource, runpy, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "elapsed = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(elapsed, peak)\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *argv, str(path)], check=True,
                         capture_output=True, text=True).stdout.split()
    return {"name": name, "seconds": float(out[0]), "peak_rss_mb": float(out[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--skip", nargs="*", default=[], help="measurements to leave out")
    args = parser.parse_args()
    path = args.data / f"combined-{args.lines}.log"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr)
        generate(path, args.lines)
    size_mb = path.stat().st_size / 1e6
    runs = {
        "floor": [sys.executable, "-c", FLOOR],
        "python-re": [sys.executable, "-c", _PYTHON_RE],
        "read_log": [sys.executable, "-c", _READ_LOG],
        "cli-json": [sys.executable, "-m", "analyzer", "--format", "json"],
    }
    results = []
    print(f"{path.name}: {args.lines:,} lines, {size_mb:,.0f} MB")
    print(f"{'measurement':<12} {'seconds':>8} {'lines/s':>12} {'MB/s':>8} {'peak RSS MB':>12}")
    for name, argv in runs.items():
        if name in args.skip:
            continue
        started = time.perf_counter()
        result = measure(name, argv, path)
        result["wall"] = time.perf_counter() - started
        results.append(result)
        seconds = float(result["seconds"])
        print(f"{name:<12} {seconds:>8.2f} {args.lines / seconds:>12,.0f} "
              f"{size_mb / seconds:>8.1f} {float(result['peak_rss_mb']):>12.0f}", flush=True)
    (args.data / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
