"""Who the client is: address, user-agent family and client kind.

User agents are classified once per *distinct* string: a column is dictionary-encoded with Arrow,
the dictionary (a few thousand strings for millions of rows) is classified, and the result is
taken back to the rows by code.

A user agent is classified in two steps:

1. ``_RULES``, a table of ``(regex, family, kind)`` checked in order, for the clients that
   ua-parser does not know or files under a misleading family: scanners, monitors, webhook
   senders, HTTP libraries and CLI tools.
2. ua-parser (``ua_parser``, with its native ``regex`` resolver when installed): device family
   ``Spider`` means a crawler, any other known user-agent family a browser.

What neither recognises is ``unknown``, unless it names itself a bot, crawler or spider.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Literal, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import ua_parser
from ua_parser import Device, Domain
from ua_parser.lazy import DeviceMatcher

from analyzer.errors import UnknownFieldError

__all__ = [
    "CLIENT_KINDS",
    "NO_USER_AGENT",
    "classify_user_agents",
    "client_identity",
    "describe_user_agent",
]

CLIENT_KINDS: tuple[str, ...] = (
    "browser",
    "crawler",
    "scanner",
    "library",  # HTTP library or CLI tool: curl, python-requests, Go-http-client, PowerShell...
    "monitor",
    "webhook",
    "unknown",
)

#: Family given to a missing user agent: null, empty or ``-``.
NO_USER_AGENT = "(none)"

#: Longest prefix of a user agent that is looked at; the rest never changes the answer and
#: bounds the work (and the cache) for hostile, very long strings.
_MAX_UA_CHARS = 2048

_I = re.IGNORECASE

# (pattern, flags, family, kind), checked in order before ua-parser: the first match wins.
# Scanners come first ("python-requests/2.25 Nikto" is Nikto), libraries last among the rules.
_RULE_DATA: tuple[tuple[str, int, str, str], ...] = (
    # --- scanners: vulnerability scanners, fuzzers, internet-wide surveys
    (r"\bNikto\b", _I, "Nikto", "scanner"),
    (r"\bsqlmap\b", _I, "sqlmap", "scanner"),
    (r"\bNmap Scripting Engine\b|\bnmap\b", _I, "Nmap", "scanner"),
    (r"\bmasscan\b", _I, "masscan", "scanner"),
    (r"\bzgrab\d?\b", _I, "zgrab", "scanner"),
    (r"\bnuclei\b|projectdiscovery", _I, "Nuclei", "scanner"),
    (r"\bWPScan\b", _I, "WPScan", "scanner"),
    (r"\bDirBuster\b", _I, "DirBuster", "scanner"),
    (r"\bgobuster\b", _I, "gobuster", "scanner"),
    (r"\bffuf\b|Fuzz Faster U Fool", _I, "ffuf", "scanner"),
    (r"Acunetix", _I, "Acunetix", "scanner"),
    (r"\bNessus\b", _I, "Nessus", "scanner"),
    (r"OpenVAS", _I, "OpenVAS", "scanner"),
    (r"\bBurp\b|burpcollaborator", _I, "Burp Suite", "scanner"),
    (r"\bZmEu\b", _I, "ZmEu", "scanner"),
    (r"\bCensys", _I, "Censys", "scanner"),
    (r"^Expanse\b|scaninfo@paloaltonetworks\.com", _I, "Expanse", "scanner"),
    (r"\bl9(?:explore|tcpid|scan)\b", _I, "l9explore", "scanner"),
    # --- monitors: uptime checks and load-balancer / orchestrator health probes
    (r"UptimeRobot", _I, "UptimeRobot", "monitor"),
    (r"Pingdom", _I, "Pingdom", "monitor"),
    (r"StatusCake", _I, "StatusCake", "monitor"),
    (r"Site24x7", _I, "Site24x7", "monitor"),
    (r"Datadog[ /_-]?Synthetics", _I, "Datadog Synthetics", "monitor"),
    (r"Better ?(?:Uptime|Stack)", _I, "Better Uptime", "monitor"),
    (r"^kube-probe/", _I, "kube-probe", "monitor"),
    (r"\bELB-HealthChecker/", _I, "ELB-HealthChecker", "monitor"),
    (r"^GoogleHC/", _I, "GoogleHC", "monitor"),
    (r"\bZabbix\b", _I, "Zabbix", "monitor"),
    (r"\bcheck_http/|nagios-plugins|\bNagios\b", _I, "Nagios", "monitor"),
    (r"Blackbox[ _]Exporter", _I, "Prometheus Blackbox", "monitor"),
    (r"^Prometheus/", _I, "Prometheus", "monitor"),
    # --- webhook senders: services that POST events to the site
    (r"^GitHub-Hookshot/", _I, "GitHub-Hookshot", "webhook"),
    (r"^GitLab/", _I, "GitLab", "webhook"),
    (r"^Bitbucket-Webhooks/", _I, "Bitbucket-Webhooks", "webhook"),
    (r"^Stripe/", _I, "Stripe", "webhook"),
    # Slack's Events API and slash commands; its link unfurler (Slackbot-LinkExpanding) and
    # Slack-ImgProxy fetch pages and images like any crawler, so ua-parser handles those.
    (r"^Slackbot \d[\d.]* \(\+https?://api\.slack\.com/robots\)$", 0, "Slackbot", "webhook"),
    (r"^Discord-Interactions/", _I, "Discord-Interactions", "webhook"),
    (r"^Twilio", _I, "Twilio", "webhook"),
    (r"\bPayPal IPN\b", _I, "PayPal IPN", "webhook"),
    (r"^Shopify-Captain-Hook\b", _I, "Shopify", "webhook"),
    (r"\bZapier\b", _I, "Zapier", "webhook"),
    (r"^Mailgun/", _I, "Mailgun", "webhook"),
    (r"^SendGrid\b", _I, "SendGrid", "webhook"),
    # --- HTTP libraries and CLI tools (several of them are "Spider" devices for ua-parser)
    (r"\bcurl/", _I, "curl", "library"),
    (r"\bWget/", _I, "Wget", "library"),
    (r"\bpython-requests/", _I, "python-requests", "library"),
    (r"\bPython-urllib/", _I, "python-urllib", "library"),
    (r"\bpython-urllib3/|^urllib3/", _I, "urllib3", "library"),
    (r"\baiohttp/", _I, "aiohttp", "library"),
    (r"\bpython-httpx/", _I, "httpx", "library"),
    (r"^Go-http-client/", _I, "Go-http-client", "library"),
    (r"\bokhttp/", _I, "okhttp", "library"),
    (r"\bApache-HttpClient/", _I, "Apache-HttpClient", "library"),
    (r"^Java/", _I, "Java", "library"),
    (r"\blibwww-perl/", _I, "libwww-perl", "library"),
    (r"\baxios/", _I, "axios", "library"),
    (r"\bnode-fetch\b", _I, "node-fetch", "library"),
    (r"^undici\b", _I, "undici", "library"),
    (r"^node$", _I, "node", "library"),
    (r"PowerShell/", _I, "PowerShell", "library"),
    (r"^Ruby\b", _I, "Ruby", "library"),
    (r"^Faraday\b", _I, "Faraday", "library"),
    (r"\bGuzzleHttp/|^PHP/", _I, "PHP", "library"),
    (r"^Dart/", _I, "Dart", "library"),
    (r"^HTTPie/", _I, "HTTPie", "library"),
    (r"^PostmanRuntime/", _I, "Postman", "library"),
)

_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern, flags), family, kind) for pattern, flags, family, kind in _RULE_DATA
)

# Crawlers that ua-parser names but might not put on a "Spider" device.
_CRAWLER_FAMILIES = frozenset(
    {
        "Googlebot", "bingbot", "YandexBot", "Baiduspider", "DuckDuckBot", "AhrefsBot",
        "SemrushBot", "MJ12bot", "PetalBot", "GPTBot", "ClaudeBot", "FacebookBot",
        "facebookexternalhit", "Applebot",
    }
)  # fmt: skip

# Last resort for strings neither table knows: a client that calls itself a bot.
_SELF_NAMED_BOT = re.compile(r"\b([A-Za-z][\w.-]{0,40}?(?:bot|crawler|spider))(?![a-z])", _I)


#: Device family that makes a user agent a crawler, whatever its user-agent family.
_SPIDER = "Spider"

# ua-parser is asked two things only: the user-agent family, and whether the device family is
# "Spider". Building its native matchers was most of a report's fixed cost: 0.15 s of CPU holding
# the GIL, 0.05 s for the 433 user-agent matchers and 0.10 s for the 633 device matchers (the OS
# matchers are never built). So each question gets its own resolver: the family needs only the
# user-agent matchers, and "Spider" needs, for most user agents, only the few device matchers that
# can say "Spider" (_spider_split). The full device list is built on the first user agent that
# needs it (see _is_spider): a crawler that only the catch-all "bot|crawl|spider|..." matcher
# calls a "Spider" (BLEXBot, Barkrowler...), so most logs with crawler traffic still build it.

_ResolverType = Callable[[ua_parser.Matchers], ua_parser.Resolver]
_DeviceMatchers = list[ua_parser.core.Matcher[Device]]


@cache
def _resolver_type() -> _ResolverType:
    """ua-parser's native ``regex`` resolver when installed, else what ua-parser uses without it."""
    try:
        from ua_parser.regex import Resolver
    except ImportError:  # ua-parser-rs not installed: re2 when installed, else pure Python
        return ua_parser.BestAvailableResolver
    return Resolver


