from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import ua_parser
from paths import REAL_LOGS, SAMPLE_LOGS
from ua_parser import Domain

from analyzer.errors import UnknownFieldError
from analyzer.verdicts import clients
from analyzer.verdicts.clients import (
    CLIENT_KINDS,
    classify_user_agents,
    client_identity,
    describe_user_agent,
)

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

# (user agent, family, kind): real strings as they appear in access logs.
USER_AGENTS = [
    # browsers
    (CHROME, "Chrome", "browser"),
    (FIREFOX, "Firefox", "browser"),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mobile Safari",
        "browser",
    ),
    (CHROME + " Edg/124.0.2478.51", "Edge", "browser"),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
        "Samsung Internet",
        "browser",
    ),
    ("Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)", "IE", "browser"),
    # crawlers
    (GOOGLEBOT, "Googlebot", "crawler"),
    (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "bingbot",
        "crawler",
    ),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "YandexBot", "crawler"),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot", "crawler"),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot)",
        "GPTBot",
        "crawler",
    ),
    (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "FacebookBot",
        "crawler",
    ),
    (
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Slackbot-LinkExpanding",
        "crawler",
    ),
    ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "Discordbot", "crawler"),
    (
        "Mozilla/5.0 (compatible; ExampleCrawler/0.3; +https://example.org/about)",
        "ExampleCrawler",
        "crawler",
    ),
    # scanners
    ("Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)", "Nikto", "scanner"),
    ("sqlmap/1.8#stable (https://sqlmap.org)", "sqlmap", "scanner"),
    (
        "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
        "Nmap",
        "scanner",
    ),
    ("masscan/1.3 (https://github.com/robertdavidgraham/masscan)", "masscan", "scanner"),
    ("Mozilla/5.0 zgrab/0.x", "zgrab", "scanner"),
    (
        CHROME + " Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
        "Nuclei",
        "scanner",
    ),
    ("WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)", "WPScan", "scanner"),
    ("Fuzz Faster U Fool v2.1.0-dev", "ffuf", "scanner"),
    ("Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)", "Censys", "scanner"),
    ("Mozilla/5.0 (l9explore/1.2.2)", "l9explore", "scanner"),
    ("python-requests/2.25.1 Nikto", "Nikto", "scanner"),  # scanner rules come first
    # libraries and CLI tools
    ("curl/8.5.0", "curl", "library"),
    ("Wget/1.21.4", "Wget", "library"),
    ("python-requests/2.31.0", "python-requests", "library"),
    ("Python-urllib/3.11", "python-urllib", "library"),  # a "Spider" device for ua-parser
    ("Python/3.11 aiohttp/3.9.5", "aiohttp", "library"),
    ("Go-http-client/1.1", "Go-http-client", "library"),
    ("okhttp/4.12.0", "okhttp", "library"),
    ("Java/17.0.2", "Java", "library"),
    ("Apache-HttpClient/4.5.14 (Java/17.0.8)", "Apache-HttpClient", "library"),
    ("libwww-perl/6.72", "libwww-perl", "library"),
    (
        "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3803",
        "PowerShell",
        "library",
    ),
    ("PostmanRuntime/7.37.3", "Postman", "library"),
    # monitors
    (
        "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "UptimeRobot",
        "monitor",
    ),
    ("Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", "Pingdom", "monitor"),
    ("kube-probe/1.29", "kube-probe", "monitor"),
    ("ELB-HealthChecker/2.0", "ELB-HealthChecker", "monitor"),
    ("check_http/v2.3.3 (nagios-plugins 2.3.3)", "Nagios", "monitor"),
    # webhook senders
    ("GitHub-Hookshot/7d2e5e1", "GitHub-Hookshot", "webhook"),
    ("Stripe/1.0 (+https://stripe.com/docs/webhooks)", "Stripe", "webhook"),
    ("Slackbot 1.0 (+https://api.slack.com/robots)", "Slackbot", "webhook"),
    ("Shopify-Captain-Hook", "Shopify", "webhook"),
    # unknown
    ("Mozilla/5.0", "Other", "unknown"),
    ("hello world", "Other", "unknown"),
]


