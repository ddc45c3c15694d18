"""Acting on findings: the glue between the report and :mod:`analyzer.advice.reproduce`,
:mod:`analyzer.advice.guidance` and :mod:`analyzer.verdicts.allow_checks`.

* :func:`verdict_actions` / :func:`protocol_actions`: the reproduction commands and the fix
  guidance of a verdict or a protocol finding (dicts or dataclasses such as
  :class:`analyzer.report.build.Verdict`), for :func:`analyzer.report.build_report` to store.
* :func:`with_base_url`: the same report with every reproduction command aimed at
  ``--base-url`` (the report stays pure data; the CLI calls this once).
* :func:`action_evidence` and :func:`allow_check_lines`: plain lines for the text and Markdown
  renderers (no computing there: they only lay out what the report holds).
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Iterable
from typing import Any

from ..render.safety import terminal_safe
from .guidance import Guidance, guidance_for
from .reproduce import Command, reproduce_steps

__all__ = [
    "action_evidence",
    "action_markdown",
    "allow_check_lines",
    "command_lines",
    "allow_check_markdown",
    "protocol_actions",
    "verdict_actions",
    "with_actions",
    "with_base_url",
]


def verdict_actions(verdict: Any, server: str | None, *, base_url: str | None = None
                    ) -> tuple[tuple[Command, ...], Guidance | None]:
    """(reproduction commands, safe ones first; fix guidance) for a per-method verdict."""
    kind = _get(verdict, "verdict")
    method = _get(verdict, "method")
    return tuple(reproduce_steps(verdict, base_url=base_url)), _guidance(server, kind, method)


def protocol_actions(protocol: Any, server: str | None, *, base_url: str | None = None
                     ) -> tuple[tuple[Command, ...], Guidance | None]:
    """(reproduction commands, safe ones first; fix guidance) for a protocol finding."""
    return (tuple(reproduce_steps(protocol, base_url=base_url)),
            _guidance(server, "version_not_supported", None))


def with_actions(findings: Iterable[Any], server: str | None) -> tuple[Any, ...]:
    """Verdicts or protocol findings (dataclasses with ``reproduce`` and ``guidance`` fields)
    with those fields filled in."""
    out = []
    for finding in findings:
        if _get(finding, "verdict"):
            commands, guidance = verdict_actions(finding, server)
        else:
            commands, guidance = protocol_actions(finding, server)
        out.append(dataclasses.replace(finding, reproduce=commands, guidance=guidance))
    return tuple(out)


def with_base_url(report: Any, base_url: str | None) -> Any:
    """The report with the reproduction commands of its verdicts and protocol findings sent to
    ``base_url`` (``http://10.0.0.5:8080``) instead of each vhost; unchanged without one.
    Raises ``ValueError`` for a URL that is not http(s)://HOST[:PORT][/PATH]."""
    if not base_url:
        return report
    verdicts = tuple(
        dataclasses.replace(v, reproduce=tuple(reproduce_steps(v, base_url=base_url)))
        for v in report.verdicts
    )
    protocols = tuple(
        dataclasses.replace(p, reproduce=tuple(reproduce_steps(p, base_url=base_url)))
        for p in report.protocols
    )
    return dataclasses.replace(report, verdicts=verdicts, protocols=protocols)


def action_evidence(finding: Any) -> list[tuple[str, list[str]]]:
    """(label, lines) for a verdict's or protocol finding's reproduction and fix, in the shape
    of :func:`analyzer.render.common.verdict_evidence`."""
    items: list[tuple[str, list[str]]] = []
    commands = list(getattr(finding, "reproduce", ()) or ())
    if commands:
        items.append(("reproduce (safe commands first)", command_lines(commands)))
    guidance = getattr(finding, "guidance", None)
    if guidance is not None:
        items.append((f"fix: {guidance.title} ({guidance.rfc})",
                      [*_wrap(guidance.why), "", *guidance.snippet.splitlines()]))
    return items


def action_markdown(finding: Any) -> list[str]:
    """A verdict's or protocol finding's reproduction and fix as Markdown: a label, then the
    commands and the snippet as fenced code blocks (log values cannot close the fence)."""
    out: list[str] = []
    commands = list(getattr(finding, "reproduce", ()) or ())
    if commands:
        out += ["", "**Reproduce** (safe commands first):", "",
                *_fenced(command_lines(commands), "sh")]
    guidance = getattr(finding, "guidance", None)
    if guidance is not None:
        out += ["", f"**Fix: {_md_text(guidance.title)}** ({_md_text(guidance.rfc)})", "",
                _md_text(guidance.why), "", *_fenced(guidance.snippet.splitlines(), "")]
    return out


#: how a command is marked in text and Markdown (a shell comment above it)
SAFE_MARK = "# safe: "
UNSAFE_MARK = "# CHANGES DATA: "


def command_lines(commands: Iterable[Command | str]) -> list[str]:
    """Each command under a shell comment that marks it safe or data-changing and says why,
    so that the block can be pasted as it is."""
    out: list[str] = []
    for command in commands:
        if not isinstance(command, Command):  # a plain string: nothing known about it
            out.append(str(command))
            continue
        mark = SAFE_MARK if command.safe else UNSAFE_MARK
        out += textwrap.wrap(command.why, 92, initial_indent=mark, subsequent_indent="#   ")
        out.append(command.command)
    return out


def allow_check_markdown(checks: Any) -> list[str]:
    """The Allow checks as a fenced text block (hostile values stay inert)."""
    lines = allow_check_lines(checks)
    return _fenced(lines, "text") if lines else []


def allow_check_lines(checks: Any) -> list[str]:
    """The Allow checks as plain lines (no heading): counts, then each problem with examples."""
    if checks is None or (not checks.logged and not checks.responses_405):
        return []
    if not checks.logged:
        return [f"{checks.responses_405} responses were 405, but the log format does not "
                "record the Allow header. To check it:", f"  {checks.how_to_log}"]
    out = [f"405 responses: {checks.responses_405}, with Allow: {checks.with_allow_405}, "
           f"without: {checks.missing_count}, empty: {checks.empty_count}"]
    sections = (
        ("405 without Allow (RFC 9110 §15.5.6: MUST be sent)", checks.missing_on_405),
        ("405 with an empty Allow (allowed: no method is allowed)", checks.empty_on_405),
        ("Allow lists the refused method", checks.refused_method_listed),
    )
    for title, groups in sections:
        if not groups:
            continue
        out += ["", f"{title}: {sum(g.count for g in groups)}"]
        for g in groups:
            allow = f", Allow: {g.allow!r}" if g.allow is not None else ""
            status = f" {g.status}" if g.status is not None else ""
            out.append(f"  {g.vhost or '-'} {g.method or '-'}{status}: {g.count}{allow}"
                       + (f"  e.g. {', '.join(g.examples)}" if g.examples else ""))
    if checks.inconsistent:
        out += ["", f"Allow values that differ where they should agree: "
                    f"{len(checks.inconsistent)}"]
        for i in checks.inconsistent:
            where = (f"{i.vhost or '-'} {i.prefix}" if i.scope == "directory"
                     else f"{i.vhost or '-'}, every refusal of {i.method}")
            out.append(f"  {where}:")
            for v in i.values:
                shown = repr(v.allow) if v.allow else "(empty)"
                out.append(f"    {shown}: {v.count} ({', '.join(v.methods)})"
                           + (f"  e.g. {', '.join(v.examples)}" if v.examples else ""))
    if not checks.directory_checked:
        out += ["", "Allow values per directory were not compared (a merged summary keeps no "
                    "targets per Allow value)."]
    if checks.notes:
        out += ["", *(f"Note: {n}" for n in checks.notes)]
    if checks.fix:
        out += ["", f"Fix: {checks.fix['title']} ({checks.fix['rfc']})",
                *(f"  {line}" for line in checks.fix["snippet"].splitlines())]
    return out


def _fenced(lines: list[str], info: str) -> list[str]:
    safe = [terminal_safe(line) for line in lines]
    longest = max((len(run) for line in safe for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *safe, fence]


def _md_text(text: str) -> str:
    return terminal_safe(text).translate(_MD_ESCAPES)


_MD_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "`": "\\`",
                             "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]",
                             "\\": "\\\\"})


def _guidance(server: str | None, verdict: Any, method: Any) -> Guidance | None:
    try:
        return guidance_for(server, str(verdict), None if method is None else str(method))
    except KeyError:
        return None


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _wrap(text: str, width: int = 92) -> list[str]:
    return textwrap.wrap(text, width)
