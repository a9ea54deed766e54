"""The static drift dashboard: one self-contained HTML file (plots embedded as base64 PNG; no server, no CDN).

Sections: what is shown and how μ_ref is defined, the alarms (with links to the MLflow runs), an overview grid
per gated metric (category × recent builds, one colour per verdict, ▼ on alarms, ★ on promoted and ◆ on gated
builds), one plot per category, and the list of builds (with each gated build's gate verdict). ``drift.csv`` beside it holds every number of the page.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.atomic import atomic_write
from evalkit.drift.detect import Drift
from evalkit.drift.series import OVERALL
from evalkit.vocab import Verdict

VERDICT_COLOURS = {Verdict.REGRESSED: "#d7301f", Verdict.IMPROVED: "#1a9850", Verdict.UNCHANGED: "#a6d96a",
                   Verdict.INCONCLUSIVE: "#e0e0e0", Verdict.MISSING: "#ffffff"}
#: marks a build that went through ``evalkit gate`` (its run carries ``evalkit.gate.verdict``)
GATE_MARK = "◆"
VERDICT_TEXT = {Verdict.REGRESSED: "#ffffff", Verdict.IMPROVED: "#ffffff", Verdict.UNCHANGED: "#1b1b1b",
                Verdict.INCONCLUSIVE: "#1b1b1b", Verdict.MISSING: "#9e9e9e"}

_TEMPLATE = "dashboard.html"


def _label(category: str) -> str:
    return "overall" if category == OVERALL else category


def _anchor(category: str) -> str:
    return "cat-" + "".join(ch if ch.isalnum() else "-" for ch in category)


def _fmt(x: float) -> str:
    return f"{x:.2f}" if isinstance(x, (int, float, np.floating)) and np.isfinite(x) else "–"


def _run(drift: Drift, run_id: str) -> dict:
    return {"id": run_id, "url": drift.series.run_url(run_id)}


def _header(drift: Drift) -> dict:
    s, p, ref = drift.series, drift.params, drift.reference
    b = s.builds
    first, last = (b["start_time"].min(), b["start_time"].max()) if len(b) else (None, None)
    gated = b["gate"].astype(str) if "gate" in b else pd.Series(dtype=str)
    gated = gated[gated != ""]
    return {
        "suite": s.suite, "alias": s.alias, "tracking_uri": s.tracking_uri, "n_builds": len(b),
        "span": f"{first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M} UTC" if first is not None else "no builds",
        "gated": len(gated), "gates_failed": int((gated == Verdict.REGRESSED).sum()),
        "n_ref": len(ref.get("orders", [])), "params": p, "notes": list(s.notes),
        "ref_when": f" ({ref['first']:%Y-%m-%d} … {ref['last']:%Y-%m-%d})" if ref.get("first") is not None else "",
        "cells_short": ref.get("cells_short"),
    }


def _alarms(drift: Drift) -> dict:
    a = drift.alarms
    rows = [{"build": r.order + 1, "when": f"{r.start_time:%Y-%m-%d %H:%M}", "build_id": r.build_id,
             "anchor": _anchor(r.category), "category": _label(r.category), "metric": r.metric,
             "mean": _fmt(r.mean), "mu_ref": _fmt(r.mu_ref), "z": _fmt(r.z), "cusum": _fmt(r.cusum),
             "run": _run(drift, r.run_id)} for r in a.itertuples()]
    return {"alarms": rows, "alarm_builds": a["order"].nunique() if len(a) else 0,
            "alarm_categories": a["category"].nunique() if len(a) else 0, "ui_hint": drift.series.ui_hint()}


def _grid(drift: Drift, metric: str, recent: int) -> dict | None:
    """One metric's overview: category × the most recent builds, a colour per verdict, ▼ on alarms."""
    f = drift.frame[drift.frame["metric"] == metric]
    if f.empty:
        return None
    builds = drift.series.builds.sort_values("order").tail(recent)
    orders = builds["order"].to_numpy()
    sub = f[f["order"].isin(orders)].set_index(["category", "order"])
    rows = []
    for c in (c for c in drift.series.categories if c in set(f["category"])):
        cells = []
        for o in orders:
            if (c, o) not in sub.index:
                cells.append({"missing": True, "background": VERDICT_COLOURS[Verdict.MISSING]})
                continue
            r = sub.loc[(c, o)]
            v, alarm = str(r["verdict"]), bool(r["alarm"])
            tip = (f"{_label(c)} {metric} build #{o + 1}: {v}; m={_fmt(r['mean'])} μref={_fmt(r['mu_ref'])} "
                   f"z={_fmt(r['z'])} S={_fmt(r['cusum'])}{' ALARM' if alarm else ''}")
            cells.append({"missing": False, "alarm": alarm, "background": VERDICT_COLOURS[v],
                          "colour": VERDICT_TEXT[v], "tip": tip})
        rows.append({"anchor": _anchor(c), "category": _label(c), "cells": cells})
    heads = [{"build": b.order + 1, "build_id": b.build_id, "day": f"{b.start_time:%m-%d}", "promoted": b.promoted,
              "gate": b.gate} for b in builds.itertuples()]
    return {"metric": metric, "builds": heads, "rows": rows}