@cache
def _user_agent_resolver() -> ua_parser.Resolver:
    user_agents, _, _ = ua_parser.load_lazy_builtins()
    return _resolver_type()((user_agents, [], []))


def _device_resolver(devices: _DeviceMatchers) -> ua_parser.Resolver:
    return _resolver_type()(([], [], devices))


@cache
def _all_devices() -> ua_parser.Resolver:
    """Every device matcher, in ua-parser's order: the device is the first one that matches."""
    return _device_resolver(ua_parser.load_lazy_builtins()[2])


# How a device matcher's family can come out as "Spider". The family is a template: each "$1".."$9"
# is replaced by that group of the regex (text of the user agent), then the result is stripped.
#   never:       "Generic Tablet", "Apple $1": whatever the groups hold
#   whole group: "$1", "$1 $2": from one group holding all of "Spider", so only when the user agent
#                contains "Spider"
#   anyhow:      "Spider" itself, or "$1$2" ("Spi" + "der" from two places in the user agent)
_Route = Literal["never", "whole group", "anyhow"]
_NEVER: _Route = "never"
_WHOLE_GROUP: _Route = "whole group"
_ANYHOW: _Route = "anyhow"

_PLACEHOLDER = re.compile(r"(\$\d)(?!\w)")


def _spider_route(family: str) -> _Route:
    """_NEVER, _WHOLE_GROUP or _ANYHOW for a device matcher's family template."""
    parts = _PLACEHOLDER.split(family)
    literals = parts[0::2]  # the text before, between and after the placeholders
    if any("$" in literal for literal in literals):
        return _ANYHOW  # "$12", "$1a", "${1}", "$$": the two engines read these differently
    if len(literals) == 1:
        return _ANYHOW if family.strip() == _SPIDER else _NEVER
    if any(literal.strip() not in _SPIDER for literal in literals):
        return _NEVER  # the template's own text ("Acer ") stays in the result
    if any(literal.strip() for literal in literals):
        return _ANYHOW  # "S$1", "$1der": the template spells part of "Spider"
    # Only placeholders and whitespace are left. "Spider" holds no whitespace, so it comes from
    # placeholders that touch ("$1$2") or else from a single group.
    return _ANYHOW if "" in literals[1:-1] else _WHOLE_GROUP


