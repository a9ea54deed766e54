"""The drift dashboard in a real browser: headless Chromium loads the page from the file system (no server),
decodes every plot, and renders a non-blank page. Skips only when no Chromium binary exists."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess

import pytest
from drift_support import demo_history

from evalkit.drift.series import OVERALL

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no chromium binary on PATH (Debian: apt-get install chromium); the browser test needs one")


def browse(binary, tmp_path, url, *extra):
    profile = tmp_path / "profile"
    cmd = [binary, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def pixels(png: bytes):
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(png), format="png")


@pytest.fixture(scope="module")
def binary() -> str:
    """The browser, looked up before the (expensive) dashboard is built: a missing one skips at once."""
    return chromium()


@pytest.fixture(scope="module")
def dashboard(embedded_store_template, tmp_path_factory):
    history = demo_history(embedded_store_template, tmp_path_factory)
    return history.dashboard()


@pytest.mark.slow
def test_chromium_loads_the_page_and_decodes_every_plot(binary, dashboard, tmp_path):
    path, drift = dashboard
    r = browse(binary, tmp_path, path.resolve().as_uri(), "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    n = len(drift.series.categories)
    # the page's own load handler counted the plots the browser decoded
    assert re.search(rf'data-plots="{n}"', dom), dom[:500]
    assert re.search(rf'data-plots-decoded="{n}"', dom)
    sizes = re.findall(r'data-decoded="(\d+)x(\d+)"', dom)
    assert len(sizes) == n and all(int(w) > 300 and int(h) > 200 for w, h in sizes)
    sources = re.findall(r'<img class="plot"[^>]*src="data:image/png;base64,([^"]+)"', dom)
    assert len(sources) == n
    for src in sources:
        img = pixels(base64.b64decode(src))
        assert img.ndim == 3 and img.shape[0] > 200
        assert img[..., :3].std() > 0.02  # non-uniform: the plot is really drawn
    # every alarmed category is named in the alarm table; the overall row is labelled "overall"
    labels = {"overall" if c == OVERALL else c for c in drift.alarms["category"]}
    assert "Alarms" in dom and all(label in dom for label in labels)


@pytest.mark.slow
def test_chromium_screenshot_of_the_page_is_not_blank(binary, dashboard, tmp_path):
    path, _ = dashboard
    shot = tmp_path / "page.png"
    r = browse(binary, tmp_path, path.resolve().as_uri(), f"--screenshot={shot}", "--window-size=1280,2400")
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    img = pixels(shot.read_bytes())
    assert img.shape[0] >= 2000 and img.shape[1] >= 1200
    rgb = img[..., :3]
    assert rgb.std() > 0.05
    # the alarm's red and the verdict colours are on screen (regressed cell: #d7301f)
    red = (abs(rgb[..., 0] - 0xd7 / 255) < 0.03) & (abs(rgb[..., 1] - 0x30 / 255) < 0.03) & \
        (abs(rgb[..., 2] - 0x1f / 255) < 0.03)
    assert red.sum() > 50