@pytest.mark.parametrize(("ua", "family", "kind"), USER_AGENTS)
def test_describe_user_agent(ua: str, family: str, kind: str) -> None:
    assert describe_user_agent(ua) == (family, kind)


def test_the_table_covers_every_kind() -> None:
    assert {kind for _, _, kind in USER_AGENTS} == set(CLIENT_KINDS)


def test_classify_matches_describe_row_by_row() -> None:
    uas = [ua for ua, _, _ in USER_AGENTS]
    frame = classify_user_agents(pd.Series(uas))
    assert frame["ua_family"].tolist() == [family for _, family, _ in USER_AGENTS]
    assert frame["client_kind"].tolist() == [kind for _, _, kind in USER_AGENTS]


@pytest.mark.parametrize("missing", [None, "", "-", "  ", " - "])
def test_missing_user_agent(missing: str | None) -> None:
    assert describe_user_agent(missing) == ("(none)", "unknown")


def test_missing_values_in_a_column() -> None:
    series = pd.Series(["curl/8.5.0", None, "", "-", "curl/8.5.0"], index=[10, 20, 30, 40, 50])
    frame = classify_user_agents(series)
    assert frame.index.tolist() == [10, 20, 30, 40, 50]
    assert frame["ua_family"].tolist() == ["curl", "(none)", "(none)", "(none)", "curl"]
    assert frame["client_kind"].tolist() == ["library", "unknown", "unknown", "unknown", "library"]


def test_columns_and_categories_are_exact() -> None:
    frame = classify_user_agents(pd.Series([GOOGLEBOT, "curl/8.5.0", None, CHROME]))
    assert frame.columns.tolist() == ["ua_family", "client_kind"]
    assert isinstance(frame["ua_family"].dtype, pd.CategoricalDtype)
    assert isinstance(frame["client_kind"].dtype, pd.CategoricalDtype)
    assert tuple(frame["client_kind"].cat.categories) == CLIENT_KINDS
    assert sorted(frame["ua_family"].cat.categories) == ["(none)", "Chrome", "Googlebot", "curl"]
    assert CLIENT_KINDS == (
        "browser", "crawler", "scanner", "library", "monitor", "webhook", "unknown"
    )  # fmt: skip


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["curl/8.5.0", None, GOOGLEBOT]),
        pd.Series(["curl/8.5.0", None, GOOGLEBOT], dtype=pd.ArrowDtype(pa.string())),
        pd.Series(["curl/8.5.0", None, GOOGLEBOT], dtype="category"),
        pd.Series(["curl/8.5.0", None, GOOGLEBOT], dtype=object),
        pa.array(["curl/8.5.0", None, GOOGLEBOT]),
        pa.array(["curl/8.5.0", None, GOOGLEBOT], pa.large_string()),
        pa.array(["curl/8.5.0", None, GOOGLEBOT]).dictionary_encode(),
        pa.chunked_array([["curl/8.5.0"], [None, GOOGLEBOT]]),
    ],
    ids=["str", "arrow", "category", "object", "pa", "large", "dictionary", "chunked"],
)
def test_accepted_inputs(values: pd.Series | pa.Array | pa.ChunkedArray) -> None:
    frame = classify_user_agents(values)
    assert frame.index.tolist() == [0, 1, 2]
    assert frame["ua_family"].tolist() == ["curl", "(none)", "Googlebot"]
    assert frame["client_kind"].tolist() == ["library", "unknown", "crawler"]


@pytest.mark.parametrize(
    "values",
    [pd.Series([], dtype=str), pa.array([], pa.string()), pa.chunked_array([], pa.string())],
    ids=["series", "array", "no-chunks"],
)
def test_empty_input(values: pd.Series | pa.Array | pa.ChunkedArray) -> None:
    frame = classify_user_agents(values)
    assert len(frame) == 0
    assert tuple(frame["client_kind"].cat.categories) == CLIENT_KINDS


