"""Write every report of a comparison into one folder, atomically (no half-written report files)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from evalkit.report.context import ReportContext
from evalkit.report.junit import render_junit
from evalkit.report.markdown import render_markdown
from evalkit.report.terminal import render_terminal


def atomic_write(path: Path, text: str) -> None:
    """Write via a temp file + rename so a reader never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def report_json(comparison, context: ReportContext | None = None) -> dict:
    """Machine-readable report: the comparison plus the context."""
    doc = comparison.to_dict()
    doc["context"] = (context or ReportContext()).to_dict()
    return doc


def write_reports(comparison, out_dir: str | Path, context: ReportContext | None = None) -> dict[str, Path]:
    """Write report.md, junit.xml, report.txt, comparison.json and cells.csv; return their paths."""
    out = Path(out_dir)
    paths = {
        "markdown": out / "report.md",
        "junit": out / "junit.xml",
        "text": out / "report.txt",
        "json": out / "comparison.json",
        "csv": out / "cells.csv",
    }
    atomic_write(paths["markdown"], render_markdown(comparison, context))
    atomic_write(paths["junit"], render_junit(comparison, context))
    atomic_write(paths["text"], render_terminal(comparison, context, color=False))
    atomic_write(paths["json"], json.dumps(report_json(comparison, context), indent=2, default=str) + "\n")
    atomic_write(paths["csv"], comparison.to_frame().to_csv(index=False))
    return paths