def _spider_split(devices: _DeviceMatchers) -> tuple[_DeviceMatchers, _DeviceMatchers]:
    """The device matchers that can say "Spider" when the user agent does not contain "Spider".

    Returns (leading, later): the list's first matchers as long as they are such, and the others
    in order. With ua-parser 1.0's data: the six "Spider" matchers that open the list, then the
    catch-all "Spider" matcher near its end and 43 "$1$2"-like templates; 12 ms to build, not 100.
    """
    anyhow = [_spider_route(cast(DeviceMatcher, matcher).family) == _ANYHOW for matcher in devices]
    lead = anyhow.index(False) if False in anyhow else len(devices)
    later = zip(devices[lead:], anyhow[lead:], strict=True)
    return devices[:lead], [matcher for matcher, keep in later if keep]


@cache
def _spider_resolvers() -> tuple[ua_parser.Resolver, ua_parser.Resolver]:
    leading, later = _spider_split(ua_parser.load_lazy_builtins()[2])
    return _device_resolver(leading), _device_resolver(later)


def _device_family(resolver: ua_parser.Resolver, ua: str) -> str | None:
    device = resolver(ua, Domain.DEVICE).device
    return device.family if device else None


def _is_spider(ua: str) -> bool:
    """Whether ua-parser's device family for ``ua`` is "Spider", asking as few matchers as can tell.

    ua-parser's device is the first device matcher that matches. So:

    - a match among the leading matchers of _spider_split is that first match;
    - when the later ones do not match, or the first that does is not a "Spider", neither is the
      full list's first match: the matchers they leave out say "Spider" only when the user agent
      contains it (_WHOLE_GROUP);
    - otherwise (the catch-all "Spider" matcher, or "Spider" in the user agent), whether an
      earlier matcher matches first decides, and only the full list can tell.
    """
    leading, later = _spider_resolvers()
    first = _device_family(leading, ua)
    if first is not None:
        return first == _SPIDER
    if _SPIDER not in ua:
        try:
            if _device_family(later, ua) != _SPIDER:
                return False
        except ValueError:
            pass  # a pure-Python matcher whose family came out empty: let the full list decide
    return _device_family(_all_devices(), ua) == _SPIDER