def test_all_null_input() -> None:
    frame = classify_user_agents(pa.nulls(3))
    assert frame["ua_family"].tolist() == ["(none)"] * 3
    assert frame["client_kind"].tolist() == ["unknown"] * 3


def test_many_rows_of_few_user_agents() -> None:
    series = pd.Series(np.tile(np.array([CHROME, FIREFOX, GOOGLEBOT], dtype=object), 33_334))
    frame = classify_user_agents(series[:100_000])
    assert frame["ua_family"].value_counts().to_dict() == {
        "Chrome": 33_334, "Firefox": 33_333, "Googlebot": 33_333
    }  # fmt: skip
    kinds = frame["client_kind"].value_counts()
    assert kinds[kinds > 0].to_dict() == {"browser": 66_667, "crawler": 33_333}


def test_chunks_and_nulls_are_described_row_by_row() -> None:
    values = pa.chunked_array([[CHROME, "curl/8.5.0"] * 1000, [GOOGLEBOT, None, CHROME] * 1000])
    frame = classify_user_agents(values)
    expected = [describe_user_agent(ua) for ua in values.to_pylist()]
    assert list(zip(frame["ua_family"], frame["client_kind"], strict=True)) == expected
    assert expected[:2] == [("Chrome", "browser"), ("curl", "library")]
    assert expected[-2] == ("(none)", "unknown")


@pytest.mark.parametrize(
    "ua",
    [
        "\x00\x01\x02\x1b[31mred\x1b[0m\r\n\t",
        "A" * 10_240,
        "Mozilla/5.0 (" * 1000,
        "bot" * 4000,
        "\ud800\udfff lone surrogates \udc80",
        "Mozilla/5.0 \u202e\ufeff\U0001f600 (compatible; \u0000)",
        "((((((((((((((((((((((((((((((((((((((((((((((",
    ],
    ids=["control", "10k", "repeated", "bot-bot", "surrogates", "unicode", "parens"],
)
def test_hostile_strings_do_not_raise(ua: str) -> None:
    family, kind = describe_user_agent(ua)
    assert isinstance(family, str)
    assert kind in CLIENT_KINDS
    frame = classify_user_agents(pd.Series([ua, ua, None], dtype=object))
    assert frame["ua_family"].tolist()[:2] == [family, family]


def test_a_long_user_agent_is_classified_by_its_start() -> None:
    assert describe_user_agent("curl/8.5.0 " + "x" * 50_000) == ("curl", "library")


# --- the same answers as ua-parser's full matcher lists --------------------------------------
# clients asks ua-parser's user-agent matchers for the family, and only a few device matchers
# whether the device is a "Spider" (the full device list only when those cannot tell). These
# tests hold it to the parser it replaced: one resolver over every user-agent and device matcher.


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')

# A Coolpad phone whose model the "$1$2" device template reads as "Spi" + "der": a "Spider".
SPIDER_FROM_PIECES = (
    "Mozilla/5.0 (Linux; Android 9; SpiCoolpad der Build/PKQ1) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0 Mobile Safari/537.36"
)
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/W.X.Y.Z Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)"
)
SAMSUNG_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36"
)
BLEXBOT = "Mozilla/5.0 (compatible; BLEXBot/1.0; +http://webmeup-crawler.com/)"

