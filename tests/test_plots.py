"""analyzer.plots: what each plot draws (layers, labels, colours, counts), from a frame and a
Report."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from paths import SAMPLE_LOGS

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


def render(artist) -> bytes:
    """Draw the figure for real: mathtext and layout errors only show at draw time."""
    buffer = io.BytesIO()
    artist.get_figure(root=True).savefig(buffer, format="png")
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


def panels(figure):
    """Each panel by its title."""
    return {ax.get_title(loc="left"): ax for ax in figure.axes}


def stacked(ax):
    """Each stacked bar layer, bottom first: label -> (heights, bottoms, colour)."""
    out = {}
    for container in ax.containers:
        patches = container.patches
        out[container.get_label()] = (
            [int(p.get_height()) for p in patches],
            [int(p.get_y()) for p in patches],
            matplotlib.colors.to_hex(patches[0].get_facecolor()),
        )
    return out


def legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def spike_marks(ax):
    marks = [line for line in ax.get_lines() if line.get_label().startswith("spike")]
    return [(str(np.datetime64(x, "s")), int(y)) for line in marks
            for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)]


BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE = (c.lower() for c in plots.OKABE_ITO[:6])
GREY = plots.OTHER_COLOR.lower()


def test_trend_plot_one_panel_per_class_stacked_by_method(frame):
    figure = plots.trend_plot(frame, bucket="1h")
    assert isinstance(figure, Figure)
    assert figure.get_suptitle() == "Unsupported-request responses over time"
    assert figure.get_supylabel() == "requests per hour"
    by_title = panels(figure)
    assert list(by_title) == [
        "not_implemented (501): 24 requests",
        "method_not_allowed (405): 3 requests",
        "version_not_supported (505): 2 requests",
    ]  # fmt: skip
    n501, n405, n505 = by_title.values()
    # ten hourly buckets (00:00 to 09:00): few, so bars; FOO stacked on PATCH
    patch = [1, 1, 1, 1, 1, 1, 13, 1, 1, 1]
    assert stacked(n501) == {
        "PATCH (22)": (patch, [0] * 10, BLUE),
        "FOO (2)": ([0, 0, 0, 0, 1, 0, 0, 0, 1, 0], patch, ORANGE),
    }
    assert stacked(n405) == {"PUT (3)": ([0, 1, 1, 1, 0, 0, 0, 0, 0, 0], [0] * 10, BLUE)}
    assert stacked(n505) == {"HTTP/2.0 (2)": ([0, 0, 1, 0, 0, 1, 0, 0, 0, 0], [0] * 10, BLUE)}
    # the legend reads like the stack (top layer first), then the spike mark
    assert legend(n501) == ["FOO (2)", "PATCH (22)", "spike (> median + 5·MAD)"]
    assert n501.get_legend().get_title().get_text() == "method (501)"
    assert n505.get_legend().get_title().get_text() == "protocol (505)"
    # the 13 PATCH 501s at 06:00 are a spike, marked above the middle of their bar
    assert spike_marks(n501) == [("2026-03-01T06:30:00", 13)]
    assert spike_marks(n405) == spike_marks(n505) == []
    # panels share the time axis, labelled once, at the bottom
    assert n501.get_shared_x_axes().joined(n501, n505)
    assert [ax.get_xlabel() for ax in figure.axes] == ["", "", "time (UTC)"]
    assert isinstance(n505.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    start, end = (mdates.num2date(x).replace(tzinfo=None) for x in n505.get_xlim())
    assert (start, end) == (datetime(2026, 3, 1, 0, 0), datetime(2026, 3, 1, 10, 0))
    render(figure)


@pytest.fixture(scope="module")
def sample_frame():
    return analyzer.read_log(SAMPLE_LOGS / "nginx_combined.log")


@pytest.fixture(scope="module")
def sample_report():
    return analyzer.analyze(SAMPLE_LOGS / "nginx_combined.log")


def test_trend_plot_of_the_sample_top_k_and_a_counted_other(sample_frame):
    by_title = panels(plots.trend_plot(sample_frame))
    n501, n405, n505 = by_title.values()
    # 405: twelve methods, the five busiest drawn and seven summed; the legend says so
    assert legend(n405) == [
        "other: 7 methods (9)", "PATCH (2)", "OPTIONS (2)", "TRACE (3)", "FOO (3)", "DELETE (3)",
    ]  # fmt: skip
    layers = stacked(n405)
    assert layers["other: 7 methods (9)"] == ([2, 4, 2, 1], [4, 3, 3, 3], GREY)
    assert [colour for _, _, colour in layers.values()] == [
        BLUE, ORANGE, GREEN, VERMILLION, SKY, GREY]
    # 501: six methods; the one beyond the top five is drawn by name, not as "other: 1 method"
    assert legend(n501) == [
        "PUT (1)", "PROPFIND (1)", "FOO (1)", "DELETE (1)", "POST (3)", "PATCH (6)"]
    assert [colour for _, _, colour in stacked(n501).values()] == [
        BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE]
    assert legend(n505) == ["HTTP/3.0 (1)", "HTTP/2.0 (2)"]
    # every bar's stack adds up to the class's requests in that minute
    assert [sum(h[i] for h, _, _ in layers.values()) for i in range(4)] == [6, 7, 5, 4]
    render(n405)


def test_trend_plot_draws_the_same_from_a_report_and_a_frame(sample_frame, sample_report):
    from_frame = plots.trend_plot(sample_frame)
    from_report = plots.trend_plot(sample_report)
    assert list(panels(from_report)) == list(panels(from_frame))
    for mine, theirs in zip(from_report.axes, from_frame.axes, strict=True):
        assert stacked(mine) == stacked(theirs)
        assert legend(mine) == legend(theirs)
        assert spike_marks(mine) == spike_marks(theirs)
        assert mine.get_xlim() == theirs.get_xlim()
    assert from_report.get_supylabel() == "requests per minute"


def test_trend_plot_many_buckets_are_a_stacked_area(frame):
    figure = plots.trend_plot(frame, classes="not_implemented", bucket="minute")
    (ax,) = figure.axes
    assert list(ax.containers) == []
    areas = ax.collections
    assert [a.get_label() for a in areas] == ["PATCH (22)", "FOO (2)"]
    assert [matplotlib.colors.to_hex(a.get_facecolor()[0]) for a in areas] == [BLUE, ORANGE]
    # one request a minute at most: no minute stands out from the others
    assert legend(ax) == ["FOO (2)", "PATCH (22)"]
    assert spike_marks(ax) == []
    # 600 one-minute buckets, 00:00 to 09:59, each a step of the area
    assert figure.get_supylabel() == "requests per minute"
    start, end = (mdates.num2date(x).replace(tzinfo=None) for x in ax.get_xlim())
    assert (start, end) == (datetime(2026, 3, 1, 0, 0), datetime(2026, 3, 1, 10, 0))
    assert ax.get_ylim() == (0, 1.18)
    render(figure)


def test_trend_plot_bucket_classes_and_k(frame):
    figure = plots.trend_plot(frame, classes=["not_implemented"], bucket="2h", k=100)
    (ax,) = figure.axes
    assert legend(ax) == ["FOO (2)", "PATCH (22)"]  # no spike above median + 100·MAD
    assert figure.get_supylabel() == "requests per 2 hours"
    assert stacked(ax)["PATCH (22)"][0] == [2, 2, 2, 14, 2]


def test_trend_plot_top(frame):
    (ax,) = plots.trend_plot(frame, classes="not_implemented", top=1, k=100).axes
    assert legend(ax) == ["FOO (2)", "PATCH (22)"]  # one left over: drawn by name
    (ax,) = plots.trend_plot(frame, classes="method_not_allowed", top=7).axes
    assert legend(ax) == ["PUT (3)"]


@pytest.mark.parametrize(
    ("hours", "unit", "buckets"),
    [(0.5, "minute", 30), (10, "hour", 10), (60, "hour", 60), (24 * 20, "day", 20)],
)
def test_trend_plot_bucket_from_the_span(frame, hours, unit, buckets):
    part = frame[frame["time"] < frame["time"].min() + timedelta(hours=hours)].copy()
    part.loc[part.index[-1], "time"] = part["time"].min() + timedelta(hours=hours, seconds=-1)
    figure = plots.trend_plot(part, k=100)
    assert figure.get_supylabel() == f"requests per {unit}"
    first = figure.axes[0]
    drawn = len(first.containers[0].patches) if first.containers else None
    assert drawn == buckets


def test_trend_plot_draws_on_a_subfigure(frame):
    figure = Figure(layout="constrained")
    left, right = figure.subfigures(1, 2)
    assert plots.trend_plot(frame, classes=["not_implemented", "method_not_allowed"],
                            figure=left) is left
    assert len(left.axes) == 2 and right.axes == []
    render(figure)


def test_trend_plot_without_any_class(frame):
    figure = plots.trend_plot(frame[frame["status"] == 200])
    (ax,) = figure.axes
    assert list(ax.containers) == list(ax.collections) == []
    assert [t.get_text() for t in ax.texts] == ["no 501, 405 or 505 responses in this log"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classes": ["nope"]}, "unknown class 'nope'; choose from not_implemented, "),
        ({"bucket": "1M"}, "bucket '1M' is not a fixed time span"),
        ({"bucket": "often"}, "bucket 'often' is not a fixed time span"),
        ({"top": 0}, "top must be between 1 and 7 \\(one colour each\\), not 0"),
        ({"top": 8}, "top must be between 1 and 7"),
    ],
)
def test_trend_plot_bad_arguments(frame, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.trend_plot(frame, **kwargs)


def test_trend_plot_from_a_report_with_a_class_spike():
    points = ["2026-03-01T00:00:00Z", "2026-03-01T01:00:00Z", "2026-03-01T02:00:00Z"]

    def series(key, counts):
        pairs = zip(points, counts, strict=True)
        return {"class": "not_implemented", "key": key, "points": [[t, n] for t, n in pairs]}

    data = {"trends": {
        "bucket": "hour", "buckets": points,
        "series": [series("PATCH", [0, 4, 0]), series("PUT", [1, 5, 0])],
        "spikes": [{"class": "not_implemented", "key": "*", "time": points[1], "count": 9}],
    }}  # fmt: skip
    (ax,) = plots.trend_plot(data).axes
    assert legend(ax) == ["PATCH (4)", "PUT (6)", "spike (> median + 5·MAD)"]
    assert stacked(ax)["PATCH (4)"] == ([0, 4, 0], [1, 5, 0], ORANGE)
    assert spike_marks(ax) == [("2026-03-01T01:30:00", 9)]


def test_trend_plot_needs_a_trends_section():
    with pytest.raises(ValueError, match="this Report has no trends section"):
        plots.trend_plot({"classes": {}})


def test_trend_plot_labels_from_the_log_are_safe(tmp_path):
    path = tmp_path / "access.log"
    when = START.strftime("%d/%b/%Y:%H:%M:%S +0000")
    path.write_text(f'10.0.0.1 - - [{when}] "$X$ / HTTP/1.1" 501 0 "-" "{CURL}"\n')
    (ax,) = plots.trend_plot(analyzer.read_log(path, "combined")).axes
    assert legend(ax) == [r"\$X\$ (1)"]
    render(ax)


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
    assert ax.get_ylabel() == "method"  # only three methods drew a 405 or a 501


def test_status_heatmap_says_when_rows_are_cut(frame):
    ax = plots.status_heatmap(frame, max_methods=3)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["GET", "PATCH", "FOO"]
    assert ax.get_ylabel() == "method (3 of 5)"


# --- top_clients_plot ---------------------------------------------------------------------------


def bars(ax):
    """(label, width, colour) of each bar, top to bottom."""
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ticks = list(ax.get_yticks())
    return [
        (labels[ticks.index(p.get_y() + p.get_height() / 2)], int(p.get_width()),
         matplotlib.colors.to_hex(p.get_facecolor()))
        for p in ax.patches
    ]


SCANNER, LIBRARY, UNKNOWN = (plots.KIND_COLORS[k].lower()
                             for k in ("scanner", "library", "unknown"))
REST = "#dddddd"


def test_top_clients_plot_by_address(frame):
    ax = plots.top_clients_plot(frame)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "not_implemented (501)", "10.0.0.3", "10.0.0.2", "10.0.0.9",
        "method_not_allowed (405)", "10.0.0.2",
        "version_not_supported (505)", "10.0.0.4",
    ]  # fmt: skip
    assert bars(ax) == [
        ("10.0.0.3", 12, SCANNER), ("10.0.0.2", 10, LIBRARY), ("10.0.0.9", 2, UNKNOWN),
        ("10.0.0.2", 3, LIBRARY), ("10.0.0.4", 2, LIBRARY),
    ]  # fmt: skip
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["scanner", "library",
                                                                   "unknown"]
    assert ax.get_legend().get_title().get_text() == "client kind"
    weights = {t.get_text(): t.get_fontweight() for t in ax.get_yticklabels()}
    assert weights["not_implemented (501)"] == "bold" and weights["10.0.0.3"] == "normal"
    assert ax.get_xlabel() == "requests"
    render(ax)


def test_top_clients_plot_sums_the_rest_in_one_bar(frame, report):
    for data in (frame, report):
        ax = plots.top_clients_plot(data, classes="not_implemented", top=1)
        assert bars(ax) == [("10.0.0.3", 12, SCANNER), ("(2 other clients)", 12, REST)]
        ax = plots.top_clients_plot(data, classes="not_implemented", by="family", top=2)
        assert bars(ax) == [("Nikto", 12, SCANNER), ("curl", 10, LIBRARY),
                            ("(other families)", 2, REST)]


def test_top_clients_plot_by_family_with_a_hostile_user_agent(frame):
    ax = plots.top_clients_plot(frame, by="family", classes="not_implemented", top=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["not_implemented (501)", "Nikto", "curl", "Other"]
    assert bars(ax) == [("Nikto", 12, SCANNER), ("curl", 10, LIBRARY), ("Other", 2, UNKNOWN)]
    render(ax)


def test_top_clients_plot_rejects_an_unknown_by(frame):
    with pytest.raises(ValueError, match="by must be 'client' or 'family', not 'ua'"):
        plots.top_clients_plot(frame, by="ua")


# --- from a Report ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(frame):
    return analyzer.analyze(frame)


def test_a_reports_families_carry_their_kind(report):
    families = report.to_dict()["classes"]["not_implemented"]["top_families"]
    assert families == [
        {"family": "Nikto", "count": 12, "kind": "scanner"},
        {"family": "curl", "count": 10, "kind": "library"},
        {"family": "Other", "count": 2, "kind": "unknown"},
    ]


@pytest.mark.parametrize("by", ["client", "family"])
def test_top_clients_plot_draws_the_same_from_a_report_and_a_frame(
    sample_frame, sample_report, by
):
    from_report = plots.top_clients_plot(sample_report, by=by)
    from_frame = plots.top_clients_plot(sample_frame, by=by)
    assert bars(from_report) == bars(from_frame)
    assert ([t.get_text() for t in from_report.get_legend().get_texts()]
            == [t.get_text() for t in from_frame.get_legend().get_texts()])


def test_top_clients_plot_by_family_of_the_sample_report(sample_report):
    ax = plots.top_clients_plot(sample_report, by="family", classes="not_implemented")
    assert bars(ax) == [
        ("Go-http-client", 9, LIBRARY), ("sqlmap", 2, SCANNER), ("curl", 1, LIBRARY),
        ("python-urllib", 1, LIBRARY),
    ]  # fmt: skip


def test_top_clients_plot_from_a_report(report):
    ax = plots.top_clients_plot(report, classes=["not_implemented", "method_not_allowed"])
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "not_implemented (501)", "10.0.0.3", "10.0.0.2", "10.0.0.9",
        "method_not_allowed (405)", "10.0.0.2",
    ]  # fmt: skip
    assert [p.get_width() for p in ax.patches] == [12, 10, 2, 3]


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


def test_plots_reject_other_data():
    with pytest.raises(TypeError, match="data must be a Report or a frame"):
        plots.trend_plot([1, 2, 3])


def test_plots_is_reached_from_the_package():
    import importlib

    package = importlib.import_module("analyzer")
    assert package.plots.trend_plot is plots.trend_plot
    assert {"trend_plot", "status_heatmap", "top_clients_plot", "save_plots"} <= set(
        plots.__all__)


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "access.log"
    path.write_text("\n".join(sample_lines()) + "\n", encoding="utf-8")
    return path


def test_cli_plot_png_svg_and_pdf(log_file, tmp_path):
    from click.testing import CliRunner

    from analyzer.cli.app import main

    runner = CliRunner()
    for name, magic in (("trend.png", b"\x89PNG"), ("trend.SVG", b"<?xml"), ("t.pdf", b"%PDF-")):
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


@pytest.mark.parametrize("name", ["trend.jpg", "trend", "trend.pdf.txt"])
def test_cli_plot_other_extensions(log_file, tmp_path, name):
    from click.testing import CliRunner

    from analyzer.cli.app import main

    result = CliRunner().invoke(main, [str(log_file), "--plot", str(tmp_path / name)])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
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


# --- a week of logs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def week_frame(tmp_path_factory):
    """Seven days: every hour one PATCH 501 and, in turn, one of eight methods answered 405;
    on the third day at noon, 30 more PUT 405s."""
    methods = ["PUT", "DELETE", "TRACE", "OPTIONS", "PROPFIND", "MKCOL", "COPY", "MOVE"]
    out = []
    for hour in range(7 * 24):
        at = timedelta(hours=hour, minutes=10)
        out.append(line(at, "10.0.0.2", "PATCH /a HTTP/1.1", 501, CURL))
        out.append(line(at, "10.0.0.3", f"{methods[hour % 8]} /b HTTP/1.1", 405, NIKTO))
    out += [line(timedelta(days=2, hours=12, minutes=20), "10.0.0.4", "PUT /c HTTP/1.1", 405,
                 CURL)] * 30
    path = tmp_path_factory.mktemp("week") / "access.log"
    path.write_text("\n".join(sorted(out, key=lambda t: t.split("[", 1)[1])) + "\n")
    return analyzer.read_log(path, "combined")


def test_trend_plot_of_a_week_by_the_hour(week_frame):
    for data in (week_frame, analyzer.analyze(week_frame)):
        figure = plots.trend_plot(data)
        assert figure.get_supylabel() == "requests per hour"
        n501, n405 = figure.axes
        assert n405.get_title(loc="left") == "method_not_allowed (405): 198 requests"
        # 168 buckets: a stacked area, one step per hour, over the whole week; ties by name
        assert list(n405.containers) == []
        assert legend(n405) == [
            "other: 3 methods (63)", "MOVE (21)", "MKCOL (21)", "DELETE (21)", "COPY (21)",
            "PUT (51)", "spike (> median + 5·MAD)",
        ]  # fmt: skip
        assert spike_marks(n405) == [("2026-03-03T12:30:00", 31)]
        start, end = (mdates.num2date(x).replace(tzinfo=None) for x in n405.get_xlim())
        assert (start, end) == (datetime(2026, 3, 1, 0, 0), datetime(2026, 3, 8, 0, 0))
        assert legend(n501) == ["PATCH (168)"]
        render(figure)


def test_top_clients_plot_from_a_report_without_family_kinds(report):
    """A Report saved before families kept their kind: the kind of the family's listed
    client."""
    data = report.to_dict()
    for entry in data["classes"].values():
        for family in entry["top_families"]:
            del family["kind"]
    ax = plots.top_clients_plot(data, by="family", classes="not_implemented")
    assert bars(ax) == [("Nikto", 12, SCANNER), ("curl", 10, LIBRARY), ("Other", 2, UNKNOWN)]
