from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer import clients
from analyzer.clients import (
    CLIENT_KINDS,
    classify_user_agents,
    client_identity,
    describe_user_agent,
)
from analyzer.errors import UnknownFieldError

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


def test_each_distinct_user_agent_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_parse = clients._ua_parse

    def counting_parse(ua: str) -> tuple[str | None, str | None]:
        calls.append(ua)
        return real_parse(ua)

    monkeypatch.setattr(clients, "_ua_parse", counting_parse)
    clients._classify_one.cache_clear()
    series = pd.Series(np.tile(np.array([CHROME, FIREFOX, GOOGLEBOT], dtype=object), 33_334))
    frame = classify_user_agents(series[:100_000])
    clients._classify_one.cache_clear()  # leave no counted entries behind

    assert sorted(calls) == sorted([CHROME, FIREFOX, GOOGLEBOT])
    assert frame["ua_family"].value_counts().to_dict() == {
        "Chrome": 33_334, "Firefox": 33_333, "Googlebot": 33_333
    }  # fmt: skip


def test_distinct_once_does_not_rely_on_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def uncached(ua: str) -> tuple[str, str]:
        calls.append(ua)
        return "Family", "browser"

    monkeypatch.setattr(clients, "_classify_one", uncached)
    values = pa.chunked_array([["a", "b"] * 1000, ["c", None, "a"] * 1000])
    frame = classify_user_agents(values)
    assert sorted(calls) == ["a", "b", "c"]
    assert len(frame) == 5000


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