# Strings where the device answer is easy to get wrong.
TRICKY = [
    # crawlers that carry a phone's name: "Spider" from the leading device matchers
    GOOGLEBOT_SMARTPHONE,
    "Mozilla/5.0 (Linux; Android 5.0; SM-G900P Build/LRX21T) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/W.X.Y.Z Mobile Safari/537.36 (compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm)",
    "SAMSUNG-SGH-E250/1.0 Profile/MIDP-2.0 Configuration/CLDC-1.1 UP.Browser/6.2.3.3.c.1.101 (GUI) "
    "MMP/2.0 (compatible; Googlebot-Mobile/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 12; SAMSUNG SM-A525F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/17.0 Chrome/96.0.4664.104 Mobile Safari/537.36 bot",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; robot/1.0; +http://example.com/bot.html)",
    "Samsung SGH-i900 Googlebot",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 14_7_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/14.1.2 Mobile/15E148 Safari/604.1 (compatible; AdsBot-Google-Mobile; "
    "+http://www.google.com/mobile/adsbot.html)",
    "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
    "Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
    "Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
    CHROME + " PTST/240410.140210",
    "Mozilla/5.0 (X11; Datanyze; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/65.0.3325.181 Safari/537.36",
    # only the late catch-all "bot|crawl|spider|silk|..." matcher says "Spider": a device matcher
    # before it may match first (a Kindle's Silk), or none does
    "Mozilla/5.0 (Linux; U; en-us; KFAPWI Build/JDQ39) AppleWebKit/535.19 (KHTML, like Gecko) "
    "Silk/3.13 Safari/535.19 Silk-Accelerated=true",
    BLEXBOT,
    GOOGLEBOT,
    "Googlebot-Image/1.0",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
    "Mozilla/5.0 (Windows; U; Windows NT 5.1; zh-CN; )  Firefox/1.5.0.11; 360Spider",
    "WhatsApp/2.23",
    "WhatsApp/2.23.20.0 A",
    "Java/1.8",
    "Java/1.8.0_151",
    "Python-urllib/3.11",
    "curl/8",
    # a "Spider" device from a "$1" or "$1$2" family template, which no "Spider" matcher sees:
    # "Spi" + "der" around "Coolpad", and "Spider" as a phone model past the catch-all's reach
    SPIDER_FROM_PIECES,
    "Mozilla/5.0 (Linux; Android 9; SpiCoolpad_der) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; Spider) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100 "
    "Mobile Safari/537.36",
    "x" * 120 + "Mozilla/5.0 (Linux; Android 9; Spider Build/PKQ1) AppleWebKit/537.36",
    "a" * 101 + "; Spider Build/x",
    "a" * 101 + "; spider Build/x",
    # empty, blank and long
    "",
    " ",
    "-",
    "Mozilla/5.0 " + "x" * 3000 + " bot",
    "Mozilla/5.0 (Linux; Android 14; " + "Pixel 8 " * 400 + ") Mobile Safari/537.36",
    "a" * 5000,
    *(ua for ua, _, _ in USER_AGENTS),
]


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def _quoted_fields(folder: Path) -> Iterator[str]:
    """Every quoted field of every log line (the user agent is the last one in combined logs,
    not in the formats that log a header or the Allow field after it), and the user agents of
    the manifests."""
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".manifest.csv"):
            for row in csv.DictReader(_read_text(path).splitlines()):
                yield row["user_agent"]
        elif ".log" in path.name:
            for line in _read_text(path).splitlines():
                yield from _QUOTED.findall(line)


@cache
def _corpus() -> tuple[str, ...]:
    folders = [SAMPLE_LOGS] + ([REAL_LOGS] if REAL_LOGS.is_dir() else [])
    found = {field for folder in folders for field in _quoted_fields(folder)}
    return tuple(sorted(found | set(TRICKY)))


def _cleaned(uas: tuple[str, ...]) -> list[str]:
    return sorted({text for ua in uas if (text := clients._clean(ua)) is not None})


@cache
def _full_parser() -> ua_parser.Parser:
    """The parser clients used before: one native resolver over every user-agent and device
    matcher."""
    from ua_parser.regex import Resolver

    user_agents, _, devices = ua_parser.load_lazy_builtins()
    return ua_parser.Parser(Resolver((user_agents, [], devices)))


