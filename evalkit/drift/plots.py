"""Drift plots (matplotlib, Agg canvas, imported lazily): one PNG per category, one column per metric.

Rows: (1) the metric per build in time order with its 95% CI band, μ_ref, promotions (green ★), alarms
(red ▼) and gated builds (◆ on the build's mean: red when the gate failed, white when it passed); (2) z_t with the EWMA line and its control limits; (3) the lower CUSUM S_t with the threshold h.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalkit.drift.detect import Z95, Drift
from evalkit.score.catalogue import metric as catalogue_metric
from evalkit.vocab import Direction, Verdict

CI_COLOUR = "#9ecae1"
LINE_COLOUR = "#08519c"
REF_COLOUR = "#636363"
ALARM_COLOUR = "#cb181d"
PROMO_COLOUR = "#238b45"
EWMA_COLOUR = "#6a51a3"
GATE_EDGE = "#1b1b1b"
DPI = 100
#: sizes of the text in the category plots (the dashboard shows them at the page's full width)
TICK_SIZE = 10
LABEL_SIZE = 11
TITLE_SIZE = 13


def in_points(ax: Any, metric: str, axis: str = "y") -> None:
    """Label ``axis`` of ``ax`` in percentage points when ``metric`` is on a 0-1 scale (values stay fractions):
    the unit the CLI, the reports and the dashboard tables use."""
    from matplotlib.ticker import FuncFormatter

    if not catalogue_metric(metric).in_points:
        return
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v * 100:.0f}"))
    label = target.get_label().get_text()
    target.set_label_text(f"{label} (points)" if label else "points")


def _ticks(ax: Any, orders: np.ndarray, times: pd.Series, max_ticks: int = 10) -> None:
    """Build positions on x, labelled with the build's date (at most ``max_ticks`` labels)."""
    if len(orders) == 0:
        return
    step = max(1, int(np.ceil(len(orders) / max_ticks)))
    pos = orders[::step]
    ax.set_xticks(pos)
    ax.set_xticklabels([f"#{o + 1}\n{times.get(o).strftime('%m-%d')}" if o in times.index else f"#{o + 1}"
                        for o in pos], fontsize=TICK_SIZE)
    ax.set_xlim(orders.min() - 0.5, orders.max() + 0.5)


def gate_orders(builds: pd.DataFrame) -> dict[bool, np.ndarray]:
    """Orders of the gated builds (``builds["gate"]`` set): ``{False: gate passed, True: gate failed}``."""
    gate = builds["gate"].astype(str).to_numpy() if "gate" in builds else np.full(len(builds), "")
    orders = builds["order"].to_numpy()
    failed = gate == Verdict.REGRESSED
    return {False: orders[(gate != "") & ~failed], True: orders[failed]}


