"""Commands that confirm a finding: ``curl`` and raw request lines an operator can paste.

Every value here comes from a log, and anything in a log may have been written by an attacker:

* every argument is passed through :func:`shlex.quote`, so a target such as ``/$(rm -rf ~);x``
  reaches curl as text and is never run by the shell;
* no command contains a control character, DEL, a C1 control or a Unicode bidi/invisible
  character: in URLs they are percent-encoded, in raw request lines (``printf`` formats) they are
  written as octal escapes (``\\026``) that ``printf`` turns back into the original bytes, and
  they are dropped from methods and Host values;
* a vhost is used as a host name only when it looks like one; otherwise ``localhost`` (or
  ``--base-url``) is used and the vhost is left out.

:func:`reproduce_steps` takes a verdict (a dict or a dataclass, as :mod:`analyzer.verdicts.classify`
makes them) and returns :class:`Command` s, the safe ones first: a method that can change state (any
method but the safe ones, :data:`SAFE_METHODS`) is tried with OPTIONS and on a path that does not
exist before the command that sends it to the real resource, which is marked as changing data.
:func:`reproduce` gives the command strings alone; :func:`method_steps` and
:func:`version_steps` are the building blocks, with explicit arguments.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "MISSING",
    "SAFE_METHODS",
    "Command",
    "Endpoint",
    "endpoint",
    "is_safe_method",
    "method_commands",
    "method_steps",
    "reproduce",
    "reproduce_steps",
    "version_commands",
    "version_steps",
]

#: Methods that usually carry a body: a 501 on them may be an unsupported Transfer-Encoding
#: (RFC 9112 section 6.1) rather than a missing method.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# C0 controls, DEL, C1 controls, and bidi/invisible formatting characters (as render.safety)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# what may stay as-is in a URL given to curl (everything else is percent-encoded)
_URL_SAFE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%\[\]{}]")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?"
                   r"|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?$")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$|\?)")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_STATUS_OF = {"capability_gap": 501, "partial_implementation": 501,
              "resource_restriction": 405, "never_allowed": 405}


@dataclass(frozen=True)
class Endpoint:
    """Where to send a reproduction: scheme, host and port, the URL path prefix from
    ``--base-url``, and the Host header to add when it differs from ``host``."""

    scheme: str = "http"
    host: str = "localhost"
    port: int = 80
    path: str = ""
    host_header: str | None = None

    @property
    def origin(self) -> str:
        default = _DEFAULT_PORTS.get(self.scheme)
        return f"{self.scheme}://{self.host}" + ("" if self.port == default else f":{self.port}")

    @property
    def authority(self) -> str:
        """The value for a Host header."""
        if self.host_header:
            return self.host_header
        default = _DEFAULT_PORTS.get(self.scheme)
        return self.host + ("" if self.port == default else f":{self.port}")


def endpoint(vhost: str | None = None, *, base_url: str | None = None,
             port: int | None = None) -> Endpoint:
    """The endpoint for a vhost from the log, or for ``base_url`` (``http://10.0.0.5:8080``).

    With ``base_url`` the request goes there and a known vhost becomes the Host header; without
    it the vhost is the host (``localhost`` when the log names none, or names something that is
    not a host name). A logged port of 443 means https.
    """
    name = _host_name(vhost)
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"base URL {base_url!r}: expected http://HOST[:PORT][/PATH]")
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        out = Endpoint(parts.scheme, host, parts.port or _DEFAULT_PORTS[parts.scheme],
                       parts.path.rstrip("/"))
        if name and name.lower() != host.lower():
            out = dataclasses.replace(out, host_header=name)
        return out
    if name is None:
        return Endpoint()
    match = _HOST.match(name)
    assert match is not None
    if match["port"]:
        port = int(match["port"])
        name = name[: match.start("port") - 1]
    port = port or 80
    return Endpoint("https" if port == 443 else "http", name, port)


#: Methods the IANA registry marks safe (RFC 9110 section 9.2.1): sending them changes nothing.
#: Every other method, and any name the server does not know, may change state.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "REPORT", "SEARCH",
                          "QUERY"})
#: Where a state-changing method is tried first: a directory that does not exist in the
#: target's directory, so that WebDAV-style creators (PUT, MKCOL, LOCK) fail with 409 and the
#: others find nothing to act on (404), while the path still reaches the same handler.
MISSING = "logscan-missing/nothing"
#: CONNECT's stand-in target: a host that cannot exist (RFC 6761 .invalid).
MISSING_AUTHORITY = "logscan-missing.invalid:443"


@dataclass(frozen=True)
class Command:
    """One reproduction command: the text to paste, whether it is safe to run against the real
    server (it changes nothing, even once the refused method works), and why."""

    command: str
    safe: bool
    why: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (``verdicts[].reproduce_commands[]``)."""
        return {"command": self.command, "safe": self.safe, "why": self.why}

    def __str__(self) -> str:
        return self.command


def is_safe_method(method: str) -> bool:
    """Whether ``method`` is one the IANA registry marks safe (names are case-sensitive)."""
    return method in SAFE_METHODS


def method_commands(method: str, target: str | None = None, **kwargs: Any) -> list[str]:
    """The text of :func:`method_steps`."""
    return [c.command for c in method_steps(method, target, **kwargs)]


def method_steps(
    method: str,
    target: str | None = None,
    *,
    vhost: str | None = None,
    base_url: str | None = None,
    port: int | None = None,
    working: Sequence[str] = (),
    transfer_encoding: bool = False,
    kind: str | None = None,
    succeeded_at: str | None = None,
) -> list[Command]:
    """Commands for a method finding, the safe ones first.

    A safe method (:data:`SAFE_METHODS`) is sent to the target as it is. Any other method is
    first asked about with OPTIONS on the target and sent to a path that does not exist
    (:data:`MISSING` in the target's directory); the request to the real target comes last,
    marked as one that changes data once the method works. Between them, the target with a safe
    method that worked (the first safe one of ``working``, else GET). ``transfer_encoding``
    adds, for a body-carrying method, a raw request with an unsupported Transfer-Encoding (to
    the missing path); ``succeeded_at`` a target where the method succeeded. ``kind`` (the
    verdict) chooses the explanation of the missing-path request."""
    where = endpoint(vhost, base_url=base_url, port=port)
    refused = _clean_token(method)
    if not refused:
        return []
    target = target or "/"
    other = next((m for m in (_clean_token(w) for w in working)
                  if m and m != refused and is_safe_method(m)), "GET")
    # authority-form (CONNECT's host:port) and * are no targets for other methods
    plain = target if target.startswith("/") or "://" in target else "/"
    control = Command(_curl(where, other, plain), True,
                      f"{other} changes nothing: compare its answer with the refusal.")
    elsewhere = succeeded_at if succeeded_at and succeeded_at != target else None
    if is_safe_method(refused):
        out = [Command(_curl(where, refused, target), True,
                       f"{refused} is a safe method (RFC 9110 §9.2.1): sending it to the real "
                       "resource changes nothing."), control]
        if elsewhere:
            out.append(Command(_curl(where, refused, elsewhere), True,
                               f"{refused} where it succeeded; a safe method changes nothing."))
        return out
    missing = _missing(refused, target)
    out = [Command(_curl(where, "OPTIONS", plain), True,
                   "OPTIONS changes nothing: it asks which methods the resource allows "
                   "(Allow)."),
           Command(_curl(where, refused, missing), True, _why_missing(refused, kind))]
    if transfer_encoding and refused.upper() in BODY_METHODS and missing.startswith("/"):
        out.append(_te_probe(where, refused, missing))
    out += [control, Command(_curl(where, refused, target), False, _why_real(refused))]
    if elsewhere:
        out.append(Command(_curl(where, refused, elsewhere), False,
                           f"{refused} succeeded on this resource (see the log), so this "
                           "request acts on it now. Run it against a test copy."))
    return out


def _te_probe(where: Endpoint, method: str, missing: str) -> Command:
    """``method`` with a transfer coding servers refuse, to the path that does not exist."""
    return Command(
        _raw(where, f"{method} {missing} HTTP/1.1", ("Transfer-Encoding: gzip, chunked",),
             body="0\r\n\r\n"), True,
        "A transfer coding the server may not understand (gzip, chunked), on the path that "
        "does not exist. NGINX refuses it with 501 while reading the request, before it looks "
        "at the path; Apache hands it to the handler, which may answer 501 (mod_dav and others "
        "reading the body the old way), 500 (mod_proxy_http) or serve it (static files).")


def version_commands(protocol: str | None, **kwargs: Any) -> list[str]:
    """The text of :func:`version_steps`."""
    return [c.command for c in version_steps(protocol, **kwargs)]


def version_steps(
    protocol: str | None,
    *,
    method: str | None = None,
    target: str | None = None,
    vhost: str | None = None,
    base_url: str | None = None,
    port: int | None = None,
    request: str | None = None,
) -> list[Command]:
    """Commands for a protocol finding: the same request over HTTP/1.1 with curl, then the raw
    request line with the logged protocol (none: an HTTP/0.9-style ``GET /``). ``request``, the
    request line as logged, is sent byte for byte when given; when its method is not safe, the
    same line with GET comes first and the logged one last, marked."""
    where = endpoint(vhost, base_url=base_url, port=port)
    method = _clean_token(method or "") or "GET"
    target = target or "/"
    line = request or f"{method} {target}" + (f" {protocol}" if protocol else "")
    full = protocol is not None or len(line.split(" ")) > 2
    headers = ("Connection: close",) if full else ()
    http11 = Command(_curl(where, "GET" if not is_safe_method(method) else method, target,
                           http1_1=True), True,
                     "The same resource over HTTP/1.1 with a safe method: the answer to "
                     "compare with.")
    sent = line.split(" ", 1)[0]
    if is_safe_method(sent):
        return [http11, Command(_raw(where, line, headers, host=full), True,
                                f"The request line as logged, with its protocol; {sent} is a "
                                "safe method and changes nothing.")]
    rest = line.split(" ", 1)[1] if " " in line else ""
    return [
        http11,
        Command(_raw(where, f"GET {rest}".rstrip(), headers, host=full), True,
                "The logged protocol with GET, which changes nothing: a server refuses a "
                "version while reading the request line, before it looks at the method."),
        Command(_raw(where, line, headers, host=full), False,
                "The request line exactly as logged, with its method "
                f"{_shown(sent)}, which is not a safe method: once the server serves it, it "
                "may change data. Run it against a test copy."),
    ]


def reproduce(verdict: Any, *, base_url: str | None = None,
              working: Sequence[str] = ()) -> list[str]:
    """The text of :func:`reproduce_steps`."""
    return [c.command for c in reproduce_steps(verdict, base_url=base_url, working=working)]


def reproduce_steps(verdict: Any, *, base_url: str | None = None,
                    working: Sequence[str] = ()) -> list[Command]:
    """Commands that confirm a verdict or a protocol finding (a dict or a dataclass, such as
    :class:`analyzer.report.build.Verdict` and
    :class:`analyzer.report.build.ProtocolReport`), the safe
    ones first.

    Reads, where present: ``vhost``, ``port``, ``method``, ``protocol``, ``verdict``, the
    example requests (``examples``: ``target``, ``method``, ``request``), the resources
    (``resources``: ``resource``), the requests where the same method succeeded
    (``success_examples``: ``target``), and the methods that succeeded (``succeeded`` /
    ``working``: on the example's target first, else on the vhost; ``working=`` adds to them).
    A finding with a protocol and no method gets :func:`version_steps`.
    """
    data = _as_mapping(verdict)
    vhost = _str_or_none(data.get("vhost"))
    port = _int_or_none(data.get("port"))
    method = _str_or_none(data.get("method"))
    protocol = _str_or_none(data.get("protocol"))
    protocol = None if protocol == "-" else protocol  # "-": the log line had no protocol
    kind = str(data.get("verdict") or data.get("kind") or "")
    target, example_method, request = _example(data, _STATUS_OF.get(kind))
    if method is None or kind in ("version_not_supported", "protocol") or (
        protocol is not None and "method" not in data
    ):
        if example_method is None and request is None and not (target or "/").startswith("/"):
            target = "/"  # the method that went with ``*`` or ``host:port`` is not known
        return version_steps(protocol, method=example_method, target=target, vhost=vhost,
                             base_url=base_url, port=port, request=request)
    te = kind in ("partial_implementation", "capability_gap")
    return method_steps(method, target, vhost=vhost, base_url=base_url, port=port,
                        working=[*working, *_working(data, target)], transfer_encoding=te,
                        kind=kind, succeeded_at=_success_target(data))


def _missing(method: str, target: str) -> str:
    """A target that does not exist, reached the way ``target`` is: a missing directory in
    its directory (query dropped), or for CONNECT a host that cannot exist."""
    if method == "CONNECT" or not target.startswith("/"):
        return MISSING_AUTHORITY if method == "CONNECT" else "/" + MISSING
    path = target.split("?", 1)[0]
    return path[: path.rfind("/") + 1] + MISSING


def _why_missing(method: str, kind: str | None) -> str:
    if method == "CONNECT":
        return ("CONNECT to a host that cannot exist (.invalid): no tunnel can be opened, and a "
                "server that refuses CONNECT refuses it here the same way.")
    where = ("a path that does not exist, in a directory that does not exist: nothing to "
             "change or create there")
    status = _STATUS_OF.get(kind or "")
    looked_up = "a 404 or 409 means the path is looked up first."
    if kind == "capability_gap":
        return (f"{method} on {where}. A 501 answers the method wherever it is sent, so it "
                f"shows here too; {looked_up}")
    if status == 501:
        return (f"{method} on {where}, in the same part of the site: what answers 501 there "
                f"usually answers the same here; {looked_up}")
    if status == 405:
        return (f"{method} on {where}. A 405 is the answer of one resource: Apache and NGINX "
                "refuse the method before looking for the file and answer 405 here too, but an "
                "application may answer 404; only the real resource shows its own 405 and "
                "Allow.")
    return f"{method} on {where}: compare the answer with the logged one."


def _why_real(method: str) -> str:
    if method == "CONNECT":
        return ("Once CONNECT works, this opens a tunnel from the server to the logged host: "
                "it changes no data, but it uses the server as a proxy. Run it only where that "
                "is wanted.")
    return (f"{method} on the real resource: refused today, but once {method} works there "
            "(after a fix, or where it is implemented) it may change or delete data. Run it "
            "against a test copy, or only when that change is wanted.")


def _shown(method: str) -> str:
    return method if method else "(none)"


# -- pieces ------------------------------------------------------------------------------------

def _curl(where: Endpoint, method: str, target: str, *, http1_1: bool = False) -> str:
    args = ["curl", "-i"]
    if http1_1:
        args.append("--http1.1")
    path, request_target = _url_path(target)
    if _DOT_SEGMENT.search(path):
        args.append("--path-as-is")
    if re.search(r"[\[\]{}]", path):
        args.append("--globoff")
    if method == "HEAD":
        args.append("--head")
    else:
        args += ["-X", method]
    if request_target is not None:
        args += ["--request-target", request_target]
    if where.host_header:
        args += ["-H", f"Host: {where.host_header}"]
    args.append(where.origin + where.path + path)
    return _join(args)


def _url_path(target: str) -> tuple[str, str | None]:
    """(path for the URL, request target for ``--request-target``). Origin-form targets go in
    the URL; anything else (``*``, ``example.org:443``, ``http://...``) is sent as-is."""
    encoded = "".join(c if _URL_SAFE.fullmatch(c) else _percent(c) for c in target)
    if target.startswith("/"):
        return encoded, None
    return "/", encoded


def _percent(char: str) -> str:
    return "".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass"))


def _raw(where: Endpoint, line: str, headers: Iterable[str], body: str = "",
         host: bool = True) -> str:
    """``printf FORMAT | nc HOST PORT`` (``openssl s_client`` for https) sending exact bytes."""
    text = line + "\r\n"
    if host:
        text += f"Host: {where.authority}\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
    text += body
    fmt = _printf_format(text)
    if where.scheme == "https":
        sink = ["openssl", "s_client", "-quiet", "-connect", f"{where.host}:{where.port}",
                "-servername", where.host.strip("[]")]
    else:
        sink = ["nc", where.host.strip("[]"), str(where.port)]
    return f"printf {shlex.quote(fmt)} | {_join(sink)}"


def _printf_format(text: str) -> str:
    """A printf format that prints exactly ``text`` (as UTF-8), with no control characters."""
    out = []
    for char in text:
        if char == "\r":
            out.append("\\r")
        elif char == "\n":
            out.append("\\n")
        elif char == "\\":
            out.append("\\\\")
        elif char == "%":
            out.append("%%")
        elif _UNSAFE.fullmatch(char) or not char.isascii():
            out.extend(f"\\{b:03o}" for b in char.encode("utf-8", "surrogatepass"))
        else:
            out.append(char)
    return "".join(out)


def _join(args: Sequence[str]) -> str:
    return " ".join(shlex.quote(a) for a in args)


def _clean_token(value: str) -> str:
    """A method from the log with every unsafe or blank character dropped."""
    return re.sub(r"\s", "", _UNSAFE.sub("", value or ""))


def _host_name(vhost: str | None) -> str | None:
    if not vhost or vhost == "-":
        return None
    return vhost if _HOST.match(vhost) else None


# -- reading verdicts --------------------------------------------------------------------------

def _as_mapping(verdict: Any) -> Mapping[str, Any]:
    if isinstance(verdict, Mapping):
        return verdict
    if dataclasses.is_dataclass(verdict) and not isinstance(verdict, type):
        return {f.name: getattr(verdict, f.name) for f in dataclasses.fields(verdict)}
    result: Mapping[str, Any] = verdict.to_dict() if hasattr(verdict, "to_dict") else vars(verdict)
    return result


def _field(item: Any, *names: str) -> Any:
    for name in names:
        value = item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)
        if value is not None:
            return value
    return None