def _full_answers(parser: ua_parser.Parser, ua: str) -> tuple[str | None, bool]:
    result = parser(ua, Domain.USER_AGENT | Domain.DEVICE)
    family = result.user_agent.family if result.user_agent else None
    return family, result.device is not None and result.device.family == "Spider"


def _mismatches(
    uas: list[str], reference: Callable[[str], tuple[str | None, bool]]
) -> list[tuple[str, tuple[str | None, bool], tuple[str | None, bool]]]:
    found = []
    for ua in uas:
        ours = (clients._ua_family(ua), clients._is_spider(ua))
        if ours != (expected := reference(ua)):
            found.append((ua, ours, expected))
    return found


def test_the_corpus_holds_real_user_agents() -> None:
    corpus = _corpus()
    assert len(corpus) > 100
    assert "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)" in corpus  # sample logs
    if REAL_LOGS.is_dir():
        assert "Googlebot-Image/1.0" in corpus  # lnav_shop_nginx_xff.log


def test_family_and_spider_match_the_full_parser() -> None:
    uas = _cleaned(_corpus())
    assert _mismatches(uas, lambda ua: _full_answers(_full_parser(), ua)) == []


def _described_the_old_way(ua: str | None) -> tuple[str, str]:
    """describe_user_agent as it was, over the full parser."""
    text = clients._clean(ua)
    if text is None:
        return clients.NO_USER_AGENT, "unknown"
    for pattern, family, kind in clients._RULES:
        if pattern.search(text):
            return family, kind
    result = _full_parser()(text, Domain.USER_AGENT | Domain.DEVICE)
    family = result.user_agent.family if result.user_agent else None
    device = result.device.family if result.device else None
    if device == "Spider" or family in clients._CRAWLER_FAMILIES:
        return family or "Other", "crawler"
    if family and family != "Other":
        return family, "browser"
    if match := clients._SELF_NAMED_BOT.search(text):
        return match.group(1), "crawler"
    return "Other", "unknown"


def test_describe_user_agent_is_unchanged() -> None:
    changed = [
        (ua, describe_user_agent(ua), _described_the_old_way(ua))
        for ua in _corpus()
        if describe_user_agent(ua) != _described_the_old_way(ua)
    ]
    assert changed == []
    # the "$1$2" template that spells "Spider": a crawler although no "Spider" matcher matches
    assert describe_user_agent(SPIDER_FROM_PIECES) == ("Chrome", "crawler")


@pytest.mark.parametrize(
    ("family", "route"),
    [
        ("Spider", clients._ANYHOW),
        (" Spider ", clients._ANYHOW),
        ("Generic Smartphone", clients._NEVER),
        ("Spi der", clients._NEVER),
        ("$1", clients._WHOLE_GROUP),
        ("$1 $2", clients._WHOLE_GROUP),
        ("$2 $1", clients._WHOLE_GROUP),
        ("$1$2", clients._ANYHOW),
        ("$1 $2$3", clients._ANYHOW),
        ("S$1", clients._ANYHOW),
        ("$1 der", clients._ANYHOW),
        ("Apple $1", clients._NEVER),
        ("$1$2,$3", clients._NEVER),
        ("$1a", clients._ANYHOW),
        ("${1}", clients._ANYHOW),
    ],
)
def test_spider_route(family: str, route: str) -> None:
    assert clients._spider_route(family) == route


def test_the_spider_question_asks_few_matchers() -> None:
    devices = ua_parser.load_lazy_builtins()[2]
    leading, later = clients._spider_split(devices)
    spiders = [i for i, matcher in enumerate(devices) if matcher.family == "Spider"]
    assert leading == devices[: len(leading)]
    assert all(matcher.family == "Spider" for matcher in leading)
    assert {id(matcher) for matcher in leading + later} >= {id(devices[i]) for i in spiders}
    assert len(leading) + len(later) < len(devices) // 8


