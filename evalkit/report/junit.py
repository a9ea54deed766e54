"""JUnit XML: one test case per category × gated metric, failing on regression, so CI systems show it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from evalkit.report.context import (ReportContext, bounds_header, design_columns, fmt_diff, fmt_value,
                                    is_sequential)
from evalkit.report.headline import headline
from evalkit.score.schema import category_label
from evalkit.vocab import Verdict


def render_junit(comparison, context: ReportContext | None = None) -> str:
    """A <testsuites> document; inconclusive cells pass with a system-out note (they are not regressions)."""
    ctx = context or ReportContext()
    cells = comparison.gated
    sequential = is_sequential(cells)
    failures = int((cells["verdict"] == Verdict.REGRESSED).sum())
    name = f"evalkit.{ctx.suite}" if ctx.suite else "evalkit"
    root = ET.Element("testsuites", name=name, tests=str(len(cells)), failures=str(failures), errors="0")
    suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(cells)), failures=str(failures),
                          errors="0", skipped="0")
    props = ET.SubElement(suite, "properties")
    for key, value in (("candidate", ctx.candidate_build), ("baseline", ctx.baseline_build),
                       ("candidate_run", ctx.candidate_run), ("verdict", comparison.verdict),
                       ("cross_category", str(comparison.cross_category).lower())):
        if value:
            ET.SubElement(props, "property", name=key, value=str(value))
    label = "anytime bound" if sequential else bounds_header(comparison.policy)
    for r in cells.itertuples(index=False):
        cat = category_label(r.category)
        case = ET.SubElement(suite, "testcase", classname=f"{name}.{r.metric}", name=cat, time="0")
        n, interval, detectable, for_delta = design_columns(r, comparison, sequential)
        resolve = ("" if sequential or detectable in ("", "—") else
                   f", detectable drop {detectable}, scenarios for δ {for_delta}")
        detail = (f"{r.metric} {cat}: baseline {fmt_value(r.baseline_mean, r.metric)}, candidate "
                  f"{fmt_value(r.candidate_mean, r.metric)}, diff {fmt_diff(r.diff, r.metric)}, {label} "
                  f"{interval}, n={n}, verdict {r.verdict}{resolve}")
        if r.verdict == Verdict.REGRESSED:
            fail = ET.SubElement(case, "failure", message=f"{r.metric} regressed in {cat}", type="regression")
            fail.text = detail + (f"\n{headline(comparison)}" if comparison.cross_category else "")
        else:
            ET.SubElement(case, "system-out").text = detail
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
