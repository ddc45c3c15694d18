"""analyzer.plots: what each plot draws (series, labels, counts), from a frame and a Report."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import analyzer
import analyzer.plots as plots

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CURL = "curl/8.5.0"
NIKTO = "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)"
HOSTILE = "$\\frac{1}{0}$ <b>x</b>\x1b[31m\u202e"
START = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def line(at: timedelta, client: str, request: str, status: int, ua: str) -> str:
    when = (START + at).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'{client} - - [{when}] "{request}" {status} 0 "-" "{ua}"'


def sample_lines() -> list[str]:
    """Ten hours: GET 200 every ten minutes; PATCH 501 once an hour with 12 more at 06:xx
    (a spike); PUT 405 three times; FOO 501 twice (unregistered); HTTP/2.0 505 twice; a
    junk request line (no method) answered 400."""
    out = []
    for minute in range(0, 600, 10):
        out.append(line(timedelta(minutes=minute), "10.0.0.1", "GET / HTTP/1.1", 200, BROWSER))
    for hour in range(10):
        out.append(line(timedelta(hours=hour, minutes=5), "10.0.0.2",
                        f"PATCH /api/items/{hour} HTTP/1.1", 501, CURL))
    for i in range(12):
        out.append(line(timedelta(hours=6, minutes=20 + i), "10.0.0.3",
                        "PATCH /api/items/6 HTTP/1.1", 501, NIKTO))
    for hour in (1, 2, 3):
        out.append(line(timedelta(hours=hour, minutes=30), "10.0.0.2", "PUT /index.html HTTP/1.1",
                        405, CURL))
    for hour in (4, 8):
        out.append(line(timedelta(hours=hour, minutes=40), "10.0.0.9", "FOO / HTTP/1.1", 501,
                        HOSTILE))
    for hour in (2, 5):
        out.append(line(timedelta(hours=hour, minutes=45), "10.0.0.4", "GET / HTTP/2.0", 505,
                        CURL))
    out.append(line(timedelta(hours=9, minutes=59), "10.0.0.5", "\\x16\\x03\\x01", 400, "-"))
    return sorted(out, key=lambda text: text.split("[", 1)[1])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    path = tmp_path_factory.mktemp("plots") / "access.log"
    path.write_text("\n".join(sample_lines()) + "\n", encoding="utf-8")
    return analyzer.read_log(path, "combined")


def labelled_lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def render(ax) -> bytes:
    """Draw the figure for real: mathtext and layout errors only show at draw time."""
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    return buffer.getvalue()


# --- safe_label --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("GET", "GET"),
        ("$x$", r"\$x\$"),
        ("a\x1b[31mb\r\nc\x00", "a[31mbc"),
        ("\u202eevil", "evil"),
        (None, "-"),
        ("x" * 60, "x" * 47 + "…"),
    ],
)
def test_safe_label(value, expected):
    assert plots.safe_label(value) == expected


def test_dollar_signs_are_drawn_literally():
    ax = Figure().add_subplot()
    text = ax.set_title(plots.safe_label("cost $5 and $6"))
    render(ax)
    assert text._preprocess_math(text.get_text()) == ("cost $5 and $6", False)


# --- trend_plot ----------------------------------------------------------------------------------


def test_trend_plot_draws_one_line_per_class_and_method(frame):
    ax = plots.trend_plot(frame, bucket="1h")
    lines = labelled_lines(ax)
    assert list(lines) == [
        "501 PATCH", "501 FOO", "405 PUT", "505 HTTP/2.0", "spike (median + 5·MAD)",
    ]  # fmt: skip
    assert isinstance(ax.figure, Figure)
    assert ax.get_ylabel() == "requests per hour"
    assert ax.get_xlabel() == "time (UTC)"
    assert ax.get_title() == "Unsupported-request responses over time"
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    # counts per hourly bucket, the whole log's span (00:00 to 09:00)
    assert list(lines["501 PATCH"].get_ydata()) == [1, 1, 1, 1, 1, 1, 13, 1, 1, 1]
    assert list(lines["501 FOO"].get_ydata()) == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert list(lines["405 PUT"].get_ydata()) == [0, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert list(lines["505 HTTP/2.0"].get_ydata()) == [0, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    # line style tells the class
    assert lines["501 PATCH"].get_linestyle() == "-"
    assert lines["405 PUT"].get_linestyle() == "--"
    assert lines["505 HTTP/2.0"].get_linestyle() == ":"
    # the spike: 13 PATCH 501s at 06:00
    spike = lines["spike (median + 5·MAD)"]
    assert list(spike.get_ydata()) == [13]
    assert spike.get_xdata()[0] == np.datetime64("2026-03-01T06:00:00")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == list(lines)
    render(ax)


@pytest.mark.parametrize(
    ("hours", "unit", "buckets"),
    [(0.5, "minute", 30), (10, "hour", 10), (60, "hour", 60), (24 * 20, "day", 20)],
)
def test_trend_plot_bucket_from_the_span(frame, hours, unit, buckets):
    part = frame[frame["time"] < frame["time"].min() + timedelta(hours=hours)].copy()
    part.loc[part.index[-1], "time"] = part["time"].min() + timedelta(hours=hours, seconds=-1)
    ax = plots.trend_plot(part, k=100)
    assert ax.get_ylabel() == f"requests per {unit}"
    assert len(ax.get_lines()[0].get_xdata()) == buckets


def test_trend_plot_colours_are_okabe_ito_and_shared_by_method(frame):
    ax = plots.trend_plot(frame)
    colours = {line.get_label(): matplotlib.colors.to_hex(line.get_color())
               for line in ax.get_lines()}
    assert colours["501 PATCH"] == plots.OKABE_ITO[0].lower()
    assert set(colours.values()) <= {c.lower() for c in plots.OKABE_ITO}


def test_trend_plot_bucket_classes_and_k(frame):
    ax = plots.trend_plot(frame, classes=["not_implemented"], bucket="2h", k=100)
    lines = labelled_lines(ax)
    assert list(lines) == ["501 PATCH", "501 FOO"]  # no spike above median + 100·MAD
    assert ax.get_ylabel() == "requests per 2 hours"
    assert list(lines["501 PATCH"].get_ydata()) == [2, 2, 2, 14, 2]


def test_trend_plot_top_sums_the_rest_as_other(frame):
    ax = plots.trend_plot(frame, classes="not_implemented", top=1, k=100)
    lines = labelled_lines(ax)
    assert list(lines) == ["501 PATCH", "501 other"]
    assert sum(lines["501 other"].get_ydata()) == 2


def test_trend_plot_draws_on_the_given_axes(frame):
    figure = Figure()
    ax = figure.add_subplot()
    assert plots.trend_plot(frame, ax=ax) is ax
    assert figure.axes[0] is ax and len(figure.axes) == 1


def test_trend_plot_without_any_class(frame):
    ax = plots.trend_plot(frame[frame["status"] == 200])
    assert ax.get_lines() == []
    assert [t.get_text() for t in ax.texts] == ["no 501, 405 or 505 responses in this log"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classes": ["nope"]}, "unknown class 'nope'"),
        ({"bucket": "1M"}, "bucket '1M' is not a fixed time span"),
    ],
)
def test_trend_plot_bad_arguments(frame, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.trend_plot(frame, **kwargs)


# --- status_heatmap ---------------------------------------------------------------------------


def test_status_heatmap_counts_and_order(frame):
    ax = plots.status_heatmap(frame)
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert rows == ["GET", "PATCH", "PUT", "FOO", "(no method)"]
    assert cols == ["200", "400", "405", "501", "505"]
    grid = ax.images[0].get_array()
    assert grid.filled(0).tolist() == [
        [60, 0, 0, 0, 2],   # GET
        [0, 0, 0, 22, 0],   # PATCH
        [0, 0, 3, 0, 0],    # PUT
        [0, 0, 0, 2, 0],    # FOO
        [0, 1, 0, 0, 0],    # no method
    ]  # fmt: skip
    assert grid.mask.sum() == 25 - 6  # zero cells are left blank
    # unregistered methods told apart; class statuses in bold
    styles = {t.get_text(): (t.get_fontstyle(), t.get_color()) for t in ax.get_yticklabels()}
    assert styles["FOO"] == ("italic", "#D55E00")
    assert styles["PATCH"][0] == styles["(no method)"][0] == "normal"
    weights = {t.get_text(): t.get_fontweight() for t in ax.get_xticklabels()}
    assert weights["501"] == weights["405"] == weights["505"] == "bold"
    assert weights["200"] == "normal"
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        ["60", "2", "22", "3", "2", "1"]
    )
    assert ax.get_xlabel() == "status" and ax.get_ylabel() == "method"
    render(ax)


def test_status_heatmap_statuses_and_max_methods(frame):
    ax = plots.status_heatmap(frame, statuses=[405, 501], max_methods=3, annotate=False)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["405", "501"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["PATCH", "PUT", "FOO"]
    assert len(ax.texts) == 0


# --- top_clients_plot ---------------------------------------------------------------------------


def bars(ax):
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ticks = list(ax.get_yticks())
    return {labels[ticks.index(p.get_y() + p.get_height() / 2)]: p for p in ax.patches}


def test_top_clients_plot_by_address(frame):
    ax = plots.top_clients_plot(frame)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "501 Not Implemented", "10.0.0.3", "10.0.0.2", "10.0.0.9",
        "405 Method Not Allowed", "10.0.0.2",
        "505 HTTP Version Not Supported", "10.0.0.4",
    ]  # fmt: skip
    widths = [p.get_width() for p in ax.patches]
    assert widths == [12, 10, 2, 3, 2]
    kinds = [t.get_text() for t in ax.get_legend().get_texts()]
    assert kinds == ["scanner", "library", "unknown"]
    assert ax.get_legend().get_title().get_text() == "client kind"
    colour = matplotlib.colors.to_hex(ax.patches[0].get_facecolor())
    assert colour == plots.OKABE_ITO[2].lower()  # scanner
    assert ax.get_xlabel() == "requests"
    render(ax)


def test_top_clients_plot_by_family_with_a_hostile_user_agent(frame):
    ax = plots.top_clients_plot(frame, by="family", classes="not_implemented", top=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:3] == ["501 Not Implemented", "Nikto", "curl"]
    assert len(labels) == 4 and "$" not in labels[3].replace("\\$", "")
    assert "\x1b" not in labels[3] and "\u202e" not in labels[3]
    assert [p.get_width() for p in ax.patches] == [12, 10, 2]
    render(ax)


def test_top_clients_plot_rejects_an_unknown_by(frame):
    with pytest.raises(ValueError, match="by must be 'client' or 'family'"):
        plots.top_clients_plot(frame, by="ua")


# --- from a Report ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(frame):
    return analyzer.analyze(frame)


def test_trend_plot_from_a_report_uses_its_buckets_and_spikes(report):
    trends = report.to_dict()["trends"]
    assert trends["bucket"] == "hour"
    ax = plots.trend_plot(report)
    lines = labelled_lines(ax)
    assert list(lines)[:4] == ["501 PATCH", "501 FOO", "405 PUT", "505 HTTP/2.0"]
    assert list(lines["501 PATCH"].get_ydata()) == [1, 1, 1, 1, 1, 1, 13, 1, 1, 1]
    assert ax.get_ylabel() == "requests per hour"
    spike = [label for label in lines if label.startswith("spike")]
    assert spike == ["spike (count > median + 5 * max(1.4826 * MAD, 1) over the buckets)"]
    assert list(lines[spike[0]].get_ydata()) == [13]
    render(ax)


def test_trend_plot_rings_a_class_spike_on_its_busiest_line():
    points = ["2026-03-01T00:00:00Z", "2026-03-01T01:00:00Z", "2026-03-01T02:00:00Z"]
    def series(key, counts):
        pairs = zip(points, counts, strict=True)
        return {"class": "not_implemented", "key": key, "points": [[t, n] for t, n in pairs]}

    data = {"trends": {
        "bucket": "hour", "spike_rule": "rule",
        "series": [series("PATCH", [0, 4, 0]), series("PUT", [1, 5, 0])],
        "spikes": [{"class": "not_implemented", "key": "*", "time": points[1], "count": 9}],
    }}  # fmt: skip
    lines = labelled_lines(plots.trend_plot(data))
    assert list(lines) == ["501 PUT", "501 PATCH", "spike (rule)"]
    assert list(lines["spike (rule)"].get_ydata()) == [5]


def test_status_heatmap_from_a_report_draws_what_the_frame_draws(frame, report):
    from_report = plots.status_heatmap(report)
    from_frame = plots.status_heatmap(frame)
    rows = [t.get_text() for t in from_report.get_yticklabels()]
    assert rows == ["GET", "PATCH", "PUT", "FOO", "(no method)"]  # every method, from "methods"
    assert [t.get_text() for t in from_report.get_xticklabels()] == [
        "200", "400", "405", "501", "505"
    ]
    assert (from_report.images[0].get_array().filled(0).tolist()
            == from_frame.images[0].get_array().filled(0).tolist())


def test_top_clients_plot_from_a_report(report):
    ax = plots.top_clients_plot(report, classes=["not_implemented", "method_not_allowed"])
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "501 Not Implemented", "10.0.0.3", "10.0.0.2", "10.0.0.9",
        "405 Method Not Allowed", "10.0.0.2",
    ]  # fmt: skip
    assert [p.get_width() for p in ax.patches] == [12, 10, 2, 3]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["scanner", "library",
                                                                   "unknown"]


def test_plots_reject_other_data():
    with pytest.raises(TypeError, match="data must be a Report or a frame"):
        plots.trend_plot([1, 2, 3])


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "access.log"
    path.write_text("\n".join(sample_lines()) + "\n", encoding="utf-8")
    return path


def test_cli_plot_png_and_svg(log_file, tmp_path):
    from click.testing import CliRunner

    from analyzer.cli.app import main

    runner = CliRunner()
    for name, magic in (("trend.png", b"\x89PNG"), ("trend.SVG", b"<?xml")):
        result = runner.invoke(main, [str(log_file), "--format", "json", "--plot",
                                      str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_bytes().startswith(magic)


def test_cli_plot_dir(log_file, tmp_path):
    from click.testing import CliRunner

    from analyzer.cli.app import main

    result = CliRunner().invoke(main, [str(log_file), "--plot-dir", str(tmp_path / "figs")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "status_heatmap.png", "top_clients.png", "trend.png",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["trend.jpg", "trend"])
def test_cli_plot_other_extensions(log_file, tmp_path, name):
    from click.testing import CliRunner

    from analyzer.cli.app import main

    result = CliRunner().invoke(main, [str(log_file), "--plot", str(tmp_path / name)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"Error: Invalid value for '--plot': '{tmp_path / name}': the file name must end in "
        ".png, .svg or .pdf"
    )
    assert not (tmp_path / name).exists()


def test_cli_plot_unwritable(log_file, tmp_path):
    from click.testing import CliRunner

    from analyzer.cli.app import main

    target = tmp_path / "missing" / "trend.png"
    result = CliRunner().invoke(main, [str(log_file), "--plot", str(target)])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"Error: {target}: cannot write (No such file or directory)"
    )
