"""The ``logscan`` command: reads options, makes one library call, renders, sets the exit code.

Exit codes: 0 done; 1 a --fail-on threshold was crossed; 2 bad usage or unreadable input (one
line on stderr, no traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .errors import AnalyzerError
from .frame import parse_log
from .render.json import render_json
from .render.text import render_text
from .report import Report, build_report

RENDERERS: dict[str, Callable[[Report], str]] = {"text": render_text, "json": render_json}


class UserError(click.ClickException):
    """An AnalyzerError on its way to the terminal: ``Error: ...`` and exit code 2."""

    exit_code = 2


class DefaultGroup(click.Group):
    """A group whose default command runs when the first argument is not a command name,
    so ``logscan access.log`` works beside ``logscan explain 501``."""

    def __init__(self, *args: Any, default: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_command = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "--version")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, default="analyze", context_settings={"max_content_width": 100})
@click.version_option(package_name="logscan", prog_name="logscan")
def main() -> None:
    """Find which HTTP methods and versions your server does not support, from its access logs.

    \b
    logscan access.log                 report on one log (format detected)
    logscan 'access.log*' --format json -o report.json
    logscan --help / logscan analyze --help
    """


@main.command("analyze")
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "output_format", type=click.Choice(sorted(RENDERERS)), default="text",
              show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of stdout.")
@click.option("--log-format", metavar="NAME|FORMAT",
              help="Preset name (combined, common, vhost_combined, combinedio, nginx_combined, "
                   "nginx_main) or an Apache LogFormat / NGINX log_format string. "
                   "Detected from the first lines when absent.")
@click.option("--strict", is_flag=True, help="Stop with an error at the first rejected line.")
def analyze(
    files: tuple[str, ...],
    output_format: str,
    output: Path | None,
    log_format: str | None,
    strict: bool,
) -> None:
    """Report on access logs: FILES are paths, globs, rotated sets, or - for stdin.

    Compressed inputs (gzip, bzip2, xz, zstd) are recognised by their first bytes, and rotated
    sets (access.log.2.gz access.log.1 access.log) are read oldest first.

    \b
    logscan /var/log/apache2/access.log
    logscan 'access.log*' --format json --output report.json
    zcat old.log.gz | logscan - --log-format vhost_combined
    """
    try:
        report = build_report(parse_log(list(files), log_format, strict=strict))
    except AnalyzerError as exc:
        raise UserError(str(exc)) from None
    emit(RENDERERS[output_format](report), output)


def emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{output}: cannot write ({exc.strerror or exc})") from None


def run() -> None:  # pragma: no cover - the console-script entry without click's wrapper noise
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)
