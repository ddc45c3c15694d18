"""The standard configuration, used by itself: an input under /var/log/nginx, /var/log/apache2
or /var/log/httpd gets the format of the directive that writes it in /etc/nginx/nginx.conf,
/etc/apache2/apache2.conf or /etc/httpd/conf/httpd.conf when no format and no configuration is
given. The tests run on a system root of their own (LOGSCAN_SYSROOT) that holds copies of the
configuration trees Debian's nginx and apache2 packages install, with formats added through
their include points, and real logs under its /var/log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import APACHE_ETC, NGINX_ETC, SAMPLE_LOGS, TIMED, needs_apache, needs_nginx, real_log

import analyzer
import analyzer.frame
from analyzer.cli.app import main

HINT = "; --log-format or --server-config chooses otherwise"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty system root, named by LOGSCAN_SYSROOT."""
    system = tmp_path / "root"
    (system / "etc").mkdir(parents=True)
    (system / "var" / "log").mkdir(parents=True)
    monkeypatch.setenv("LOGSCAN_SYSROOT", str(system))
    return system


def nginx_system(root: Path) -> Path:
    """Debian's /etc/nginx copied as it is (its absolute includes and its absolute symlink
    sites-enabled/default included), a format added through conf.d, and a site added the Debian
    way: in sites-available, linked from sites-enabled by an absolute path."""
    etc = root / "etc" / "nginx"
    shutil.copytree(NGINX_ETC, etc, symlinks=True)
    (etc / "conf.d" / "logscan.conf").write_text(
        f"log_format timed {TIMED};\naccess_log /var/log/nginx/timed.log timed;\n")
    (etc / "sites-available" / "shop").write_text(
        "server {\n    listen 8081;\n    server_name shop.example;\n"
        "    access_log /var/log/nginx/shop.log timed;\n}\n")
    (etc / "sites-enabled" / "shop").symlink_to("/etc/nginx/sites-available/shop")
    logs = root / "var" / "log" / "nginx"
    logs.mkdir()
    return logs


def apache_system(root: Path) -> Path:
    """Debian's /etc/apache2 copied as it is, the sample log's format added through
    conf-enabled."""
    etc = root / "etc" / "apache2"
    shutil.copytree(APACHE_ETC, etc, symlinks=True)
    (etc / "conf-enabled" / "logscan.conf").write_text(
        'LogFormat "%v:%p %h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\" '
        '%D \\"%{Allow}o\\"" logscan_vhost\n'
        "CustomLog ${APACHE_LOG_DIR}/allow.log logscan_vhost\n")
    logs = root / "var" / "log" / "apache2"
    logs.mkdir()
    return logs


def run(*args: str, output: str = "json") -> str:
    result = CliRunner().invoke(main, [*args, "--format", output])
    assert result.exit_code == 0, result.output
    return result.stdout


def sources(*args: str) -> dict[str, dict]:
    return {Path(s["path"]).name: s for s in json.loads(run(*args))["sources"]}


@needs_nginx
def test_nginx_logs_get_the_format_of_their_directive(root):
    logs = nginx_system(root)
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "timed.log")
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "shop.log.1")  # rotated
    shutil.copy(real_log("crowdsec_nginx-http-malformed.log"), logs / "access.log")
    got = sources(str(logs / "timed.log"), str(logs / "shop.log.1"), str(logs / "access.log"))
    assert {n: (s["format"], s["lines"], s["parsed"]) for n, s in got.items()} == {
        "timed.log": ("timed", 380, 380), "shop.log.1": ("timed", 380, 380),
        "access.log": ("combined", 12, 12)}  # NGINX's built-in combined
    conf, etc = root / "etc/nginx/nginx.conf", root / "etc/nginx"
    said = (f"; note: {conf} was read automatically, as the standard configuration for "
            f"{root}/var/log/nginx{HINT}")
    assert got["timed.log"]["detection"] == (
        "from the server configuration: access_log /var/log/nginx/timed.log timed "
        f"({etc}/conf.d/logscan.conf:4){said}")
    assert got["shop.log.1"]["detection"] == (
        "from the server configuration: access_log /var/log/nginx/shop.log timed "
        f"({etc}/sites-enabled/shop:4, matched as a rotated copy){said}")
    assert got["access.log"]["detection"] == (
        f"from the server configuration: access_log /var/log/nginx/access.log ({conf}:40){said}")