def _plots(drift: Drift, images: dict[str, bytes]) -> list[dict]:
    s = drift.series
    return [{"anchor": _anchor(c), "category": _label(c),
             "alarms": int(drift.frame.loc[drift.frame["category"] == c, "alarm"].sum()),
             "alt": f"{_label(c)}: {', '.join(s.metrics)} across {len(s.builds)} builds with CI band, EWMA "
                    "and CUSUM",
             "png": base64.b64encode(images[c]).decode("ascii")} for c in s.categories if c in images]


def _builds(drift: Drift) -> list[dict]:
    alarm_orders = set(drift.alarms["order"].tolist())
    return [{"build": r.order + 1, "when": f"{r.start_time:%Y-%m-%d %H:%M}", "build_id": r.build_id,
             "label": r.label, "role": r.role, "promoted": r.promoted, "promoted_reason": r.promoted_reason,
             "gate": r.gate, "alarm": r.order in alarm_orders, "run": _run(drift, r.run_id)}
            for r in drift.series.builds.sort_values("order").itertuples()]


def _environment():
    """The jinja2 environment of the package's templates, autoescaping everything (names come from users)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("evalkit.drift", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
    env.filters["g"] = lambda x: f"{x:g}"
    return env


def render_html(drift: Drift, images: dict[str, bytes], recent: int = 20) -> str:
    """The page for ``drift`` with ``images`` (category → PNG bytes) embedded."""
    s = drift.series
    legend = [{"verdict": v, "background": VERDICT_COLOURS[v], "colour": VERDICT_TEXT[v]} for v in VERDICT_COLOURS]
    grids = [g for g in (_grid(drift, m, recent) for m in s.metrics) if g is not None]
    return _environment().get_template(_TEMPLATE).render(
        **_header(drift), **_alarms(drift), legend=legend, grids=grids, n_recent=min(recent, len(s.builds)),
        plots=_plots(drift, images), builds=_builds(drift), GATE_MARK=GATE_MARK, regressed=Verdict.REGRESSED)


def build_dashboard(drift: Drift, out_dir: str | Path, recent: int = 20) -> Path:
    """Write ``index.html`` (self-contained) and ``drift.csv`` into ``out_dir``; returns the HTML path."""
    from evalkit.drift.plots import category_png

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images = {c: category_png(drift, c) for c in drift.series.categories}
    page = render_html(drift, images, recent=recent)
    atomic_write(out / "index.html", page)
    frame = drift.to_frame()
    frame["start_time"] = pd.to_datetime(frame["start_time"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    atomic_write(out / "drift.csv", frame.to_csv(index=False))
    return out / "index.html"