def _evidence(data: Mapping[str, Any]) -> Mapping[str, Any]:
    evidence = data.get("evidence")
    if evidence is None:
        return data
    merged = dict(_as_mapping(evidence))
    merged.update({k: v for k, v in data.items() if k != "evidence"})
    return merged


def _example(data: Mapping[str, Any], status: int | None = None
             ) -> tuple[str | None, str | None, str | None]:
    """(target, method, request line) of the first usable example request or resource:
    examples answered ``status`` first, then origin-form targets first."""
    data = _evidence(data)
    candidates: list[tuple[str, str | None, str | None]] = []
    examples = list(data.get("examples") or ())
    if status is not None:
        examples.sort(key=lambda item: _int_or_none(_field(item, "status")) != status)
    for item in examples:
        target = _field(item, "target", "resource")
        if isinstance(target, str) and target:
            candidates.append((target, _str_or_none(_field(item, "method")),
                               _str_or_none(_field(item, "request"))))
    for item in data.get("resources") or ():
        target = item if isinstance(item, str) else _field(item, "resource", "target")
        if isinstance(target, str) and target:
            candidates.append((target, None, None))
    for candidate in candidates:
        if candidate[0].startswith("/"):
            return candidate
    return candidates[0] if candidates else (None, None, None)


def _success_target(data: Mapping[str, Any]) -> str | None:
    for item in _evidence(data).get("success_examples") or ():
        target = _field(item, "target")
        if isinstance(target, str) and target.startswith("/"):
            return target
    return None


def _working(data: Mapping[str, Any], target: str | None) -> list[str]:
    data = _evidence(data)
    value = data.get("succeeded") or data.get("working") or data.get("succeeded_methods")
    if isinstance(value, Mapping):  # {"on_target": {...}, "on_vhost": [...]} or {target: [...]}
        on_target = value.get("on_target") or (value.get(target) if target else None) or ()
        if isinstance(on_target, Mapping):
            on_target = on_target.get(target, ()) if target else ()
        return [*_methods(on_target), *_methods(value.get("on_vhost") or ())]
    return _methods(value or ())


def _methods(value: Any) -> list[str]:
    if isinstance(value, Mapping):  # {method: count}, most first
        return [str(k) for k, _ in sorted(value.items(), key=lambda kv: -int(kv[1] or 0))]
    if isinstance(value, str):
        return [value]
    return [str(v) if not isinstance(v, Mapping) else str(v.get("method")) for v in value]


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