def category_png(drift: Drift, category: str, metrics: tuple[str, ...] | None = None,
                 width_in: float = 7.0, height_in: float = 6.0) -> bytes:
    """The PNG of one category (see module docstring); the CI band is m_t ± 1.96·SE_t (SE_t as in z_t). At the
    defaults a two-metric figure is 1,400 px wide: the dashboard shows it at full width without upscaling."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    frame = drift.frame
    metrics = tuple(metrics or drift.series.metrics or pd.unique(frame["metric"]))
    builds = drift.series.builds
    marks = _Marks(
        times=builds.set_index("order")["start_time"] if len(builds) else pd.Series(dtype=object),
        promoted=builds.loc[builds["promoted"], "order"].to_numpy() if len(builds) else np.array([], int),
        gates=gate_orders(builds),
        orders=np.sort(builds["order"].to_numpy()) if len(builds) else np.unique(frame["order"]),
        ref_end=max(drift.reference.get("orders") or [-1]),
    )
    fig = Figure(figsize=(width_in * len(metrics), height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, len(metrics), squeeze=False, sharex=True,
                        gridspec_kw={"height_ratios": [2.2, 1.2, 1.0], "hspace": 0.12})
    cat = frame[frame["category"] == category]
    for j, metric in enumerate(metrics):
        d = cat[cat["metric"] == metric].sort_values("order")
        alarms = d["alarm"].to_numpy(bool)
        _value_panel(axes[0, j], d, metric, marks, alarms)
        for ax in axes[:, j]:  # one collection per axis, however many promotions and alarms
            _vertical_marks(ax, d["order"].to_numpy()[alarms], marks)
        axes[0, j].grid(alpha=0.3)
        in_points(axes[0, j], metric)
        axes[0, j].yaxis.label.set_size(LABEL_SIZE)
        _z_panel(axes[1, j], d)
        _cusum_panel(axes[2, j], d, drift.params.h)
        _ticks(axes[2, j], marks.orders, marks.times)
        for ax, n_ticks in zip(axes[:, j], (5, 4, 3)):
            ax.yaxis.set_major_locator(MaxNLocator(n_ticks))
            ax.tick_params(labelsize=TICK_SIZE)
    _legend(fig, axes, per_row=max(4, int(width_in * len(metrics) / 1.5)))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


@dataclass(frozen=True)
class _Marks:
    """What every panel of a category marks: build times, promotions, gates, all builds, the reference window."""

    times: pd.Series
    promoted: np.ndarray
    gates: dict[bool, np.ndarray]
    orders: np.ndarray
    ref_end: int


def _value_panel(ax: Any, d: pd.DataFrame, metric: str, marks: _Marks, alarms: np.ndarray) -> None:
    """Build means with their 95% CI, μ_ref, the reference window, promotions, gates and alarms."""
    x = d["order"].to_numpy()
    m = d["mean"].to_numpy(dtype=float)
    se = d["se_eff"].to_numpy(dtype=float)
    lo, hi = m - Z95 * se, m + Z95 * se  # the CI of the SE that z uses
    scale = catalogue_metric(metric).scale
    if scale is not None:
        lo, hi = np.clip(lo, *scale), np.clip(hi, *scale)
    direction = d["direction"].iloc[0] if len(d) else Direction.HIGHER
    ax.set_title(f"{metric} ({direction} is better)", fontsize=TITLE_SIZE, loc="left")
    if marks.ref_end >= 0:
        ax.axvspan(marks.orders.min() - 0.5, marks.ref_end + 0.5, color="#ebebeb", zorder=0, lw=0,
                   label="reference window")
    if len(d):
        ax.fill_between(x, lo, hi, color=CI_COLOUR, alpha=0.55, lw=0, step=None, label="95% CI")
        ax.plot(x, m, "-o", color=LINE_COLOUR, ms=3, lw=1.2, label="build mean")
        mu = d["mu_ref"].iloc[0]
        if np.isfinite(mu):
            ax.axhline(mu, color=REF_COLOUR, ls="--", lw=1, label="μ_ref")
    pm = np.isin(x, marks.promoted)
    if pm.any():
        ax.plot(x[pm], m[pm], "*", color=PROMO_COLOUR, ms=11, label="promoted baseline", zorder=5)
    for (failed, orders), face in zip(marks.gates.items(), ("white", ALARM_COLOUR)):
        on = np.isin(x, orders)
        if on.any():
            ax.plot(x[on], m[on], "D", mfc=face, mec=GATE_EDGE, mew=0.8, ms=6, zorder=7,
                    label="gate failed" if failed else "gate passed")
    if alarms.any():
        low = np.nanmin(lo) if np.isfinite(lo).any() else 0.0
        ax.plot(x[alarms], np.full(alarms.sum(), low), "v", color=ALARM_COLOUR, ms=9, label="alarm", zorder=6)


def _vertical_marks(ax: Any, alarm_orders: np.ndarray, marks: _Marks) -> None:
    """Dotted lines at promotions and a shaded band at each alarm."""
    if len(marks.promoted):
        ax.vlines(marks.promoted, 0, 1, transform=ax.get_xaxis_transform(), colors=PROMO_COLOUR, lw=0.8,
                  linestyles=":", zorder=1)
    if len(alarm_orders):
        ax.vlines(alarm_orders, 0, 1, transform=ax.get_xaxis_transform(), colors=ALARM_COLOUR, alpha=0.18,
                  lw=max(2.0, 300.0 / max(len(marks.orders), 1)), zorder=0)


def _z_panel(ax: Any, d: pd.DataFrame) -> None:
    """Standardised shifts z_t, their EWMA and its ± control limit."""
    x = d["order"].to_numpy()
    z = d["z"].to_numpy(dtype=float)
    ax.axhline(0, color=REF_COLOUR, lw=0.8)
    if len(d):
        ax.plot(x, z, ".", color="#969696", ms=4, label="z_t")
        ax.plot(x, d["ewma"].to_numpy(dtype=float), "-", color=EWMA_COLOUR, lw=1.4, label="EWMA")
        lim = d["ewma_limit"].to_numpy(dtype=float)
        ax.plot(x, lim, "--", color=EWMA_COLOUR, lw=0.8)
        ax.plot(x, -lim, "--", color=EWMA_COLOUR, lw=0.8, label="±L limit")
    finite = np.abs(z[np.isfinite(z)])
    top = max(4.0, min(12.0, float(finite.max()) if finite.size else 4.0)) * 1.1
    ax.set_ylim(-top, top)
    ax.set_ylabel("z (SE units)", fontsize=LABEL_SIZE)
    ax.grid(alpha=0.3)


def _cusum_panel(ax: Any, d: pd.DataFrame, h: float) -> None:
    """The lower CUSUM S_t against its decision threshold h."""
    x = d["order"].to_numpy()
    s = d["cusum"].to_numpy(dtype=float)
    if len(d):
        ax.fill_between(x, 0, s, color=ALARM_COLOUR, alpha=0.25, lw=0)
        ax.plot(x, s, "-", color=ALARM_COLOUR, lw=1.5, label="lower CUSUM S_t")
    ax.axhline(h, color="black", ls="--", lw=0.9, label=f"h = {h:g}")
    ax.set_ylim(0, max(h * 1.5, float(np.nanmax(s)) * 1.1 if np.isfinite(s).any() else 0))
    ax.set_ylabel("S_t", fontsize=LABEL_SIZE)
    ax.grid(alpha=0.3)


def _legend(fig: Any, axes: Any, per_row: int) -> None:
    """One legend for the figure, above the plots (never over the data): ``per_row`` entries (~1 per 1.5
    inch of width) per row, then a second row."""
    handles: dict[str, Any] = {}
    for ax in axes.ravel():
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    rows = -(-len(handles) // per_row)
    fig.legend(list(handles.values()), list(handles.keys()), loc="upper center", ncols=min(len(handles), per_row),
               fontsize=LABEL_SIZE, frameon=False, handlelength=1.6, columnspacing=1.2)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.89 - 0.05 * (rows - 1), bottom=0.1, wspace=0.16)