def _ua_family(ua: str) -> str | None:
    """ua-parser's user-agent family for ``ua``; None where no matcher matched."""
    user_agent = _user_agent_resolver()(ua, Domain.USER_AGENT).user_agent
    return user_agent.family if user_agent else None


def _clean(ua: object) -> str | None:
    """The part of ``ua`` worth classifying, as valid UTF-8; None when there is no user agent."""
    if ua is None or (isinstance(ua, float) and ua != ua):  # None, NaN
        return None
    text = ua if isinstance(ua, str) else str(ua)
    text = text[:_MAX_UA_CHARS].strip()
    if text in ("", "-"):
        return None
    if not text.isascii():
        # lone surrogates cannot cross into the native parser
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


@lru_cache(maxsize=8192)
def _classify_one(ua: str) -> tuple[str, str]:
    """(family, kind) of a cleaned, non-empty user agent."""
    for pattern, family, kind in _RULES:
        if pattern.search(ua):
            return family, kind
    parsed = _ua_family(ua)
    # the device is asked only when the family does not already say "crawler"
    if parsed in _CRAWLER_FAMILIES or _is_spider(ua):
        return parsed or "Other", "crawler"
    if parsed and parsed != "Other":
        return parsed, "browser"
    if match := _SELF_NAMED_BOT.search(ua):
        return match.group(1), "crawler"
    return "Other", "unknown"


def describe_user_agent(ua: str | None) -> tuple[str, str]:
    """Return ``(family, kind)`` for one user-agent string.

    >>> describe_user_agent("curl/8.5.0")
    ('curl', 'library')
    """
    text = _clean(ua)
    if text is None:
        return NO_USER_AGENT, "unknown"
    return _classify_one(text)


def _to_arrow(values: pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    """One Arrow array of strings (or a dictionary of strings) for any accepted input."""
    if isinstance(values, pd.Series):
        try:
            arr: pa.Array | pa.ChunkedArray = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):
            # an object column holding non-strings or unencodable strings: factorize it, and
            # make strings of the distinct values only
            codes, uniques = pd.factorize(values.to_numpy(dtype=object))
            cleaned = [_clean(value) for value in uniques]
            arr = pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=codes < 0, type=pa.int32()), pa.array(cleaned, pa.string())
            )
    else:
        arr = values
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.string())
    kind = arr.type.value_type if pa.types.is_dictionary(arr.type) else arr.type
    if pa.types.is_null(kind):
        return pa.nulls(len(arr), pa.string())
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        arr = arr.cast(pa.large_string())  # string_view, binary...
    return arr


