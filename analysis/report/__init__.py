"""``atlas report``: a scaling-law report, as a small Quarto book, on anyone's training runs.

:func:`write_report` writes the book from the report templates; :func:`render_report` renders
it with the project's engine. The generated chapters call :func:`load_report` and the
:class:`Report` it returns for every number, table and chart.
"""

from typing import Any

from analysis.report.generator import render_report, write_report
from analysis.report.settings import ReportSettings

__all__ = ["FitOutcome", "Report", "ReportSettings", "load_report", "render_report", "write_report"]

_RUNTIME_NAMES = frozenset({"FitOutcome", "Report", "load_report"})


def __getattr__(name: str) -> Any:
    # The runtime pulls in the estimators and charts; only rendering chapters need it, so
    # `atlas --help` and `atlas report --no-render` do not pay for the import.
    if name in _RUNTIME_NAMES:
        from analysis.report import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module 'analysis.report' has no attribute {name!r}")