@needs_nginx
def test_every_report_says_where_the_format_came_from(root):
    logs = nginx_system(root)
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "timed.log")
    note = (f"{root}/etc/nginx/nginx.conf was read automatically, as the standard configuration "
            f"for {root}/var/log/nginx")
    for output in ("text", "markdown", "html", "json"):
        shown = " ".join(run(str(logs / "timed.log"), output=output).split())
        assert note in shown, output
    report = analyzer.analyze(logs / "timed.log")  # the library does the same
    assert report.allow_checks.logged
    assert report.sources[0].format == "timed" and note in report.sources[0].detection


@needs_nginx
def test_a_symlink_into_the_log_directory_counts(root, tmp_path):
    logs = nginx_system(root)
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "timed.log")
    link = tmp_path / "latest.log"
    link.symlink_to(logs / "timed.log")
    (source,) = analyzer.frame.parse_log(link).sources
    assert (source.format, source.parsed) == ("timed", 380)
    assert "(matched through a symlink)" not in source.detection  # matched by its real path
    assert "was read automatically" in source.detection


@needs_nginx
def test_a_file_outside_the_standard_directories_is_detected(root, tmp_path):
    nginx_system(root)
    other = tmp_path / "elsewhere" / "timed.log"
    other.parent.mkdir()
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", other)
    (source,) = analyzer.frame.parse_log(other).sources
    assert (source.format, source.detection) == (
        "logscan_timed", "logscan_timed (200/200 sample lines matched)")


@needs_nginx
def test_a_file_the_configuration_does_not_write_is_detected_and_the_report_says_why(root):
    logs = nginx_system(root)
    shutil.copy(SAMPLE_LOGS / "nginx_combined.log", logs / "stray.log")
    (source,) = analyzer.frame.parse_log(logs / "stray.log").sources
    assert (source.format, source.parsed) == ("nginx_combined", 380)
    assert source.detection == (
        "nginx_combined (200/200 sample lines matched); note: "
        f"{root}/etc/nginx/nginx.conf, the standard configuration for {root}/var/log/nginx, "
        f"names no format for this file (it writes {logs}/access.log, {logs}/timed.log, "
        f"{logs}/shop.log)")


@needs_nginx
def test_a_configuration_that_cannot_be_read_falls_back_to_detection(root):
    logs = nginx_system(root)
    (root / "etc/nginx/conf.d/broken.conf").write_text("access_log /var/log/nginx/b.log nosuch;\n")
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "timed.log")
    (source,) = sources(str(logs / "timed.log")).values()
    assert (source["format"], source["parsed"]) == ("logscan_timed", 380)
    assert source["detection"] == (
        "logscan_timed (200/200 sample lines matched); note: "
        f"{root}/etc/nginx/nginx.conf, the standard configuration for {root}/var/log/nginx, "
        f"could not be used: server configuration {root}/etc/nginx/conf.d/broken.conf:1: "
        "access_log uses the unknown format 'nosuch'")


def test_without_a_configuration_nothing_is_said(root):
    logs = root / "var" / "log" / "nginx"
    logs.mkdir()
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "timed.log")
    (source,) = analyzer.frame.parse_log(logs / "timed.log").sources
    assert (source.format, source.detection) == (
        "logscan_timed", "logscan_timed (200/200 sample lines matched)")


@needs_nginx
def test_a_format_or_a_configuration_given_wins(root, tmp_path):
    logs = nginx_system(root)
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "timed.log")
    log = str(logs / "timed.log")
    given = sources(log, "--log-format", "logscan_timed")["timed.log"]
    assert (given["format"], given.get("detection")) == ("logscan_timed", None)
    other = tmp_path / "other.conf"
    other.write_text("http { access_log /nowhere/else.log; }\n")
    detected = sources(log, "--server-config", str(other))["timed.log"]
    assert (detected["format"], detected["detection"]) == (
        "logscan_timed", "logscan_timed (200/200 sample lines matched)")


