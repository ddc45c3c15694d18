"""--server-config: formats from the server's own configuration, on the configuration trees that
Debian's nginx and apache2 packages install (copied, with formats added through their include
points), with logs those servers wrote (sample_logs/, recorded from the real servers)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from paths import APACHE_ETC, NGINX_ETC, SAMPLE_LOGS, TIMED, needs_apache, needs_nginx

import analyzer
import analyzer.formats
import analyzer.frame
from analyzer.cli.app import main
from analyzer.formats.serverconfig import ServerConfigError, read_server_config


def nginx_tree(tmp_path: Path) -> tuple[Path, Path]:
    """Debian's /etc/nginx copied, its absolute include paths aimed at the copy, and formats
    added through conf.d (http level) and a site (server and location level)."""
    etc = tmp_path / "nginx"
    shutil.copytree(NGINX_ETC, etc, symlinks=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    conf = etc / "nginx.conf"
    conf.write_text(conf.read_text().replace("/etc/nginx", str(etc))
                    .replace("/var/log/nginx", str(logs)))
    (etc / "conf.d" / "logscan.conf").write_text(
        f"# the format the sample log was recorded with\nlog_format timed {TIMED};\n"
        "log_format js escape=json '{\"t\":\"$time_iso8601\",\"a\":\"$remote_addr\","
        "\"r\":\"$request\",\"s\":$status}';\n"
        "map $status $loggable { ~^[23] 0; default 1; }\n")
    (etc / "sites-enabled" / "timed").write_text(
        "server {\n    listen 8081;\n    server_name www.example.test;\n"
        f"    access_log {logs}/timed.log timed;\n"
        f"    access_log {logs}/vhosts/$host.log timed if=$loggable;\n"
        f"    location /api {{ access_log {logs}/api.json js; }}\n}}\n")
    return conf, logs


def run_json(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@needs_nginx
def test_nginx_tree_directives(tmp_path):
    conf, logs = nginx_tree(tmp_path)
    formats = read_server_config([conf])
    got = sorted((os.path.relpath(t.path, logs), t.format.name, t.condition)
                 for t in formats.targets)
    assert got == [("access.log", "combined", ""), ("api.json", "js", ""),
                   ("timed.log", "timed", ""), ("vhosts/*.log", "timed", "if=$loggable")]


@needs_nginx
def test_nginx_logs_get_their_directive_format(tmp_path):
    conf, logs = nginx_tree(tmp_path)
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "timed.log.1")  # rotated
    shutil.copy(SAMPLE_LOGS / "nginx_combined.log", logs / "access.log")
    (logs / "vhosts").mkdir()
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "vhosts" / "www.example.test.log")
    (tmp_path / "link.log").symlink_to(logs / "access.log")
    report = run_json("--server-config", str(conf), str(logs / "timed.log.1"),
                      str(tmp_path / "link.log"), str(logs / "vhosts" / "www.example.test.log"))
    sources = {Path(s["path"]).name: s for s in report["sources"]}
    assert {n: (s["format"], s["parsed"], s["rejected"]) for n, s in sources.items()} == {
        "timed.log.1": ("timed", 380, 0), "link.log": ("combined", 380, 0),
        "www.example.test.log": ("timed", 380, 0)}
    assert sources["timed.log.1"]["detection"] == (
        f"from the server configuration: access_log {logs}/timed.log timed "
        f"({conf.parent}/sites-enabled/timed:4, matched as a rotated copy)")
    assert sources["link.log"]["detection"].endswith("matched through a symlink)")
    assert "logs only requests where if=$loggable" in sources["www.example.test.log"]["detection"]
    assert report["allow_checks"]["logged"] is True


@needs_nginx
def test_nginx_json_format_from_the_configuration(tmp_path):
    conf, logs = nginx_tree(tmp_path)
    (logs / "api.json").write_text(
        '{"t":"2026-11-22T12:17:14+05:30","a":"127.0.0.1","r":"PATCH /api/x HTTP/1.1","s":501}\n'
        '{"t":"2026-11-22T12:17:15+05:30","a":"127.0.0.2","r":"GET /api/x HTTP/1.1","s":200}\n')
    report = analyzer.analyze(logs / "api.json", server_config=conf)
    (source,) = report.sources
    assert (source.format, source.parsed, source.rejected) == ("js", 2, 0)
    assert report.classes["not_implemented"].count == 1


@needs_nginx
def test_nginx_minus_T_output(tmp_path):
    conf, logs = nginx_tree(tmp_path)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(nginx, os.X_OK):
        pytest.skip("no nginx binary")
    dump = subprocess.run([nginx, "-T", "-c", str(conf)], capture_output=True, text=True,
                          timeout=60)
    assert dump.returncode == 0, dump.stderr
    saved = tmp_path / "nginx-T.txt"
    saved.write_text(dump.stdout)
    shutil.rmtree(conf.parent)  # only the dump is left to read
    formats = read_server_config([saved])
    assert sorted(t.format.name for t in formats.targets) == ["combined", "js", "timed", "timed"]
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "timed.log")
    report = run_json("--server-config", str(saved), str(logs / "timed.log"))
    assert report["sources"][0]["format"] == "timed"


def apache_tree(tmp_path: Path) -> tuple[Path, Path]:
    """Debian's /etc/apache2 copied, its log directory (envvars) aimed at tmp, formats added
    through conf-enabled: the sample log's format by nickname, and an inline CustomLog."""
    etc = tmp_path / "apache2"
    shutil.copytree(APACHE_ETC, etc, symlinks=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    envvars = etc / "envvars"
    envvars.write_text(envvars.read_text().replace("/var/log/apache2", str(logs)))
    (etc / "conf-enabled" / "logscan.conf").write_text(
        'LogFormat "%v:%p %h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\" '
        '%D \\"%{Allow}o\\"" logscan_vhost\n'
        "<VirtualHost *:8080>\n"
        "    ServerName www.example.test\n"
        "    CustomLog ${APACHE_LOG_DIR}/allow.log logscan_vhost\n"
        '    CustomLog ${APACHE_LOG_DIR}/ssl_request.log \\\n'
        '        "%t %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x \\"%r\\" %b" env=HTTPS\n'
        '    CustomLog "|/usr/bin/rotatelogs ${APACHE_LOG_DIR}/piped.%Y%m%d.log 86400" common\n'
        "</VirtualHost>\n")
    return etc / "apache2.conf", logs


@needs_apache
def test_apache_tree_directives(tmp_path):
    conf, logs = apache_tree(tmp_path)
    formats = read_server_config([conf])
    got = sorted((os.path.relpath(t.path, logs), t.format.name, t.condition, t.piped)
                 for t in formats.targets)
    assert got == [
        ("access.log", "combined", "", False), ("allow.log", "logscan_vhost", "", False),
        ("other_vhosts_access.log", "vhost_combined", "", False),
        ("piped.*.log", "common", "", True), ("ssl_request.log", "custom", "env=HTTPS", False)]
    combined = next(t.format for t in formats.targets if t.format.name == "combined")
    assert combined.source == ('%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" '
                               '\\"%{User-Agent}i\\"')  # Debian's: %O, not %b


@needs_apache
def test_apache_logs_get_their_directive_format(tmp_path):
    conf, logs = apache_tree(tmp_path)
    shutil.copy(SAMPLE_LOGS / "apache_vhost_allow.log", logs / "allow.log")
    (logs / "ssl_request.log").write_text(
        "[22/Nov/2026:01:47:14 -0500] 127.0.0.1 TLSv1.3 TLS_AES_256_GCM_SHA384 "
        '"PATCH /x HTTP/1.1" 312\n')
    (logs / "piped.20261122.log").write_text(
        '127.0.0.1 - - [22/Nov/2026:01:47:14 -0500] "GET / HTTP/1.1" 200 -\n')
    report = run_json("--server-config", str(conf), str(logs / "allow.log"),
                      str(logs / "ssl_request.log"), str(logs / "piped.20261122.log"))
    got = {Path(s["path"]).name: (s["format"], s["parsed"], s["rejected"])
           for s in report["sources"]}
    assert got == {"allow.log": ("logscan_vhost", 380, 0), "ssl_request.log": ("custom", 1, 0),
                   "piped.20261122.log": ("common", 1, 0)}
    assert report["allow_checks"]["logged"] is True
    piped = next(s for s in report["sources"] if s["path"].endswith("piped.20261122.log"))
    assert "a piped log" in piped["detection"]


@needs_apache
def test_an_input_no_directive_writes_is_detected(tmp_path):
    conf, logs = apache_tree(tmp_path)
    other = tmp_path / "elsewhere" / "unrelated.log"
    other.parent.mkdir()
    shutil.copy(SAMPLE_LOGS / "nginx_combined.log", other)
    report = run_json("--server-config", str(conf), str(other))
    assert report["sources"][0]["format"] == "nginx_combined"
    assert report["sources"][0]["detection"].startswith("nginx_combined (200/200 sample lines")


@needs_nginx
def test_logscan_report_takes_the_server_config(tmp_path):
    conf, logs = nginx_tree(tmp_path)
    shutil.copy(SAMPLE_LOGS / "nginx_timed.log", logs / "timed.log")
    result = CliRunner().invoke(main, ["report", str(logs / "timed.log"), "--state",
                                       str(tmp_path / "state"), "--server-config", str(conf),
                                       "--json", str(tmp_path / "r.json"), "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["allow_checks"]["logged"] is True


@pytest.mark.parametrize(("text", "message"), [
    ("http { access_log /x.log nosuch; }", "access_log uses the unknown format 'nosuch'"),
    ("http { log_format bad '$remote_addr $'; access_log /x.log bad; }",
     "log_format bad: log format"),
    ('CustomLog /x.log nosuch\n', "CustomLog uses the unknown format 'nosuch'"),
    ('LogFormat "%h %Z" bad\nCustomLog /x.log bad\n', "LogFormat bad: log format"),
    ("Include /nonexistent/file.conf\nCustomLog /x.log common\n", "no such file"),
    ("ServerName x\n", "no access log is configured there"),
])
def test_bad_configurations_are_one_line_errors(tmp_path, text, message):
    conf = tmp_path / "server.conf"
    conf.write_text(text)
    with pytest.raises(ServerConfigError, match=message.replace("$", r"\$")):
        read_server_config([conf])
    log = tmp_path / "a.log"
    log.write_text("x\n")
    result = CliRunner().invoke(main, ["--server-config", str(conf), str(log)])
    assert result.exit_code != 0
    assert result.output.startswith("Error: server configuration ")
    assert "Traceback" not in result.output


def test_a_missing_configuration_is_an_error(tmp_path):
    result = CliRunner().invoke(main, ["--server-config", str(tmp_path / "nope.conf"),
                                       str(SAMPLE_LOGS / "nginx_combined.log")])
    assert result.exit_code != 0
    assert result.output.startswith("Error: server configuration ")


def test_the_error_pickles_as_itself():
    import pickle

    error = ServerConfigError("/etc/nginx/nginx.conf:3", "include x: no such file")
    assert isinstance(error, analyzer.AnalyzerError) and isinstance(error, ValueError)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is ServerConfigError and str(again) == str(error)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@needs_nginx
def test_a_log_written_live_by_nginx(tmp_path):
    """NGINX from Debian's package, run on the copied tree on a loopback port, writes the log;
    --server-config reads it with the format of its access_log."""
    import http.client
    import time

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(nginx, os.X_OK) or os.geteuid() != 0:
        pytest.skip("needs the nginx binary and root (the packaged configuration sets a user)")
    conf, logs = nginx_tree(tmp_path)
    port = _free_port()
    (conf.parent / "sites-enabled" / "default").unlink()
    site = conf.parent / "sites-enabled" / "timed"
    site.write_text(site.read_text().replace("listen 8081", f"listen 127.0.0.1:{port}"))
    conf.write_text(conf.read_text().replace("/run/nginx.pid", str(tmp_path / "nginx.pid")))
    server = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sent = 0
        for method in ("GET", "PUT", "DELETE", "GET", "PROPFIND"):
            for _ in range(50):  # the server needs a moment to listen
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    connection.request(method, "/")
                    connection.getresponse().read()
                    connection.close()
                    sent += 1
                    break
                except ConnectionRefusedError:
                    time.sleep(0.1)
        assert sent == 5
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = logs / "timed.log"
    assert len(log.read_text().splitlines()) == 5
    report = run_json("--server-config", str(conf), str(log))
    (source,) = report["sources"]
    assert (source["format"], source["lines"], source["parsed"]) == ("timed", 5, 5)
    assigned = read_server_config([conf]).assign(str(log))
    assert assigned is not None
    frame = analyzer.frame.parse_log(log, log_format=assigned.format).frame
    assert list(frame["method"]) == ["GET", "PUT", "DELETE", "GET", "PROPFIND"]
    assert str(frame["duration"].dtype) == "float64"


def test_several_directives_writing_one_log_are_named(tmp_path):
    conf = tmp_path / "nginx.conf"
    log = tmp_path / "access.log"
    conf.write_text(
        "events {}\nhttp {\n  log_format a '$remote_addr [$time_local] \"$request\" $status';\n"
        f"  access_log {log};\n"
        f"  server {{ listen 8080; access_log {log} a; }}\n}}\n")
    log.write_text('192.0.2.1 - - [05/Nov/2017:02:01:01 -0500] "GET / HTTP/1.1" 200 5 "-" "ua"\n')
    assigned = read_server_config([conf]).assign(str(log))
    assert assigned is not None and assigned.format.name == "combined"
    assert assigned.detection == (
        f"from the server configuration: access_log {log} ({conf}:4); note: other directives "
        f"write this log with other formats: access_log {log} a ({conf}:5)")


def test_apache_transferlog_define_and_relative_paths(tmp_path):
    conf = tmp_path / "httpd.conf"
    conf.write_text(
        f'ServerRoot "{tmp_path}"\nDefine LOGS logs\n'
        'LogFormat "%h %l %u %t \\"%r\\" %>s %b %D"\n'
        "TransferLog ${LOGS}/transfer.log\n"
        "# CustomLog logs/commented.log common\n")
    formats = read_server_config([conf])
    (target,) = formats.targets
    assert (target.path, target.format.source) == (
        str(tmp_path / "logs" / "transfer.log"), '%h %l %u %t \\"%r\\" %>s %b %D')
    assert target.origin == f"{conf}:4"


@needs_apache
def test_the_library_reads_the_server_config_as_the_command_does(tmp_path):
    """read_log, analyze and summarize take server_config= (a path or a list) and give each
    input the format of the directive that writes it, as --server-config does."""
    from analyzer.render.json import render_json

    conf, logs = apache_tree(tmp_path)
    shutil.copy(SAMPLE_LOGS / "apache_vhost_allow.log", logs / "allow.log")
    (logs / "ssl_request.log").write_text(
        "[22/Nov/2026:01:47:14 -0500] 127.0.0.1 TLSv1.3 TLS_AES_256_GCM_SHA384 "
        '"PATCH /x HTTP/1.1" 312\n')
    inputs = [str(logs / "allow.log"), str(logs / "ssl_request.log")]
    result = CliRunner().invoke(main, [*inputs, "--server-config", str(conf), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = analyzer.analyze(inputs, server_config=conf)
    assert render_json(report) == result.output
    assert [(s.format, s.parsed) for s in report.sources] == [("logscan_vhost", 380),
                                                             ("custom", 1)]
    summary = analyzer.summarize(inputs, server_config=[conf])
    assert analyzer.build_report(summary).to_dict()["sources"] == report.to_dict()["sources"]
    frame = analyzer.read_log(inputs, server_config=str(conf))
    assert len(frame) == 381
    ssl = frame[frame["source"] == inputs[1]].iloc[0]
    assert (ssl["method"], ssl["bytes"], ssl["time"], ssl["ssl_protocol"], ssl["ssl_cipher"]) == (
        "PATCH", 312, pd.Timestamp("2026-11-22 06:47:14", tz="UTC"), "TLSv1.3",
        "TLS_AES_256_GCM_SHA384")
    assert {"vhost", "duration", "allow"} <= set(frame.columns)
    assert str(frame["duration"].dtype) == "float64"
