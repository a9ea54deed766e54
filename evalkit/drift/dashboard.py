"""The static drift dashboard: one self-contained HTML file (plots embedded as base64 PNG; no server, no CDN).

Sections: what is shown and how μ_ref is defined, the alarms (with links to the MLflow runs), an overview grid
per gated metric (category × recent builds, one colour per verdict, ▼ on alarms, ★ on promoted and ◆ on gated
builds), one plot per category, and the list of builds (with each gated build's gate verdict). ``drift.csv`` beside it holds every number of the page.
"""

from __future__ import annotations

import base64
import html
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

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1b1b;max-width:1500px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 4px}
.meta{color:#555;font-size:13px} .note{color:#8a6d3b;font-size:13px}
table{border-collapse:collapse;font-size:12px} th,td{padding:3px 6px;border:1px solid #ddd;text-align:left}
th{background:#f5f5f5} td.num{text-align:right;font-variant-numeric:tabular-nums}
table.grid td{text-align:center;min-width:26px;border:1px solid #fff;font-size:11px}
table.grid th{font-weight:normal;font-size:10px;white-space:nowrap}
table.grid td.alarm{outline:3px solid #000;outline-offset:-3px;font-weight:bold}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border-radius:3px;font-size:12px}
.ok{color:#1a9850;font-weight:bold} .bad{color:#d7301f;font-weight:bold}
.gate-failed{color:#d7301f;font-weight:bold} .gate-passed{color:#4d4d4d}
img.plot{width:100%;height:auto;border:1px solid #eee}
code{background:#f5f5f5;padding:1px 4px}
"""

# Marks every plot once the browser decoded it (lets a headless check tell loaded images from broken ones).
_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img.plot'), ok = 0;
  imgs.forEach(function (im) {
    if (im.complete && im.naturalWidth > 0) {
      ok++;
      im.setAttribute('data-decoded', im.naturalWidth + 'x' + im.naturalHeight);
    }
  });
  document.body.setAttribute('data-plots', imgs.length);
  document.body.setAttribute('data-plots-decoded', ok);
});
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _label(category: str) -> str:
    return "overall" if category == OVERALL else category


def _anchor(category: str) -> str:
    return "cat-" + "".join(ch if ch.isalnum() else "-" for ch in category)


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if isinstance(x, (int, float, np.floating)) and np.isfinite(x) else "–"


def _run_link(drift: Drift, run_id: str, text: str | None = None) -> str:
    url = drift.series.run_url(run_id)
    return f'<a href="{_e(url)}" title="MLflow run {_e(run_id)}"><code>{_e(text or run_id)}</code></a>'


def gate_mark(verdict: str, labelled: bool = False) -> str:
    """The ◆ of a gated build, red when its gate failed, with the verdict on hover (``labelled``: also as text,
    for the builds table); ``""`` for a build never gated."""
    if not verdict:
        return ""
    cls = "gate-failed" if verdict == Verdict.REGRESSED else "gate-passed"
    text = f"{GATE_MARK} {_e(verdict)}" if labelled else GATE_MARK
    return f'<span class="{cls}" title="gate: {_e(verdict)}">{text}</span>'


def _header(drift: Drift) -> str:
    s, p, ref = drift.series, drift.params, drift.reference
    b = s.builds
    first, last = (b["start_time"].min(), b["start_time"].max()) if len(b) else (None, None)
    span = f"{first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M} UTC" if first is not None else "no builds"
    ref_when = ""
    if ref.get("first") is not None:
        ref_when = f" ({ref['first']:%Y-%m-%d} … {ref['last']:%Y-%m-%d})"
    n_ref = len(ref.get("orders", []))
    parts = [
        f"<h1>Quality drift — suite <code>{_e(s.suite)}</code>, baseline alias <code>{_e(s.alias)}</code></h1>",
        f'<p class="meta">{len(b)} builds, {span}{_gate_count(b)}. Tracking URI '
        f'<code>{_e(s.tracking_uri or "–")}</code>.</p>',
        '<p class="meta">Each build is put on its own scale: z<sub>t</sub> = (m<sub>t</sub> − μ<sub>ref</sub>) / '
        "SE<sub>t</sub> with SE<sub>t</sub> that build's own scenario-clustered standard error (sign flipped for "
        "lower-is-better metrics, so negative is worse). "
        f"<b>μ<sub>ref</sub> = the mean of the first {n_ref} build(s){ref_when}</b> (the reference window, shaded "
        f"grey in the plots). EWMA λ = {p.lam:g}, limits ±{p.L:g}·σ<sub>EWMA</sub>; alarm = lower CUSUM "
        f"S<sub>t</sub> = max(0, S<sub>t−1</sub> − z<sub>t</sub> − {p.k:g}) above h = {p.h:g} (then S restarts at 0). "
        "See docs/drift.md.</p>",
    ]
    for note in s.notes:
        parts.append(f'<p class="note">Note: {_e(note)}</p>')
    if ref.get("cells_short"):
        parts.append(f'<p class="note">Note: {ref["cells_short"]} cell(s) have fewer than {p.ref_builds} builds in '
                     "their reference window.</p>")
    return "\n".join(parts)


def _gate_count(builds: pd.DataFrame) -> str:
    """``; 5 gated (1 failed)`` for the header, or nothing when no build went through the gate."""
    gated = builds["gate"].astype(str) if "gate" in builds else pd.Series(dtype=str)
    gated = gated[gated != ""]
    if gated.empty:
        return ""
    failed = int((gated == Verdict.REGRESSED).sum())
    return f"; {len(gated)} gated ({failed} failed)"


def _alarms(drift: Drift) -> str:
    a = drift.alarms
    hint = drift.series.ui_hint()
    out = ["<h2 id=\"alarms\">Alarms</h2>"]
    if a.empty:
        out.append('<p class="ok">No alarms: no category drifted below its reference quality.</p>')
    else:
        out.append(f'<p class="bad">{len(a)} alarm(s) on {a["order"].nunique()} build(s), in '
                   f'{a["category"].nunique()} categor{"y" if a["category"].nunique() == 1 else "ies"}.</p>')
    if hint:
        out.append(f'<p class="meta">The store is local: run <code>{_e(hint)}</code> to open the run links '
                   "(they point at http://127.0.0.1:5000).</p>")
    if a.empty:
        return "\n".join(out)
    rows = ["<table><tr><th>build</th><th>when (UTC)</th><th>build id</th><th>category</th><th>metric</th>"
            "<th>m<sub>t</sub></th><th>μ<sub>ref</sub></th><th>z<sub>t</sub></th><th>S<sub>t</sub></th>"
            "<th>MLflow run</th></tr>"]
    for r in a.itertuples():
        rows.append(
            f"<tr><td class=num>#{r.order + 1}</td><td>{r.start_time:%Y-%m-%d %H:%M}</td><td><code>{_e(r.build_id)}"
            f"</code></td><td><a href=\"#{_anchor(r.category)}\">{_e(_label(r.category))}</a></td><td>{_e(r.metric)}"
            f"</td><td class=num>{_fmt(r.mean)}</td><td class=num>{_fmt(r.mu_ref)}</td><td class=num>"
            f"{_fmt(r.z)}</td><td class=num>{_fmt(r.cusum)}</td><td>{_run_link(drift, r.run_id)}</td></tr>")
    rows.append("</table>")
    return "\n".join(out + rows)


def _grid(drift: Drift, metric: str, recent: int) -> str:
    f = drift.frame[drift.frame["metric"] == metric]
    if f.empty:
        return ""
    builds = drift.series.builds.sort_values("order").tail(recent)
    orders = builds["order"].to_numpy()
    sub = f[f["order"].isin(orders)].set_index(["category", "order"])
    cats = [c for c in drift.series.categories if c in set(f["category"])]
    head = "".join(
        f'<th title="{_e(b.build_id)}">#{b.order + 1}<br>{b.start_time:%m-%d}{"<br>★" if b.promoted else ""}'
        f'{"<br>" + gate_mark(b.gate) if b.gate else ""}</th>'
        for b in builds.itertuples())
    rows = [f'<h3>{_e(metric)}</h3><table class="grid"><tr><th>category</th>{head}</tr>']
    for c in cats:
        cells = []
        for o in orders:
            if (c, o) not in sub.index:
                cells.append(f'<td style="background:{VERDICT_COLOURS[Verdict.MISSING]}" title="not evaluated">·</td>')
                continue
            r = sub.loc[(c, o)]
            v = str(r["verdict"])
            mark = "▼" if bool(r["alarm"]) else ""
            tip = (f"{_label(c)} {metric} build #{o + 1}: {v}; m={_fmt(r['mean'])} μref={_fmt(r['mu_ref'])} "
                   f"z={_fmt(r['z'])} S={_fmt(r['cusum'])}{' ALARM' if mark else ''}")
            cls = ' class="alarm"' if mark else ""
            cells.append(f'<td{cls} style="background:{VERDICT_COLOURS[v]};color:{VERDICT_TEXT[v]}" '
                         f'title="{_e(tip)}">{mark}</td>')
        rows.append(f'<tr><th><a href="#{_anchor(c)}">{_e(_label(c))}</a></th>{"".join(cells)}</tr>')
    rows.append("</table>")
    return "\n".join(rows)


def _legend() -> str:
    spans = "".join(f'<span style="background:{VERDICT_COLOURS[v]};color:{VERDICT_TEXT[v]};'
                    f'border:1px solid #ccc">{v}</span>' for v in VERDICT_COLOURS)
    return (f'<p class="legend">{spans} <span style="outline:3px solid #000">▼ alarm</span> ★ promoted baseline '
            f'<span class="gate-passed">{GATE_MARK}</span> gated build (<span class="gate-failed">{GATE_MARK}</span> '
            "the gate failed: regressed; hover for the verdict)</p>"
            '<p class="meta">Verdict of a cell: the build mean minus μ<sub>ref</sub>, 95% interval on '
            "sqrt(SE<sub>t</sub>² + SE<sub>ref</sub>²), against the policy margin (uncorrected per cell; the "
            "alarms are the error-controlled signal).</p>")


def _builds_table(drift: Drift) -> str:
    b = drift.series.builds.sort_values("order")
    alarm_orders = set(drift.alarms["order"].tolist())
    rows = ['<h2 id="builds">Builds</h2><details open><summary>All builds in time order</summary><table>'
            "<tr><th>build</th><th>when (UTC)</th><th>build id</th><th>label</th><th>role</th><th>baseline</th>"
            "<th>gate</th><th>alarm</th><th>MLflow run</th></tr>"]
    for r in b.itertuples():
        promo = f'★ promoted{": " + _e(r.promoted_reason) if r.promoted_reason else ""}' if r.promoted else ""
        rows.append(f"<tr><td class=num>#{r.order + 1}</td><td>{r.start_time:%Y-%m-%d %H:%M}</td><td><code>"
                    f"{_e(r.build_id)}</code></td><td>{_e(r.label)}</td><td>{_e(r.role)}</td><td>{promo}</td>"
                    f"<td>{gate_mark(r.gate, labelled=True)}</td><td>{'▼' if r.order in alarm_orders else ''}</td>"
                    f"<td>{_run_link(drift, r.run_id)}</td></tr>")
    rows.append("</table></details>")
    return "\n".join(rows)


def render_html(drift: Drift, images: dict[str, bytes], recent: int = 20) -> str:
    """The page for ``drift`` with ``images`` (category → PNG bytes) embedded."""
    s = drift.series
    cats = [c for c in s.categories if c in images]
    grids = "\n".join(_grid(drift, m, recent) for m in s.metrics)
    toc = " · ".join(f'<a href="#{_anchor(c)}">{_e(_label(c))}</a>' for c in cats)
    plots = []
    for c in cats:
        data = base64.b64encode(images[c]).decode("ascii")
        n_alarm = int(drift.frame.loc[drift.frame["category"] == c, "alarm"].sum())
        badge = f' <span class="bad">▼ {n_alarm} alarm(s)</span>' if n_alarm else ""
        plots.append(f'<h3 id="{_anchor(c)}">{_e(_label(c))}{badge}</h3>'
                     f'<img class="plot" alt="{_e(_label(c))}: {", ".join(s.metrics)} across {len(s.builds)} builds '
                     f'with CI band, EWMA and CUSUM" src="data:image/png;base64,{data}">')
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>evalkit drift — {_e(s.suite)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_CSS}</style><script>{_SCRIPT}</script></head><body>",
        _header(drift),
        _alarms(drift),
        f'<h2 id="overview">Overview: last {min(recent, len(s.builds))} builds</h2>',
        _legend(), grids,
        f'<h2 id="plots">Per category</h2><p class="meta">{toc}</p>',
        *plots,
        _builds_table(drift),
        "</body></html>",
    ])


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
