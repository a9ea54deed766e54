"""Write every report of a comparison into one folder, atomically (no half-written report files)."""

from __future__ import annotations

import json
from pathlib import Path

from evalkit.atomic import atomic_write, check_targets, write_together
from evalkit.report.context import ReportContext
from evalkit.report.headline import headline
from evalkit.report.junit import render_junit
from evalkit.report.markdown import render_markdown
from evalkit.report.terminal import render_terminal
from evalkit.vocab import ReportFormat


def report_json(comparison, context: ReportContext | None = None) -> dict:
    """Machine-readable report: the comparison plus the context."""
    doc = comparison.to_dict()
    doc["headline"] = headline(comparison)
    doc["context"] = (context or ReportContext()).to_dict()
    return doc


def write_reports(comparison, out_dir: str | Path, context: ReportContext | None = None) -> dict[str, Path]:
    """Write report.md, junit.xml, report.txt, comparison.json and cells.csv; return their paths."""
    out = Path(out_dir)
    paths = {
        ReportFormat.MARKDOWN: out / "report.md",
        ReportFormat.JUNIT: out / "junit.xml",
        ReportFormat.TEXT: out / "report.txt",
        ReportFormat.JSON: out / "comparison.json",
        "csv": out / "cells.csv",
    }
    check_targets(list(paths.values()), "--output-dir")
    with write_together():  # the five files land as one set, or none of them does
        atomic_write(paths[ReportFormat.MARKDOWN], render_markdown(comparison, context))
        atomic_write(paths[ReportFormat.JUNIT], render_junit(comparison, context))
        atomic_write(paths[ReportFormat.TEXT], render_terminal(comparison, context, color=False))
        atomic_write(paths[ReportFormat.JSON],
                     json.dumps(report_json(comparison, context), indent=2, default=str) + "\n")
        atomic_write(paths["csv"], comparison.to_frame().to_csv(index=False))
    return paths
