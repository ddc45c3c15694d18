"""Generate a large, realistic combined access log for the benchmarks (not part of the tests).

The mix has what the analyzer looks for: mostly GET/POST traffic, 405 and 501 answers to PUT,
PATCH, DELETE and unknown tokens, 505 for HTTP/2.0 request lines, 400s with junk request lines,
escaped quotes, spaces in targets and a spread of user agents.

    python benchmarks/generate.py --lines 5000000 --out benchmarks/data/combined-5M.log
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)",
    "GitHub-Hookshot/5d3f0a1",
]
# (request template, status, weight): {n} is a running number, so targets are mostly distinct
_REQUESTS = [
    ("GET /articles/{n}?page=2 HTTP/1.1", 200, 700),
    ("GET /static/app.{n}.js HTTP/1.1", 304, 100),
    ("POST /api/items HTTP/1.1", 201, 60),
    ("HEAD / HTTP/1.1", 200, 20),
    ("GET /missing/{n} HTTP/1.1", 404, 40),
    ("PUT /api/items/{n} HTTP/1.1", 405, 10),
    ("PATCH /api/items/{n} HTTP/1.1", 501, 8),
    ("DELETE /api/items/{n} HTTP/1.1", 405, 6),
    ("PROPFIND / HTTP/1.1", 405, 3),
    ("FOO /{n} HTTP/1.1", 501, 3),
    ("GET / HTTP/2.0", 505, 3),
    ("GET /a\\\"b/{n} HTTP/1.1", 200, 1),
    ("GET /with space/{n} HTTP/1.1", 404, 1),
    ("\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03", 400, 2),
    ("-", 408, 1),
]


def generate(path: Path, lines: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    templates, statuses, weights = zip(*_REQUESTS, strict=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    batch: list[str] = []
    with path.open("w", encoding="ascii", newline="\n") as out:
        for n in range(lines):
            second = n // 60
            day, rest = divmod(second, 86400)
            stamp = f"{1 + day % 28:02d}/Oct/2025:{rest // 3600:02d}:{rest // 60 % 60:02d}:" \
                    f"{rest % 60:02d} +0200"
            pick = rng.choices(range(len(templates)), weights)[0]
            request = templates[pick].format(n=n)
            client = f"198.51.{n % 97}.{n % 251}"
            agent = _AGENTS[(n * 7 + pick) % len(_AGENTS)]
            size = "-" if statuses[pick] in (304, 408) else str(200 + n % 40000)
            batch.append(
                f'{client} - - [{stamp}] "{request}" {statuses[pick]} {size} '
                f'"https://example.org/ref/{n % 50}" "{agent}"\n'
            )
            if len(batch) == 100_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data/combined-5M.log"))
    args = parser.parse_args()
    generate(args.out, args.lines)


if __name__ == "__main__":
    main()
