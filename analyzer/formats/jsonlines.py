"""JSON lines: an access log written one JSON object a line (NGINX's ``escape=json`` formats,
Apache LogFormats that write JSON, log shippers), read as an NGINX ``escape=json`` format.

The format is rebuilt from a sample line: its keys, in their order and with their separators,
each mapped to the NGINX variable it names by the conventions servers and shippers use
(``remote_addr``, ``request``, ``status``, ``time_local`` / ``time_iso8601`` / ``msec``,
``http_user_agent``, ``request_time``, ``host``, ...). A key with no convention becomes a text
column named after it (``json_<key>``).
"""

from __future__ import annotations

import re

from ..errors import UnknownFormatError
from .fields import CLF_TIME, ISO_TIME
from .logformat import LogFormat

_PAIR = re.compile(
    r'"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)'
)
MAX_KEYS = 48

# key (lowercase, "@", "-" and "." as "_") -> NGINX variable
_KEYS: dict[str, str] = {}
for _nginx_variable, _keys in {
    "remote_addr": "remote_addr remote_ip client_ip clientip client ip remote_host",
    "remote_user": "remote_user user auth",
    "request": "request request_line",
    "request_method": "request_method method verb http_method",
    "request_uri": "request_uri url uri_full",
    "uri": "uri path request_path",
    "args": "args query_string query",
    "server_protocol": "server_protocol protocol http_version",
    "status": "status status_code response response_code",
    "body_bytes_sent": "body_bytes_sent bytes size response_size body_bytes",
    "bytes_sent": "bytes_sent",
    "request_length": "request_length bytes_received",
    "request_time": "request_time",
    "host": "host vhost http_host server_name",
    "http_user_agent": "http_user_agent user_agent agent useragent",
    "http_referer": "http_referer referer referrer",
    "http_x_forwarded_for": "http_x_forwarded_for x_forwarded_for xff forwarded_for",
    "sent_http_allow": "sent_http_allow allow",
    "upstream_addr": "upstream_addr upstream",
    "upstream_response_time": "upstream_response_time",
    "upstream_status": "upstream_status",
    "request_id": "request_id",
}.items():
    for _key in _keys.split():
        _KEYS[_key] = _nginx_variable
_TIME_KEYS = {"time_local", "time_iso8601", "msec", "timestamp", "time", "datetime", "date",
              "ts", "_timestamp"}


def json_format(line: str) -> LogFormat | None:
    """The format of a JSON line like ``line`` (None when it is not a flat JSON object)."""
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    parts: list[str] = []
    pos = 0
    seen = 0
    for match in _PAIR.finditer(text):
        between = text[pos : match.start()]
        if not re.fullmatch(r"[{,\s]*", between) or "$" in match[1]:
            return None  # nested objects, arrays, null/true/false: not a log line's shape
        seen += 1
        variable = _variable(match[1], match[2])
        quoted = match[2].startswith('"')
        key = text[match.start() : match.start(2)]
        parts.append(between + key + (f'"{variable}"' if quoted else variable))
        pos = match.end()
    if not seen or seen > MAX_KEYS or not re.fullmatch(r"\s*}", text[pos:]):
        return None
    fmt = "".join(parts) + text[pos:]
    try:
        return LogFormat.nginx(fmt, name="json_lines", escape="json", server=None)
    except UnknownFormatError:
        return None


def _variable(key: str, value: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
    if name in _TIME_KEYS:
        bare = value.strip('"')
        if re.fullmatch(ISO_TIME, bare):
            return "$time_iso8601"
        if re.fullmatch(CLF_TIME, bare):
            return "$time_local"
        if re.fullmatch(r"\d{9,10}(?:\.\d{1,6})?", bare):
            return "$msec"
    if name in _KEYS:
        return "${" + _KEYS[name] + "}"
    return "${json_" + (name or "key") + "}"
