"""Differential mutation fuzzing of the native kernel against the Arrow path.

Blocks of log lines taken from the shipped samples (and ../shared/real_logs when present) are
mutated byte by byte (flips, the bytes that matter to a parser inserted or deleted, cuts,
splices of two lines, runs repeated) and parsed by both kernels with every preset format; the
tables and rejects must be equal and the kernel must raise nothing. Runs for a given time and
prints what it did; the first difference found is written to a file and ends the run.

    python native/fuzz.py --seconds 300
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.formats import PRESETS  # noqa: E402
from analyzer.parse.block import parse_block  # noqa: E402
from analyzer.parse.kernels import native_available  # noqa: E402
from analyzer.sources.items import Block  # noqa: E402
from analyzer.summary.parts import summary_columns  # noqa: E402

SPECIAL = [b'"', b"\\", b" ", b"\x00", b"\r", b"\t", b"-", b":", b"[", b"]", b"/", b"\xff",
           b"\xc3", b"\xe2\x82", b"\\x22", b'\\"', b"  ", b"%", b"?", b"HTTP/1.1", b"0", b"9"]


def _format_of(name: str) -> str:
    if name == "apache_vhost_allow.log":
        return "logscan_vhost"
    if name == "nginx_timed.log":
        return "logscan_timed"
    if "vhost" in name:
        return "vhost_combined"
    if "xff" in name:
        return "nginx_main"
    return "nginx_combined" if "nginx" in name else "combined"


def corpus() -> dict[str, list[bytes]]:
    """Lines of the samples and real logs, by the preset that reads them."""
    by_format: dict[str, list[bytes]] = {}
    paths = sorted((REPO / "sample_logs").glob("*.log"))
    real = REPO.parent / "shared" / "real_logs"
    if real.is_dir():
        paths += sorted(real.glob("*.log"))
    for path in paths:
        lines = [line + b"\n" for line in path.read_bytes().splitlines()[:2000]]
        by_format.setdefault(_format_of(path.name), []).extend(lines)
    return by_format


def mutate(rng: random.Random, line: bytes, lines: list[bytes]) -> bytes:
    data = bytearray(line.rstrip(b"\n"))
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(data))
        kind = rng.randrange(6)
        if kind == 0 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif kind == 1:
            data[at:at] = rng.choice(SPECIAL)
        elif kind == 2:
            del data[at : at + rng.randint(1, 8)]
        elif kind == 3:
            del data[at:]
        elif kind == 4:
            other = rng.choice(lines).rstrip(b"\n")
            data[at:] = other[rng.randint(0, len(other)) :]
        else:
            data[at:at] = data[at : at + rng.randint(1, 6)] * rng.randint(2, 200)
    return bytes(data).replace(b"\n", b"") + (b"\r\n" if rng.random() < 0.05 else b"\n")


def parsed(block: Block, name: str, kernel: str, columns: object, in_order: bool) -> object:
    os.environ["LOGSCAN_KERNEL"] = kernel
    return parse_block(block, PRESETS[name], (), columns, in_line_order=in_order)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not native_available():
        sys.exit("Error: the native kernel is not built in this install")
    rng = random.Random(args.seed)
    by_format = corpus()
    lines = [line for group in by_format.values() for line in group]
    names = sorted(by_format)
    blocks = total_lines = rejected = 0
    started = time.monotonic()
    while time.monotonic() - started < args.seconds:
        name = rng.choice(names)
        own = by_format[name]
        picked = [rng.choice(own if rng.random() < 0.9 else lines)
                  for _ in range(rng.randint(1, 200))]
        chosen = [mutate(rng, line, lines) if rng.random() < 0.5 else line for line in picked]
        block = Block.of("fuzz.log", 1, b"".join(chosen))
        columns, in_order = rng.choice([(None, True), (summary_columns(), False)])
        arrow = parsed(block, name, "arrow", columns, in_order)
        native = parsed(block, name, "native", columns, in_order)
        # rows out of line order (a Summary's) may come in any order
        same = (native.table.schema == arrow.table.schema  # type: ignore[attr-defined]
                and native.table.sort_by("line").equals(  # type: ignore[attr-defined]
                    arrow.table.sort_by("line"))  # type: ignore[attr-defined]
                and native.rejects.equals(arrow.rejects))  # type: ignore[attr-defined]
        if not same:
            out = Path(f"fuzz-difference-{name}.log")
            out.write_bytes(block.data)
            sys.exit(f"difference with {name}: block written to {out}")
        blocks += 1
        total_lines += block.lines
        rejected += arrow.rejects.num_rows  # type: ignore[attr-defined]
    elapsed = time.monotonic() - started
    print(f"{blocks:,} blocks, {total_lines:,} lines ({rejected:,} rejected) in {elapsed:.0f} s: "
          "no difference, no error")


if __name__ == "__main__":
    main()
