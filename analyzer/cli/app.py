"""The ``logscan`` command: reads options, makes one library call, renders, sets the exit code.

Exit codes: 0 done; 1 a --fail-on threshold was crossed; 2 bad usage or unreadable input (one
line on stderr, no traceback); 3 no line of the input could be parsed; 4 some inputs were set
aside (a format no preset fits: listed on stderr), the report covers the others; 75
(``logscan report``) another run holds the state.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..advice.actions import with_base_url
from ..api import analyze as analyze_logs
from ..engines import ENGINES
from ..errors import AnalyzerError
from ..formats.serverconfig import with_server_config
from ..render.csv import render_csv
from ..render.json import render_json
from ..render.markdown import render_markdown
from ..render.safety import terminal_safe
from ..render.text import WIDTH, render_text
from ..report.model import Report
from ..report.thresholds import Threshold, crossed
from ..summary.bounded import DEFAULT_MAX_KEYS
from ..verdicts.server import SERVERS
from ..vocabulary import IANA_METHODS
from .inputs import Inputs, analyze_each
from .inputs import expand as expand_inputs
from .params import Duration, FailOn, PlotPath, ReportCondition, When
from .progress import progress_bar


def render_html(report: Report) -> str:
    from ..render.html import render_html  # matplotlib and Jinja2 load only when asked for

    return render_html(report)


RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text, "json": render_json, "markdown": render_markdown, "csv": render_csv,
    "html": render_html,
}
EXIT_NOTHING_PARSED = 3
EXIT_INPUTS_SET_ASIDE = 4


class UserError(click.ClickException):
    """An AnalyzerError on its way to the terminal: ``Error: ...`` and exit code 2; the message
    (which may hold a file name or an option's value) is made terminal-safe, on one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(terminal_safe(message))


class OneLineUsageError(click.UsageError):
    """A usage error as one line and a hint (``Error: ...`` then ``Try 'logscan analyze
    --help'``), instead of click's usage block first."""

    def show(self, file: Any = None) -> None:
        hint = ""
        if self.ctx is not None:
            hint = f"Try '{self.ctx.command_path} {self.ctx.help_option_names[0]}' for help."
        click.echo(f"Error: {self.format_message()}", err=True)
        if hint:
            click.echo(hint, err=True)


class StateBusy(UserError):
    """Another ``logscan report`` holds the state: exit 75 (EX_TEMPFAIL, "try again later"), so
    that cron or a systemd timer can tell an overlap from a failure."""

    exit_code = 75


@contextmanager
def _terminal_safe_errors() -> Iterator[None]:
    """click's own errors echo the values given (an option, a file name): make them safe too;
    usage errors become one line and a hint."""
    try:
        yield
    except click.UsageError as exc:
        raise OneLineUsageError(terminal_safe(exc.format_message()), exc.ctx) from None
    except click.ClickException as exc:
        # the same exception (its class, its exit code), its message made safe; click 8.5's
        # stubs declare the message read-only
        exc.message = terminal_safe(exc.message)  # type: ignore[misc, unused-ignore]
        raise


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the version and the parsing kernel that runs (analyzer.parse.kernels)."""
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    from ..parse.kernels import version_text

    click.echo(version_text(version("logscan-http")))
    ctx.exit()


class DefaultGroup(click.Group):
    """A group whose default command runs when the first argument is not a command name,
    so ``logscan access.log`` works beside ``logscan explain 501``."""

    def __init__(self, *args: Any, default: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_command = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and ctx.resilient_parsing:  # shell completion of the first word
            return super().parse_args(ctx, args)
        if not args:  # `logscan` alone: the commands, not the default command's usage
            click.echo(ctx.get_help())
            ctx.exit(0)
        if args[0] not in self.commands and args[0] not in ("--help", "--version"):
            args = [self.default_command, *args]
        with _terminal_safe_errors():
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with _terminal_safe_errors():
            return super().invoke(ctx)


@click.group(cls=DefaultGroup, default="analyze", context_settings={"max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              help="Show the version and the parsing kernel, and exit.", callback=_version)
def main() -> None:
    """Find which HTTP methods and versions your server does not support, from its access logs.

    \b
    logscan access.log                 what is wrong and what to do, first
    logscan access.log --details       the evidence of each finding, each fix in full
    logscan 'access.log*' --format json -o report.json
    logscan explain 501                what a status means, what servers really do
    logscan analyze --help             every option of the report

    \b
    Shell completion (bash; zsh and fish alike, see the README):
    eval "$(_LOGSCAN_COMPLETE=bash_source logscan)"
    """


@main.command("analyze")
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "output_format", type=click.Choice(list(RENDERERS)), default="text",
              show_default=True, help="Report format (csv: one table of method x status x "
              "client counts of the 501/405/505 requests).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of stdout.")
@click.option("--details", is_flag=True,
              help="Text report: after the summary, the evidence of each finding (examples, "
                   "clients, how to reproduce it) and each fix in full.")
@click.option("--color", "color", type=click.Choice(["auto", "always", "never"]),
              default="auto", show_default=True,
              help="Colour in the text report; auto: when stdout is a terminal, unless NO_COLOR "
                   "is set (FORCE_COLOR turns it on).")
@click.option("--width", type=click.IntRange(min=40), metavar="COLUMNS",
              help="Text report width (default: the terminal's; 100 when not a terminal).")
@click.option("--log-format", metavar="NAME|FORMAT",
              help="Preset name (combined, common, vhost_combined, combinedio, nginx_combined, "
                   "nginx_main), the name of a format of your own (~/.config/logscan/formats) "
                   "or an Apache LogFormat / NGINX log_format string. When absent: the "
                   "server's standard configuration for logs under /var/log/nginx, apache2 or "
                   "httpd, else detected from the first lines.")
@click.option("--server-config", "server_config", multiple=True, metavar="PATH",
              help="An NGINX or Apache configuration (nginx.conf, nginx -T output, "
                   "apache2.conf, a file it includes): each input gets the format of the "
                   "access_log / CustomLog that writes it. Repeatable.")
@click.option("--server", type=click.Choice(SERVERS), default="auto", show_default=True,
              help="The server that wrote the log, for the explanations; auto: from the log "
                   "format, else from the statuses.")
@click.option("--client-field", default="client", show_default=True, metavar="FIELD",
              help="Who a client is: client (the address), x-forwarded-for (its first "
                   "address), or any other logged field.")
@click.option("--since", type=When(), metavar="WHEN",
              help="Only requests at or after WHEN: an ISO date/time (UTC unless it has an "
                   "offset) or a duration before now (30m, 24h, 7d, 2w; now is the clock, not "
                   "the newest line of the log).")
@click.option("--until", type=When(), metavar="WHEN", help="Only requests before WHEN.")
@click.option("--fail-on", "fail_on", type=FailOn(), multiple=True, metavar="CONDITION",
              help="Exit 1 when it holds: CLASS OP N (not_implemented>0, "
                   "method_not_allowed>=50, version_not_supported>0), method:NAME>N, "
                   "protocol:NAME>N, verdict:NAME>N or rejected>N. Repeatable.")
@click.option("--plot", type=PlotPath(), metavar="PATH",
              help="Also write the trend figure (501/405/505 over time) here: .png, .svg or .pdf.")
@click.option("--plot-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Also write every figure into DIR (created if needed): trend.png, "
                   "status_heatmap.png, top_clients.png.")
@click.option("--base-url", metavar="URL", callback=lambda ctx, param, value: _base_url(value),
              help="Aim the reproduction commands at this server (http://10.0.0.5:8080) "
                   "instead of each vhost; the vhost becomes the Host header.")
@click.option("--strict", is_flag=True, help="Stop with an error at the first rejected line.")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="local: every core of this machine, memory bounded by the block size; "
                   "dask: a Dask cluster (pip install 'logscan-http[dask]'), inputs may be URLs "
                   "(s3://..., gs://...).")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --engine dask: the address of a running Dask scheduler "
                   "(tcp://host:8786); a local cluster when absent.")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Threads of the local engine (default: one per core).")
@click.option("--max-keys", type=click.IntRange(min=1), default=DEFAULT_MAX_KEYS,
              show_default=True, metavar="K",
              help="Methods, protocols, vhosts, clients and user agents are written by clients: "
                   "keep exact counts for the K busiest of each group, fold the rest into exact "
                   "remainders, and list at most K of each in the report.")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr (default: when stderr is a terminal and the input "
                   "is large).")
def analyze(
    files: tuple[str, ...],
    output_format: str,
    output: Path | None,
    details: bool,
    color: str,
    width: int | None,
    log_format: str | None,
    server_config: tuple[str, ...],
    server: str,
    client_field: str,
    since: datetime | None,
    until: datetime | None,
    fail_on: tuple[Threshold, ...],
    plot: Path | None,
    plot_dir: Path | None,
    base_url: str | None,
    strict: bool,
    engine: str,
    scheduler: str | None,
    workers: int | None,
    max_keys: int,
    progress: bool | None,
) -> None:
    """Report on access logs: FILES are paths, globs, rotated sets, or - for stdin.

    Compressed inputs (gzip, bzip2, xz, zstd) are recognised by their first bytes, and rotated
    sets (access.log.2.gz access.log.1 access.log) are read oldest first.

    \b
    logscan /var/log/apache2/access.log
    logscan 'access.log*' --format json --output report.json
    logscan access.log --since 24h --fail-on 'not_implemented>0' --fail-on 'method:PATCH>0'
    logscan access.log --format html -o report.html --plot-dir figures/
    zcat old.log.gz | logscan - --log-format vhost_combined --server apache
    logscan 's3://bucket/logs/*.gz' --engine dask --scheduler tcp://10.0.0.5:8786
    """
    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    inputs = expand_inputs(files)
    for path, why in inputs.skipped:
        warn(f"skipped {path}: {why}")
    if not inputs.paths:
        raise UserError("no input left to read: every file the globs matched was skipped")
    try:
        with progress_bar(progress) as advance:
            report = analyze_each(inputs, lambda paths: analyze_logs(
                paths, log_format=log_format, server=server, server_config=list(server_config),
                client_field=client_field, since=since, until=until, strict=strict,
                engine=engine, scheduler=scheduler, workers=workers, progress=advance,
                max_keys=max_keys))
    except AnalyzerError as exc:
        raise UserError(str(exc)) from None
    report = with_base_url(report, base_url)
    if output_format == "text":
        text = render_text(report, color=use_color(color, output), details=details,
                           width=width or text_width(output))
    else:
        text = RENDERERS[output_format](report)
    emit(text, output)
    if plot is not None or plot_dir is not None:
        write_plots(report, plot, plot_dir)
    sys.exit(exit_code(report, inputs, fail_on))


def warn(message: str) -> None:
    click.echo(f"logscan: warning: {terminal_safe(message)}", err=True)


def exit_code(report: Report, inputs: Inputs, fail_on: tuple[Threshold, ...]) -> int:
    """The documented exit code, after saying on stderr why it is not 0."""
    for path, error in inputs.errors:
        click.echo(f"logscan: error: {terminal_safe(path)} was not read: {terminal_safe(error)}",
                   err=True)
    for t in unknown_names(report, fail_on):
        warn(f"--fail-on {t}: no such method or protocol was refused in this log, and it is "
             "not a registered name (names are compared ignoring case)")
    if report.totals["parsed"] == 0:
        warn(f"no line was parsed ({report.totals['lines']} lines read): check the input, or "
             "give its format with --log-format")
        return EXIT_NOTHING_PARSED
    hits = crossed(report, fail_on)
    if hits:
        shown = "; ".join(f"{t} (is {value})" for t, value in hits)
        click.echo(f"logscan: --fail-on crossed: {terminal_safe(shown)}", err=True)
        return 1
    return EXIT_INPUTS_SET_ASIDE if inputs.errors else 0


def unknown_names(report: Report, thresholds: tuple[Threshold, ...]) -> list[Threshold]:
    """``--fail-on method:NAME`` / ``protocol:NAME`` conditions whose NAME is neither refused in
    this report nor a known name (an IANA method, HTTP/x.y): most likely a typo."""
    seen = {key.casefold() for cls in report.classes.values() for key in cls.by}
    out = []
    for t in thresholds:
        kind, _, name = t.subject.partition(":")
        if kind not in ("method", "protocol") or name.casefold() in seen:
            continue
        known = (name.upper() in IANA_METHODS if kind == "method"
                 else re.fullmatch(r"HTTP/\d\.\d", name, re.IGNORECASE) is not None)
        if not known:
            out.append(t)
    return out


def use_color(choice: str, output: Path | None) -> bool:
    """--color always/never; auto: off under NO_COLOR (https://no-color.org), on under
    FORCE_COLOR, else when the report goes to a terminal."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return output is None
    return output is None and sys.stdout.isatty()


def text_width(output: Path | None) -> int:
    """The terminal's width when the report goes there; else a fixed width, so that files and
    pipes get the same text on every machine."""
    if output is None and sys.stdout.isatty():
        return shutil.get_terminal_size((WIDTH, 24)).columns
    return WIDTH


def _base_url(value: str | None) -> str | None:
    from ..advice.reproduce import endpoint

    if value:
        try:
            endpoint(None, base_url=value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def emit(text: str, output: Path | None) -> None:
    if output is None:
        # colour was decided when the text was rendered (and log values never carry escapes):
        # click would strip it from a pipe, which --color always must not
        click.echo(text, nl=False, color=True)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{output}: cannot write ({exc.strerror or exc})") from None


def write_plots(report: Report, plot: Path | None, plot_dir: Path | None) -> None:
    from ..plots import save_plots, trend_plot

    try:
        if plot is not None:
            trend_plot(report).savefig(plot, dpi=120)
        if plot_dir is not None:
            save_plots(report, plot_dir)
    except OSError as exc:
        where = exc.filename or plot or plot_dir
        raise UserError(f"{where}: cannot write ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise UserError(f"cannot plot this report: {exc}") from None


@main.command("report")
@click.argument("files", nargs=-1, required=True)
@click.option("--state", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="State directory: checkpoints, the Parquet history and a lock (created 0700).")
@click.option("--window", type=Duration(), default="7d", show_default=True,
              help="Report over the runs of this last stretch of time (30m, 12h, 7d, 2w).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSON report over the window (with run and comparison) here.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML report over the window here.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the Markdown report over the window here.")
@click.option("--prometheus", "prometheus_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write metrics for node_exporter's textfile collector here (a .prom file).")
@click.option("--fail-on", "fail_on", type=ReportCondition(), multiple=True, metavar="CONDITION",
              help="Exit 1 when it holds: new_method (a method no earlier run of the window "
                   "saw), new_client (a client of 501/405/505 no earlier run saw), or a "
                   "threshold over the window as for `logscan FILE` (not_implemented>0, "
                   "method:PATCH>0, ...). Repeatable.")
@click.option("--log-format", metavar="NAME|FORMAT",
              help="Preset name, the name of a format of your own (~/.config/logscan/formats) "
                   "or a format string. When absent: the server's standard configuration for "
                   "logs under /var/log/nginx, apache2 or httpd, else detected from each "
                   "file's first lines.")
@click.option("--server-config", "server_config", multiple=True, metavar="PATH",
              help="An NGINX or Apache configuration (nginx.conf, nginx -T output, "
                   "apache2.conf, a file it includes): each input gets the format of the "
                   "access_log / CustomLog that writes it. Repeatable.")
@click.option("--server", type=click.Choice(SERVERS), default="auto", show_default=True,
              help="The server that wrote the logs, for the explanations.")
@click.option("--wait", type=click.FloatRange(min=0), default=0, show_default=True,
              help="Seconds to wait for another run on the same state before giving up.")
@click.option("--max-keys", type=click.IntRange(min=1), default=DEFAULT_MAX_KEYS,
              show_default=True, metavar="K",
              help="Methods, protocols, vhosts, clients and user agents are written by clients: "
                   "keep exact counts for the K busiest of each group, fold the rest into exact "
                   "remainders, and list at most K of each in the report.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on stdout (alerts still go "
              "to stderr).")
def report(
    files: tuple[str, ...],
    state: Path,
    window: Any,
    json_path: Path | None,
    html_path: Path | None,
    markdown_path: Path | None,
    prometheus_path: Path | None,
    fail_on: tuple[Threshold | str, ...],
    log_format: str | None,
    server_config: tuple[str, ...],
    server: str,
    wait: float,
    max_keys: int,
    quiet: bool,
) -> None:
    """Scheduled report: read only the lines added since the last run (surviving rotation and
    truncation), keep each run in a Parquet history under --state, and report over --window.

    Name the live logs (globs allowed); their rotated copies (access.log.1, access.log.1.gz)
    are found by themselves. Every output is written before the run commits: when one cannot
    be written, the run exits 2 and commits nothing, so the next run reports (and alerts on)
    the same lines. Runs on one state never overlap: a second one waits --wait seconds, then
    exits 75. For cron or a systemd timer: see contrib/ and the README.

    \b
    logscan report /var/log/nginx/access.log --state /var/lib/logscan
    logscan report '/var/log/apache2/*access.log' --state /var/lib/logscan --window 1d \\
        --json /srv/reports/logscan.json --prometheus /var/lib/prometheus/node-exporter/logscan.prom
    logscan report access.log --state ~/.cache/logscan --fail-on new_method --quiet
    """
    from ..atomic import write_all
    from ..errors import StateLockedError
    from ..render.prometheus import render_prometheus
    from ..render.scheduled import render_run_text
    from ..scheduled.run import ScheduledReport, run_report

    files_out = [(p, name) for p, name in ((json_path, "json"), (html_path, "html"),
                                           (markdown_path, "markdown")) if p is not None]
    missing = [name for _, name in files_out if name not in RENDERERS]
    thresholds = [c for c in fail_on if isinstance(c, Threshold)]

    def publish(result: ScheduledReport) -> None:
        """Every output, before the run commits: one that cannot be written commits nothing."""
        texts = [(path, RENDERERS[name](result.report)) for path, name in files_out]
        if prometheus_path is not None:
            texts.append((prometheus_path, render_prometheus(result.metrics)))
        try:
            write_all(texts)
        except OSError as exc:
            raise UserError(f"{exc.filename}: cannot write ({exc.strerror or exc}); nothing "
                            "was committed: the next run reads these lines again") from None

    try:
        if missing:
            raise AnalyzerError(f"--{missing[0]}: this version has no {missing[0]} renderer")
        formats = with_server_config(log_format, list(server_config))
        result = run_report(list(files), str(state), window=window, log_format=formats,
                            wait=wait, server=server, publish=publish, max_keys=max_keys)
    except StateLockedError as exc:
        raise StateBusy(f"{exc}; --wait SECONDS waits for it") from None
    except AnalyzerError as exc:
        raise UserError(str(exc)) from None
    if not quiet:
        click.echo(render_run_text(result) + render_text(result.report), nl=False)
    alerts = result.triggered(c for c in fail_on if isinstance(c, str))
    hits = crossed(result.report, thresholds)
    if hits:
        alerts.append("crossed: " + "; ".join(f"{t} (is {value})" for t, value in hits))
    for alert in alerts:
        click.echo(f"logscan: --fail-on {terminal_safe(alert)}", err=True)
    if alerts:
        sys.exit(1)


@main.command("explain")
@click.argument("status", required=False)
@click.option("--width", type=click.IntRange(min=20), metavar="COLUMNS",
              help="Wrap to this width (default: the terminal's, at most 100).")
def explain(status: str | None, width: int | None) -> None:
    """What an HTTP status means, how it differs from its neighbours, what Apache, NGINX and
    others really do with it, and how to investigate. Without STATUS: the list.

    \b
    logscan explain
    logscan explain 501
    """
    import shutil

    from ..advice.explain import explain as explain_status
    from ..advice.explain import render_index

    columns = width or shutil.get_terminal_size((80, 24)).columns
    try:
        text = explain_status(status, columns) if status else render_index(columns)
    except AnalyzerError as exc:
        raise UserError(str(exc)) from None
    click.echo(text, nl=False)


def run(prog_name: str = "logscan") -> None:
    """The ``logscan`` command (and ``python -m analyzer``): :func:`main`, then an exit that
    skips tearing the interpreter down.

    Every output is written and closed by then; freeing each module of pandas, Arrow and NumPy
    one by one took 0.2 s, three per cent of a 5,000,000-line report. Click turns every outcome
    into an exit code (errors included), which is kept.
    """
    try:
        main(prog_name=prog_name)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
    except BrokenPipeError:  # the reader went away (logscan ... | head)
        code = 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing left to deliver
            pass
    os._exit(code)