@needs_nginx
def test_scheduled_reports_use_it_too(root, tmp_path):
    logs = nginx_system(root)
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "timed.log")
    result = CliRunner().invoke(main, ["report", str(logs / "timed.log"), "--state",
                                       str(tmp_path / "state"), "--json",
                                       str(tmp_path / "r.json"), "--quiet"])
    assert result.exit_code == 0, result.output
    (source,) = json.loads((tmp_path / "r.json").read_text())["sources"]
    assert (source["format"], source["parsed"]) == ("timed", 380)


@needs_apache
def test_apache_logs_get_the_format_of_their_directive(root):
    logs = apache_system(root)
    shutil.copy(SAMPLE_LOGS / "apache_vhost_allow.log", logs / "allow.log")
    shutil.copy(real_log("elastic_apache_combined.log"), logs / "access.log.1")
    shutil.copy(real_log("apachelogs_vhost_combined.log"), logs / "other_vhosts_access.log")
    got = sources(*(str(logs / n) for n in ("allow.log", "access.log.1",
                                            "other_vhosts_access.log")))
    assert {n: (s["format"], s["lines"], s["rejected"]) for n, s in got.items()} == {
        "allow.log": ("logscan_vhost", 380, 0), "access.log.1": ("combined", 10000, 1),
        "other_vhosts_access.log": ("vhost_combined", 7, 1)}
    etc = root / "etc" / "apache2"
    said = (f"; note: {etc}/apache2.conf was read automatically, as the standard configuration for "
            f"{root}/var/log/apache2{HINT}")
    assert got["allow.log"]["detection"] == (
        "from the server configuration: CustomLog /var/log/apache2/allow.log logscan_vhost "
        f"({etc}/conf-enabled/logscan.conf:2){said}")
    assert got["access.log.1"]["detection"] == (
        "from the server configuration: CustomLog /var/log/apache2/access.log combined "
        f"({etc}/sites-enabled/000-default.conf:21, matched as a rotated copy){said}")


def test_red_hat_layout(root):
    """Red Hat's httpd: ServerRoot /etc/httpd, logs/ a relative symlink to /var/log/httpd,
    CustomLog "logs/access_log" combined, conf.d included (the lines of its stock httpd.conf)."""
    etc = root / "etc" / "httpd"
    (etc / "conf").mkdir(parents=True)
    (etc / "conf.d").mkdir()
    logs = root / "var" / "log" / "httpd"
    logs.mkdir()
    (etc / "logs").symlink_to("../../var/log/httpd")
    (etc / "conf" / "httpd.conf").write_text(
        'ServerRoot "/etc/httpd"\nListen 80\nInclude conf.modules.d/*.conf\n'
        'ErrorLog "logs/error_log"\n<IfModule log_config_module>\n'
        '    LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" '
        "combined\n"
        '    CustomLog "logs/access_log" combined\n</IfModule>\n'
        "IncludeOptional conf.d/*.conf\n")
    (etc / "conf.d" / "ssl.conf").write_text(
        "<VirtualHost _default_:443>\n"
        'CustomLog logs/ssl_request_log "%t %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x \\"%r\\" %b"\n'
        "</VirtualHost>\n")
    (logs / "ssl_request_log").write_text(
        '[22/Nov/2026:01:47:14 -0500] 127.0.0.1 TLSv1.3 TLS_AES_256_GCM_SHA384 "PUT /x HTTP/1.1"'
        " 312\n")
    shutil.copy(real_log("crowdsec_apache2-malformed.log"), logs / "access_log")
    got = sources(str(logs / "ssl_request_log"), str(logs / "access_log"))
    assert {n: (s["format"], s["parsed"], s["rejected"]) for n, s in got.items()} == {
        "ssl_request_log": ("custom", 1, 0), "access_log": ("combined", 11, 0)}
    assert got["access_log"]["detection"] == (
        'from the server configuration: CustomLog logs/access_log combined '
        f"({etc}/conf/httpd.conf:7); note: {etc}/conf/httpd.conf was "
        f"read automatically, as the standard configuration for {root}/var/log/httpd{HINT}")
