"""The static drift dashboard (evalkit.drift.dashboard/plots) and the ``evalkit drift`` commands."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from drift_support import SUITE, demo_history

from evalkit.drift.dashboard import build_dashboard
from evalkit.drift.detect import DriftParams, detect
from evalkit.drift.series import series_from_frame


class Page(HTMLParser):
    """Collects the resources a page loads and its links."""

    def __init__(self):
        super().__init__()
        self.imgs, self.links, self.scripts, self.styles = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "script":
            self.scripts.append(a)
        elif tag == "link":
            self.styles.append(a)


def parse(path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def png_pixels(data: bytes) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(data), format="png")


def synthetic(builds=12, drop_at=8, gates=None):
    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rng = np.random.default_rng(0)
    for t in range(builds):
        for c in ("db/slow-query", "network/dns", "__overall_micro__"):
            for metric in ("rca_top1", "rca_score"):
                m = 0.8 + rng.normal(0, 0.01) - (0.4 if c == "db/slow-query" and t >= drop_at else 0.0)
                rows.append({"order": t, "run_id": f"run{t}", "build_id": f"b{t}",
                             "start_time": t0 + pd.Timedelta(days=t),
                             "category": c, "metric": metric, "mean": m, "se": 0.05, "ci_low": m - 0.1,
                             "ci_high": m + 0.1, "n_scenarios": 30.0})
    return series_from_frame(pd.DataFrame(rows), suite="syn", promoted_orders=[0, 5],
                             tracking_uri="http://mlflow.example:5000", gates=gates)


def test_dashboard_is_one_self_contained_page_with_a_plot_per_category(tmp_path):
    drift = detect(synthetic(), DriftParams(ref_builds=5))
    path = build_dashboard(drift, tmp_path / "out")
    page = parse(path)
    assert len(page.imgs) == 3  # two categories + overall
    for img in page.imgs:
        assert img["src"].startswith("data:image/png;base64,")
        pixels = png_pixels(base64.b64decode(img["src"].split(",", 1)[1]))
        assert pixels.std() > 0.01  # not blank
        assert img.get("alt")
    assert not page.styles and all("src" not in s for s in page.scripts)  # no external CSS/JS, no CDN
    html = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']https?://(?!mlflow\.example)""", html)
    # the alarm on the dropped category links to its run on the tracking server
    alarms = drift.alarms
    assert set(alarms["category"]) == {"db/slow-query"} and alarms["order"].min() >= 8
    first = alarms.iloc[0]
    assert drift.series.run_url(first["run_id"]) in page.links
    assert "mlflow ui" not in html  # a server's links work as they are
    assert (tmp_path / "out" / "drift.csv").is_file()
    csv = pd.read_csv(tmp_path / "out" / "drift.csv")
    assert {"z", "ewma", "cusum", "alarm", "verdict", "mu_ref", "se_eff"} <= set(csv.columns)


def test_overview_grid_colours_each_cell_by_verdict_and_marks_alarms(tmp_path):
    drift = detect(synthetic(), DriftParams(ref_builds=5))
    html = build_dashboard(drift, tmp_path, recent=6).read_text(encoding="utf-8")
    grid = html[html.index('<table class="grid">'):html.index("</table>", html.index('<table class="grid">'))]
    assert grid.count("<tr>") == 1 + 3  # header + 3 rows
    assert grid.count("<td") == 3 * 6  # only the 6 most recent builds
    assert "#d7301f" in grid and 'class="alarm"' in grid  # regressed colour and an alarm mark


GATES = {9: "regressed", 10: "not-worse", 11: "inconclusive"}  # builds #10, #11, #12 went through the gate


def test_gated_builds_are_marked_in_the_grid_and_the_builds_table_with_their_verdict(tmp_path):
    drift = detect(synthetic(gates=GATES), DriftParams(ref_builds=5))
    html = build_dashboard(drift, tmp_path, recent=6).read_text(encoding="utf-8")
    assert "12 builds" in html and "3 gated (1 failed)" in html
    grid = html[html.index('<table class="grid">'):html.index("</table>", html.index('<table class="grid">'))]
    assert grid.count('class="gate-failed" title="gate: regressed">◆') == 1
    assert grid.count('class="gate-passed" title="gate: ') == 2  # not-worse and inconclusive passed
    builds = html[html.index('id="builds"'):]
    rows = {int(m.group(1)): m.group(0) for m in re.finditer(r"<tr><td class=num>#(\d+)</td>.*?</tr>", builds)}
    assert "◆ regressed" in rows[10] and 'class="gate-failed"' in rows[10]
    assert "◆ not-worse" in rows[11] and "◆ inconclusive" in rows[12]
    assert not any("◆" in rows[n] for n in range(1, 10))  # never gated: no mark


def test_ungated_history_says_nothing_about_gates(tmp_path):
    html = build_dashboard(detect(synthetic(), DriftParams(ref_builds=5)), tmp_path).read_text(encoding="utf-8")
    grid = html[html.index('<table class="grid">'):html.index("</table>", html.index('<table class="grid">'))]
    assert "gated (" not in html and "◆" not in grid + html[html.index('id="builds"'):]