@pytest.mark.parametrize(
    ("ua", "full_list"),
    [
        (CHROME, False),
        (FIREFOX, False),
        (GOOGLEBOT_SMARTPHONE, False),  # a leading "Spider" matcher
        (SAMSUNG_PHONE, False),
        (SPIDER_FROM_PIECES, True),  # a later "Spider" (the "$1$2" template), like the catch-all:
        (BLEXBOT, True),  # whether an earlier device matcher matches first decides
        ("Mozilla/5.0 (Linux; Android 10; Spider) AppleWebKit/537.36", True),  # "Spider" in it
    ],
)
def test_spiders_are_found_where_the_full_device_list_finds_them(ua: str, full_list: bool) -> None:
    """Leading "Spider" matchers, later ones and the catch-all: the same answer as the full
    device list (``full_list``: the cases only the later matchers decide)."""
    assert clients._is_spider(ua) == _full_answers(_full_parser(), ua)[1]


@pytest.fixture
def pure_python(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """clients as it runs without ua-parser-rs (and without re2)."""
    cached = [clients._user_agent_resolver, clients._spider_resolvers, clients._all_devices]
    for function in cached:
        function.cache_clear()
    monkeypatch.setattr(clients, "_resolver_type", lambda: ua_parser.BasicResolver)
    yield
    for function in cached:
        function.cache_clear()


def test_without_the_native_resolver(pure_python: None) -> None:
    # what the old code built without ua-parser-rs: Parser.from_matchers over the eager builtins
    user_agents, _, devices = ua_parser.load_builtins()
    full = ua_parser.Parser(ua_parser.BasicResolver((user_agents, [], devices)))
    uas = _cleaned(tuple(TRICKY) + tuple(_quoted_fields(SAMPLE_LOGS)))
    assert _mismatches(uas, lambda ua: _full_answers(full, ua)) == []


# --- client_identity --------------------------------------------------------------------------


def _frame(dtype: object) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client": ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"],
            "header_x_forwarded_for": [
                "203.0.113.9, 10.0.0.1",
                "-",
                None,
                "  198.51.100.7  ",
                "",
            ],
            "user": ["alice", None, "bob", None, None],
        },
        index=[5, 6, 7, 8, 9],
    ).astype(dtype)


@pytest.mark.parametrize("dtype", ["str", pd.ArrowDtype(pa.string())], ids=["str", "arrow"])
@pytest.mark.parametrize("field", ["x-forwarded-for", "xff", "X-Forwarded-For"])
def test_client_identity_first_forwarded_address(dtype: object, field: str) -> None:
    frame = _frame(dtype)
    identity = client_identity(frame, field)
    assert identity.tolist() == [
        "203.0.113.9",
        "192.0.2.2",
        "192.0.2.3",
        "198.51.100.7",
        "192.0.2.5",
    ]
    assert identity.index.tolist() == [5, 6, 7, 8, 9]
    assert identity.dtype == frame["client"].dtype


def test_client_identity_client_and_other_columns() -> None:
    frame = _frame(pd.ArrowDtype(pa.string()))
    assert client_identity(frame).tolist() == frame["client"].tolist()
    assert client_identity(frame, "client").tolist() == frame["client"].tolist()
    assert client_identity(frame, "user").equals(frame["user"])
    assert client_identity(frame, "header_x_forwarded_for").equals(frame["header_x_forwarded_for"])


def test_client_identity_unknown_field() -> None:
    frame = _frame("str")
    with pytest.raises(UnknownFieldError) as info:
        client_identity(frame, "x-real-ip")
    assert info.value.choices == ["client", "x-forwarded-for", "user"]
    assert str(info.value) == (
        "unknown field 'x-real-ip'; choose one of: client, x-forwarded-for, user"
    )


def test_client_identity_xff_needs_the_header_column() -> None:
    frame = pd.DataFrame({"client": ["192.0.2.1"]})
    with pytest.raises(UnknownFieldError) as info:
        client_identity(frame, "xff")
    assert info.value.choices == ["client"]
