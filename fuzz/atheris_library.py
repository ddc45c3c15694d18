"""Coverage-guided fuzzing of the library with atheris (libFuzzer): a format string and the lines
of a log, both from the fuzzer's bytes, go through ``analyzer.analyze`` and the text, Markdown,
CSV and JSON renderers (HTML draws charts, half a second an input; its escaping has tests of
its own).

Each input must give a report or an ``AnalyzerError``; anything else (another exception, a
signal, a run over ``-timeout`` seconds, memory over ``-rss_limit_mb``) stops the run and
libFuzzer writes the input to ``crash-*``/``timeout-*``/``oom-*``. When the native kernel is
built, every input is parsed with both kernels. At the default ``max_keys`` (no group of these
small logs holds more keys) the two JSON reports must be equal; at ``max_keys=4``, which
folds, only each kernel's safety is checked, since folded counts may differ with how the rows
were split (within the stated bound: README, Hostile volume).

The format string is drawn from Apache's and NGINX's directives (with random arguments and
modifiers) and the fuzzer's own text; the lines start from the shipped samples and are mutated
by libFuzzer. Python's coverage of ``analyzer`` guides the search.

    pip install -e '.[fuzz]'
    python fuzz/atheris_library.py -max_total_time=3600 -rss_limit_mb=2048 -timeout=60 corpus/

The run's memory grows by about 65 KB an input, with nothing leaked by the library: atheris
keeps alive every comparison result its tracing sees that is not a bool (the pandas Series of
``column == value``). Give a run of more than about 20,000 inputs a larger ``-rss_limit_mb``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["analyzer"]):
    import analyzer
    from analyzer.errors import AnalyzerError
    from analyzer.parse.kernels import ENV, native_available
    from analyzer.render.csv import render_csv
    from analyzer.render.json import render_json
    from analyzer.render.markdown import render_markdown
    from analyzer.render.text import render_text
    from analyzer.summary.bounded import DEFAULT_MAX_KEYS

APACHE = ["%h", "%a", "%{c}a", "%A", "%l", "%u", "%t", "%r", "%m", "%U", "%q", "%H", "%s",
          "%>s", "%<s", "%b", "%B", "%O", "%I", "%S", "%D", "%T", "%v", "%V", "%p", "%k", "%L",
          "%X", "%R", "%f", "%P", "%%", "%", "%{", "%}", "%>", "%<<s", "%Z"]
APACHE_ARGUMENTS = ["Referer", "User-Agent", "Allow", "X-Forwarded-For", "ms", "us", "c",
                    "remote", "tid", "msec", "usec_frac", "begin:", "end:", "end:sec",
                    "%d/%b/%Y %T", "%Y-%m-%dT%H:%M:%S%z", "%z", "%Q", "", "}", "{"]
APACHE_LETTERS = "aAhtTiIoOnCepPrsbBDfHklLmqRSuUvVXz"
NGINX = ["$remote_addr", "$remote_user", "$time_local", "$time_iso8601", "$msec", "$request",
         "$request_method", "$request_uri", "$uri", "$args", "$server_protocol", "$status",
         "$body_bytes_sent", "$bytes_sent", "$request_length", "$request_time", "$host",
         "$server_name", "$http_referer", "$http_user_agent", "$http_x_forwarded_for",
         "$sent_http_allow", "$upstream_response_time", "${status}", "$custom", "$", "${",
         "${}", "$$"]
JUNK = [" ", " ", " ", '"', "[", "]", "-", ":", "/", "\\", "{", "}", "(", ")", "*", "?", "|",
        "\t", "escape=json ", "escape=none ", "escape=bad "]
FOLDING = 4  # keys per group when an input is to fold
SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"


def _apache_directive(data: atheris.FuzzedDataProvider) -> str:
    """A directive with a random status condition, argument and letter."""
    condition = data.PickValueInList(["", "", "!", "400,501", "200", ">", "<", "!500,"])
    argument = data.PickValueInList(APACHE_ARGUMENTS + [data.ConsumeUnicodeNoSurrogates(8)])
    letter = APACHE_LETTERS[data.ConsumeIntInRange(0, len(APACHE_LETTERS) - 1)]
    if data.ConsumeBool():
        return f"%{condition}{letter}"
    return f"%{condition}{{{argument}}}{letter}"


def format_string(data: atheris.FuzzedDataProvider) -> str:
    pieces = []
    for _ in range(data.ConsumeIntInRange(0, 20)):
        choice = data.ConsumeIntInRange(0, 5)
        if choice == 0:
            pieces.append(data.PickValueInList(APACHE))
        elif choice == 1:
            pieces.append(_apache_directive(data))
        elif choice == 2:
            pieces.append(data.PickValueInList(NGINX))
        elif choice == 3:
            pieces.append(data.PickValueInList(JUNK))
        else:
            pieces.append(data.ConsumeUnicodeNoSurrogates(data.ConsumeIntInRange(0, 6)))
    return "".join(pieces)


def _report_json(path: str, log_format: str | None, kernel: str, max_keys: int) -> str | None:
    os.environ[ENV] = kernel
    try:
        report = analyzer.analyze(path, log_format=log_format, max_keys=max_keys)
    except AnalyzerError:
        return None
    for render in (render_text, render_markdown, render_csv):
        render(report)
    out = json.loads(render_json(report))
    out.pop("kernel")
    return json.dumps(out, sort_keys=True)


def test_one_input(raw: bytes) -> None:
    data = atheris.FuzzedDataProvider(raw)
    log_format = None if data.ConsumeIntInRange(0, 7) == 0 else format_string(data)
    max_keys = FOLDING if data.ConsumeBool() else DEFAULT_MAX_KEYS
    lines = data.ConsumeBytes(data.remaining_bytes())
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        log.write(lines)
        log.flush()
        arrow = _report_json(log.name, log_format, "arrow", max_keys)
        if native_available():
            native = _report_json(log.name, log_format, "native", max_keys)
            if max_keys == DEFAULT_MAX_KEYS and native != arrow:
                raise AssertionError(f"the kernels' reports differ for {log_format!r}")


def seed_corpus(folder: Path) -> None:
    """Heads of the shipped samples, each after a byte that picks a format of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    for sample in sorted(SAMPLES.glob("*.log")):
        head = b"".join(sample.read_bytes().splitlines(keepends=True)[:20])
        (folder / sample.name).write_bytes(b"\x00" + head)


def main() -> None:
    corpora = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    for folder in corpora[:1]:
        if not any(Path(folder).glob("*")):
            seed_corpus(Path(folder))
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
