"""What the command reads: globs expanded here so that files a glob matched by accident (the
``.manifest.csv`` beside a log) are skipped with a warning, and inputs whose format no known
preset fits are set aside as error sources while the others are still reported.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from ..errors import FormatDetectionError
from ..report.model import Report

#: Suffixes of files that sit beside logs but are not logs. Only files a glob matched are
#: skipped: a file named on its own is always read.
NOT_LOGS = frozenset({".csv", ".tsv", ".json", ".md", ".html", ".htm", ".py", ".sh", ".parquet",
                      ".sha256", ".sha512", ".md5", ".asc", ".sig", ".pid", ".lock", ".prom"})


@dataclass
class Inputs:
    paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why), warnings
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, error), not read


def expand(patterns: Sequence[str]) -> Inputs:
    """Local globs expanded (URLs, ``-`` and plain names are left to the library, which checks
    them); matches with a suffix in :data:`NOT_LOGS` skipped."""
    out = Inputs([])
    for item in patterns:
        if "://" in item or not glob.has_magic(item):
            out.paths.append(item)
            continue
        matches = sorted(glob.glob(item))
        logs = [m for m in matches if PurePath(m).suffix.lower() not in NOT_LOGS]
        out.skipped += [(m, f"not an access log (matched by {item!r})")
                        for m in matches if m not in logs]
        # a glob that matches nothing is left for the library to report, as it reports any
        # input that is not there
        out.paths += logs if matches else [item]
    return out


def analyze_each(inputs: Inputs, analyze: Callable[[list[str]], Report]) -> Report:
    """``analyze(paths)``, setting aside each input whose format no preset fits (recorded in
    ``inputs.errors``) as long as another input is left. Formats are detected from each
    input's first lines before any is read in full, so a retry costs only those detections."""
    paths = list(inputs.paths)
    while True:
        try:
            return analyze(paths)
        except FormatDetectionError as exc:
            if exc.path not in paths or len(paths) == 1:
                raise
            paths.remove(exc.path)
            inputs.errors.append((exc.path, f"no known log format fits: {exc.finding}"))