def classify_user_agents(user_agents: pd.Series | pa.Array | pa.ChunkedArray) -> pd.DataFrame:
    """Classify every user agent; each distinct string is parsed once.

    Returns one row per input row (with the Series' index when given one) and two categorical
    columns: ``ua_family`` ("Chrome", "Googlebot", "curl", "Nikto", "Other", ``"(none)"`` for a
    missing user agent...) and ``client_kind``, whose categories are exactly ``CLIENT_KINDS``.
    """
    index = user_agents.index if isinstance(user_agents, pd.Series) else None
    arr = _to_arrow(user_agents)
    encoded = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)

    described = [describe_user_agent(ua) for ua in encoded.dictionary.to_pylist()]
    codes = encoded.indices
    if codes.null_count:
        codes = codes.fill_null(len(described))
        described.append((NO_USER_AGENT, "unknown"))
    codes = codes.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
    family_codes, families = pd.factorize(
        np.array([family for family, _ in described], dtype=object), sort=True
    )
    kind_codes = np.array([CLIENT_KINDS.index(kind) for _, kind in described], dtype=np.int8)

    return pd.DataFrame(
        {
            "ua_family": pd.Categorical.from_codes(
                family_codes[codes], categories=pd.Index(families)),
            "client_kind": pd.Categorical.from_codes(
                kind_codes[codes], categories=pd.Index(CLIENT_KINDS)),
        },
        index=index,
    )


_XFF_FIELDS = frozenset({"x-forwarded-for", "xff", "x_forwarded_for"})
_XFF_COLUMN = "header_x_forwarded_for"
_NO_ADDRESS = pa.array(["", "-", "unknown"])


def _header_column(field: str) -> str:
    return "header_" + field.strip().lower().replace("-", "_")


def client_identity(frame: pd.DataFrame, field: str = "client") -> pd.Series:
    """The client identity of each row, as chosen by ``--client-field``.

    ``"client"`` is the logged address; ``"x-forwarded-for"`` (or ``"xff"``) is the first address
    of the ``X-Forwarded-For`` header, falling back to ``client`` where the header is missing,
    empty, ``-`` or ``unknown``; any other column name (or a header name such as ``x-real-ip``
    for ``header_x_real_ip``) is that column as it stands.

    Raises ``UnknownFieldError`` (listing the choices) when the frame has no such field.
    """
    key = field.strip().lower()
    if key in _XFF_FIELDS and _XFF_COLUMN in frame.columns:
        return _first_forwarded(frame)
    if field in frame.columns:
        return frame[field]
    if _header_column(field) in frame.columns:
        return frame[_header_column(field)]
    choices = ["client"] if "client" in frame.columns else []
    if _XFF_COLUMN in frame.columns:
        choices.append("x-forwarded-for")
    choices += [str(c) for c in frame.columns if c not in ("client", _XFF_COLUMN)]
    raise UnknownFieldError(field, choices)


def _first_forwarded(frame: pd.DataFrame) -> pd.Series:
    """First address of X-Forwarded-For, else the logged client address."""
    xff = frame[_XFF_COLUMN]
    first = pc.utf8_trim_whitespace(
        pc.list_element(pc.split_pattern(_to_arrow(xff).cast(pa.large_string()), ","), 0)
    )
    missing = pc.or_kleene(pc.is_null(first), pc.is_in(pc.utf8_lower(first), _NO_ADDRESS))
    if "client" in frame.columns:
        client = _to_arrow(frame["client"]).cast(pa.large_string())
        first = pc.if_else(missing, client, first)
    else:
        first = pc.if_else(missing, pa.scalar(None, pa.large_string()), first)
    like = frame["client"] if "client" in frame.columns else xff
    result = pd.Series(
        pd.arrays.ArrowExtensionArray(first.cast(pa.string())), index=frame.index, name="client"
    )
    if isinstance(like.dtype, pd.ArrowDtype):
        return result
    if isinstance(like.dtype, pd.CategoricalDtype):
        return result.astype("category")
    return result.astype(like.dtype)
