"""What the generated chapters print, read straight from :class:`analysis.report.Report` (no rendering)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from datasets import heldout_frame, isoflop_family, write_csv

from analysis.cli import main
from analysis.report import load_report

SYNTHETIC_OPTIONS = ["--n-col", "params", "--c-col", "flops", "--loss-col", "final_loss"]


def report_on(csv: Path, out: Path, *options: str):
    """Write the report's sources for ``csv`` and load the :class:`Report` its chapters use."""
    assert main(["report", str(csv), "--out", str(out), "--no-render", *options]) == 0
    return load_report(out / "report.yml")


def table_rows(markdown: str) -> list[dict[str, str]]:
    """A pipe table's body rows as {header: cell} (cells unescaped)."""
    lines = [line for line in markdown.strip().splitlines() if line.startswith("|")]
    cells = [[cell.strip().replace("\\", "") for cell in line.strip("|").split(" | ")] for line in lines]
    header, _, *rows = cells
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_budget_table_gives_each_budget_its_own_status(tmp_path: Path) -> None:
    frame = isoflop_family(budgets=(1e18, 1e19, 1e20))
    # Leave the 1e19 budget three runs: too few for a parabola, while the other two stay usable.
    frame = frame.drop(frame.index[(frame["flops"] == 1e19)][3:])
    report = report_on(write_csv(frame, tmp_path / "runs.csv"), tmp_path / "report", "--bootstrap", "0",
                       *SYNTHETIC_OPTIONS)
    rows = table_rows(report.tables.budgets().data)
    assert [row["Runs"] for row in rows] == ["9", "3", "9"]
    assert [row["Used"] for row in rows] == ["yes", "no: only 3 runs (need 4)", "yes"]
    assert rows[1]["N_opt (parameters)"] == "–" and rows[0]["N_opt (parameters)"] != "–"
    assert "2 of them have enough runs" in report.text.budgets()


def test_declined_isoflop_fit_keeps_per_budget_reasons(tmp_path: Path) -> None:
    # li2025: five budgets, of which only the largest (2.79e18 FLOP) has its minimum inside its sizes.
    csv = write_csv(heldout_frame("li2025_c4_final.csv"), tmp_path / "li2025.csv")
    report = report_on(csv, tmp_path / "report", "--bootstrap", "0")
    assert not report.isoflop.available
    rows = table_rows(report.tables.budgets().data)
    status = {row["Budget C (FLOP)"]: row for row in rows}
    usable = status["2.79 × 10¹⁸"]
    assert usable["Used"] == "yes" and re.fullmatch(r"[\d.]+[kMB]", usable["N_opt (parameters)"])
    assert status["2.24 × 10¹⁸"]["Used"] == "no: only 3 runs (need 4)"
    # The global reason is given once, in the sentence, not repeated in every row.
    assert all("fewer than two usable" not in row["Used"] for row in rows)
    assert "1 of them can be used" in report.text.budgets()


def test_intervals_say_they_come_from_the_converged_refits_only(tmp_path: Path) -> None:
    csv = write_csv(heldout_frame("li2025_c4_final.csv"), tmp_path / "li2025.csv")
    # Two Newton iterations per start: some refits fail even from every start (li2025's refits all converge
    # with the default).
    report = report_on(csv, tmp_path / "report", "--bootstrap", "40", "--max-iter", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = report.parametric.result
    assert fit is not None and fit.n_bootstrap_failed > 0
    kept = fit.n_bootstrap - fit.n_bootstrap_failed
    text = " ".join(report.text.parametric_summary().data.split())
    assert f"only from the {kept} of 40 bootstrap refits that converged, and may be too narrow" in text
