"""Reports of a comparison: terminal verdict table, pull-request Markdown, JUnit XML, JSON.

Every renderer is a pure function ``(comparison, context) -> str``; :func:`write_reports` writes the files.
``context`` carries what the comparison does not know: suite, build ids, where the baseline came from and
references to the MLflow runs.
"""

from evalkit.report.context import ReportContext
from evalkit.report.files import write_reports
from evalkit.report.junit import render_junit
from evalkit.report.markdown import render_markdown
from evalkit.report.terminal import render_terminal

__all__ = ["ReportContext", "render_junit", "render_markdown", "render_terminal", "write_reports"]