def test_the_per_category_plot_marks_a_failed_gate_in_red(tmp_path):
    from evalkit.drift.plots import ALARM_COLOUR, category_png

    def red_pixels(gates) -> int:  # no drop, so no alarm: the failure red comes from the CUSUM line and gates
        png = png_pixels(category_png(detect(synthetic(drop_at=99, gates=gates), DriftParams(ref_builds=5)),
                                      "network/dns"))
        target = np.array([int(ALARM_COLOUR[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        return int((np.abs(png[..., :3] - target).max(axis=-1) < 0.02).sum())

    assert red_pixels({9: "regressed"}) > red_pixels({9: "not-worse"}) > 0
    assert category_png(detect(synthetic(drop_at=99, gates={9: "not-worse"}), DriftParams(ref_builds=5)),
                        "network/dns") != category_png(detect(synthetic(drop_at=99), DriftParams(ref_builds=5)),
                                                       "network/dns")


@pytest.mark.slow
def test_dashboard_of_the_demo_history_lists_the_alarm_with_its_run_and_the_mlflow_ui_hint(
        embedded_store_template, tmp_path_factory):
    history = demo_history(embedded_store_template, tmp_path_factory)
    path, drift = history.dashboard()
    html = path.read_text(encoding="utf-8")
    page = parse(path)
    assert len(page.imgs) == len(drift.series.categories) == 13  # 12 categories + overall
    for run_id in drift.alarms["run_id"]:
        assert run_id in html
    assert "mlflow ui --backend-store-uri" in html and history.uri in html
    assert html.count("★") >= sum(1 for b in history.builds if b.promoted)


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_drift_command_without_suite_and_out_names_both_problems():
    r = run_cli("drift")
    assert r.returncode == 2
    assert "--suite" in r.stderr and "--output-dir" in r.stderr


@pytest.mark.parametrize("args, needle", [
    (["--metrics", "rca_topp1"], "--metrics 'rca_topp1': unknown metric"),
    (["--k", "inf"], "k inf: must be a finite number >= 0"),
    (["--h", "nan"], "h nan: must be a positive finite number"),
])
def test_drift_refuses_a_misspelled_metric_or_a_non_finite_parameter_before_reading_the_store(tmp_path, args,
                                                                                          needle):
    r = run_cli("drift", "--suite", "core", "--output-dir", str(tmp_path / "d"),
                "--tracking-uri", f"sqlite:///{tmp_path}/none.db", *args)
    assert r.returncode == 2 and needle in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "d").exists() and not (tmp_path / "none.db").exists()


def test_demo_history_rejects_too_few_builds(tmp_path):
    r = run_cli("drift", "demo-history", "--builds", "3", "--tracking-uri", f"sqlite:///{tmp_path}/m.db")
    assert r.returncode == 2 and "--builds" in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.slow
def test_drift_command_builds_the_dashboard_of_a_stored_history(embedded_store_template, tmp_path_factory, tmp_path):
    history = demo_history(embedded_store_template, tmp_path_factory)
    r = run_cli("drift", "--suite", SUITE, "--output-dir", str(tmp_path / "report"), "--tracking-uri", history.uri,
                "--ref-builds", str(history.ref_builds), "--since", "2024-01-01")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "report" / "index.html").is_file()
    assert "alarm: build #" in r.stdout and "run " in r.stdout


def test_names_from_the_store_are_text_on_the_page_never_markup(tmp_path):
    """Build ids, categories and notes come from users' runs: the template escapes them all."""
    hostile = '<img src=x onerror="alert(1)">'
    frame = synthetic().frame.copy()
    frame["build_id"] = frame["build_id"] + hostile
    frame["category"] = frame["category"].replace("network/dns", f"network/{hostile}")
    series = series_from_frame(frame, suite=f"syn{hostile}", promoted_orders=[0], tracking_uri="http://mlflow.example:5000")
    page = build_dashboard(detect(series, DriftParams(ref_builds=5)), tmp_path).read_text(encoding="utf-8")
    assert hostile not in page and "onerror=" not in page.replace("onerror=&#34;", "")
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert len(parse(tmp_path / "index.html").imgs) == 3  # only the three plots are images


def test_per_category_plots_fill_the_page_width_with_readable_labels_in_points(tmp_path):
    """Each plot is drawn at least as wide as the page's content (1,400 px for two metrics, shown at 100% width,
    never upscaled) with 10-point tick labels, and a 0-1 metric's axis reads in percentage points, as the CLI
    and the reports do."""
    from evalkit.drift.plots import DPI, TICK_SIZE, category_png, in_points

    drift = detect(synthetic(), DriftParams(ref_builds=5))
    pixels = png_pixels(category_png(drift, "db/slow-query"))
    assert pixels.shape[1] >= 1400 and TICK_SIZE >= 10 and DPI >= 100
    html = build_dashboard(drift, tmp_path / "out").read_text(encoding="utf-8")
    assert "img.plot{width:100%" in html

    from matplotlib.figure import Figure

    ax = Figure().subplots()
    ax.plot([0, 1], [0.25, 0.8])
    ax.set_ylabel("rca_top1")
    in_points(ax, "rca_top1")
    assert ax.yaxis.get_major_formatter()(0.25, 0) == "25" and ax.get_ylabel() == "rca_top1 (points)"
    in_points(ax, "tool_calls", axis="x")  # not on a 0-1 scale: left as it is
    assert ax.get_xlabel() == ""
