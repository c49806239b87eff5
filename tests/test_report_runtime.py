"""What the generated chapters print, read straight from :class:`analysis.report.Report` (no rendering)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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
    usable = status["2.79\u00a0×\u00a010¹⁸"]
    assert usable["Used"] == "yes" and re.fullmatch(r"[\d.]+[kMB]", usable["N_opt (parameters)"])
    assert status["2.24\u00a0×\u00a010¹⁸"]["Used"] == "no: only 3 runs (need 4)"
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


def test_the_report_says_at_the_top_when_approaches_disagree_and_the_allocation_leaves_the_runs(tmp_path: Path) -> None:
    """Li et al.'s C4 runs: the parametric a (about 0.83) and the envelope a (about 0.42) disagree beyond their
    intervals, and at 1e23 FLOP the parametric fit would give 0.03 tokens per parameter (the runs span 1.4-218)."""
    csv = write_csv(heldout_frame("li2025_c4_final.csv"), tmp_path / "li2025.csv")
    report = report_on(csv, tmp_path / "report", "--bootstrap", "100")
    cautions = " ".join(report.text.cautions().data.split())
    assert cautions.startswith("**Read this first.**")
    assert "**The approaches disagree.** The parametric fit gives a = 0.829" in cautions
    assert "the lower envelope a = 0.421" in cautions and "their intervals do not overlap" in cautions
    assert "**The allocation leaves the runs behind.** At 10²³ FLOP the parametric fit allocates 0.0304 tokens" in cautions
    headline = " ".join(report.text.headline().data.split())
    assert headline.startswith("**81 runs** from 57.2M to 1.18B parameters")
    assert "the law predicts the final loss of the 24 runs above with a mean error of 1.4%" in headline
    holdout = table_rows(report.tables.holdout().data)
    assert 0 < len(holdout) <= 12 and all(row["Error"].endswith("%") for row in holdout)


def test_clean_runs_need_no_warning_and_get_a_headline(tmp_path: Path) -> None:
    report = report_on(write_csv(isoflop_family(), tmp_path / "runs.csv"), tmp_path / "report", "--bootstrap", "50",
                       *SYNTHETIC_OPTIONS)
    assert report.text.cautions().data == ""
    assert "The compute-optimal model size grows as" in report.text.headline().data


def test_charts_draw_a_sample_of_many_runs_and_say_so(tmp_path: Path) -> None:
    """Altair embeds at most 5,000 rows a chart: 1,600 runs (6,400 rows of residuals over four laws) are drawn as a
    sample of 1,200, the same in every chart."""
    import numpy as np

    from analysis.report.charts import MAX_CHART_RUNS

    frame = isoflop_family(budgets=(1e18, 1e19, 1e20, 1e21), sizes_per_budget=400, noise=0.01)
    report = report_on(write_csv(frame, tmp_path / "runs.csv"), tmp_path / "report", "--bootstrap", "0",
                       *SYNTHETIC_OPTIONS)
    assert report.charts.sample_size() == (MAX_CHART_RUNS, 1600)
    assert "the charts draw 1,200 of them" in report.text.chart_sample()
    for chart in (report.charts.isoloss(), report.charts.isoflop(), report.charts.residuals(), report.charts.residuals("all")):
        spec = chart.to_dict()  # raises MaxRowsError beyond 5,000 rows
        rows = sum(len(values) for values in spec.get("datasets", {}).values())
        assert rows > 0
    drawn = report.charts.runs()
    assert len(drawn) == MAX_CHART_RUNS and np.isin(drawn["N"], frame["params"]).all()


def test_isoflop_chart_draws_the_profiles_its_exponent_comes_from(tmp_path: Path) -> None:
    from analysis.report.charts import CHART_WIDTH

    for method, options in (("parabola", []), ("interpolation", ["--method", "interpolation", "--loss-noise", "0.01"])):
        report = report_on(write_csv(isoflop_family(), tmp_path / f"{method}.csv"), tmp_path / method,
                           "--bootstrap", "20", *SYNTHETIC_OPTIONS, *options)
        iso = report.isoflop.result
        assert iso is not None and iso.profile_method == method
        spec = report.charts.isoflop().to_dict()
        assert spec["width"] == CHART_WIDTH  # the column, not a third of it
        titles = [t["title"] for layer in spec["layer"] for t in layer.get("encoding", {}).get("tooltip", [])]
        kind = "interpolated profile" if method == "interpolation" else "parabola"
        assert f"IsoFLOP fit: {kind} of the budget" in titles and "IsoFLOP optimum of the budget" in titles
        optima = next(spec["datasets"][layer["data"]["name"]] for layer in spec["layer"]
                      if any(t["title"] == "IsoFLOP optimum of the budget" for t in layer["encoding"]["tooltip"]))
        assert sorted(round(row["N"]) for row in optima) == sorted(round(n) for n in iso.budgets["N_opt"])
        assert ("@porian2024resolving" in report.text.isoflop_method().data) == (method == "interpolation")


def test_a_chapter_imports_only_what_it_uses(tmp_path: Path) -> None:
    """Data flows one way (loading data imports no fit), and a chapter's kernel imports no scipy (the
    interpolation spline and the likelihood fit import it when used) and no Altair before its first chart."""
    frame = isoflop_family(budgets=(1e18, 1e19, 1e20))
    report_on(write_csv(frame, tmp_path / "runs.csv"), tmp_path / "report", "--bootstrap", "0", *SYNTHETIC_OPTIONS)
    code = ("import json, sys, analysis.data\n"
            "fits = sorted(m for m in sys.modules if m.startswith('analysis.fit'))\n"
            "from analysis.report import load_report\n"
            "report = load_report(); report.tables.budgets(); report.text.budgets()\n"
            "print(json.dumps([fits, sorted(m for m in ('scipy', 'altair') if m in sys.modules)]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "report", capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [[], []]
