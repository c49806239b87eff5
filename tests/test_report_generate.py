"""``atlas report`` without rendering: the sources it writes and the input it refuses."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pandas as pd
import pytest
import yaml
from datasets import isoflop_family, write_csv

from analysis.bibliography import csl_entries
from analysis.cli import main
from analysis.errors import AtlasError
from analysis.fit.runs import load_runs
from analysis.report.generator import copied_name
from analysis.report.settings import ReportSettings
from analysis.text import count_interval, interval, number, power_of_ten

SYNTHETIC_OPTIONS = ["--n-col", "params", "--c-col", "flops", "--loss-col", "final_loss"]


@pytest.fixture
def synthetic_csv(tmp_path: Path) -> Path:
    return write_csv(isoflop_family(), tmp_path / "my-runs.csv")


def test_no_render_writes_an_editable_project(synthetic_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    status = main(["report", str(synthetic_csv), "--out", str(out), "--no-render", "--title", "Our family", "--seed", "7",
                   *SYNTHETIC_OPTIONS])
    assert status == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(
        ["_quarto.yml", "_bundle.py", "_fits.py", ".atlas-report.json", "report.yml", "my-runs.csv", "references.json",
         "index.qmd", "data.qmd",
         "parametric.qmd", "allocation.qmd", "published.qmd", "references.qmd"]
    )
    assert (out / "my-runs.csv").read_bytes() == synthetic_csv.read_bytes()
    assert not (out / "_book").exists()

    settings = ReportSettings.read(out / "report.yml")
    assert settings == ReportSettings(runs="my-runs.csv", n_col="params", d_col=None, c_col="flops",
                                      loss_col="final_loss", bootstrap=1000, seed=7)
    config = yaml.safe_load((out / "_quarto.yml").read_text())
    assert config["book"]["title"] == "Our family"
    for chapter in config["book"]["chapters"]:
        assert (out / chapter).is_file()

    # No data dump: no value of the table appears in any source; the chapters call the package.
    sources = "\n".join(p.read_text() for p in out.glob("*.qmd"))
    frame = pd.read_csv(synthetic_csv)
    for value in frame["final_loss"].head(20):
        assert f"{value:.4f}"[:6] not in sources
    assert sources.count("report = load_report()") == 5
    bib_keys = [item["id"] for item in json.loads((out / "references.json").read_text())]
    # The keys the chapters cite, and the one a sentence may cite at render time (the interpolation method).
    cited = set(re.findall(r"@([a-z]+\d{4}[a-z]+)\b", sources)) | {"porian2024resolving"}
    assert sorted(bib_keys) == sorted(cited)


def test_sources_pass_the_engine_config_and_lint(synthetic_csv: Path, tmp_path: Path) -> None:
    from bookengine.config import load_config
    from bookengine.lint import lint_project

    out = tmp_path / "report"
    assert main(["report", str(synthetic_csv), "--out", str(out), "--no-render", *SYNTHETIC_OPTIONS]) == 0
    config = load_config(out)
    assert config.chapters[0] == "index.qmd"
    assert lint_project(out) == []


def _error_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err.strip()


def _validation_message(path: Path, **columns: str | None) -> str:
    with pytest.raises(AtlasError) as caught:
        load_runs(path, **columns)
    return f"atlas: error: {caught.value}"


@pytest.mark.parametrize(
    ("mutate", "expected_fragment"),
    [
        (lambda f: f.drop(columns="final_loss"), "no column 'final_loss' (--loss-col)"),
        (lambda f: f.assign(params=f["params"].where(f.index != 3, -5.0)), ":5: column 'params'"),
        (lambda f: f.assign(final_loss=f["final_loss"].astype(object).where(f.index != 0, "n/a")), ":2: column 'final_loss'"),
    ],
)
def test_bad_input_fails_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate, expected_fragment: str
) -> None:
    bad = write_csv(mutate(isoflop_family()), tmp_path / "bad.csv")
    out = tmp_path / "never"
    message = _error_of(["report", str(bad), "--out", str(out), *SYNTHETIC_OPTIONS], capsys)
    assert expected_fragment in message
    assert message == _validation_message(bad, n_col="params", d_col=None, c_col="flops", loss_col="final_loss")
    assert message == _error_of(["fit", "parametric", str(bad), *SYNTHETIC_OPTIONS], capsys)
    assert not out.exists()


def test_default_columns_follow_atlas_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = isoflop_family().rename(columns={"params": "N", "flops": "C", "final_loss": "loss"})
    good = write_csv(frame, tmp_path / "runs.csv")
    assert main(["report", str(good), "--out", str(tmp_path / "ok"), "--no-render"]) == 0
    settings = ReportSettings.read(tmp_path / "ok" / "report.yml")
    assert (settings.n_col, settings.d_col, settings.c_col, settings.loss_col) == ("N", None, "C", "loss")
    capsys.readouterr()
    usual = write_csv(frame.rename(columns={"N": "Params", "C": "compute", "loss": "val_loss"}), tmp_path / "usual.csv")
    assert main(["report", str(usual), "--out", str(tmp_path / "usual"), "--no-render"]) == 0
    settings = ReportSettings.read(tmp_path / "usual" / "report.yml")
    assert (settings.n_col, settings.d_col, settings.c_col, settings.loss_col) == ("Params", None, "compute", "val_loss")
    capsys.readouterr()
    bad = write_csv(frame.rename(columns={"C": "budget", "loss": "score"}), tmp_path / "bad.csv")
    message = _error_of(["report", str(bad), "--out", str(tmp_path / "never")], capsys)
    assert message == _error_of(["fit", "parametric", str(bad)], capsys)
    assert "no column for the final loss (nats/token) (pass --loss-col); no column for the training tokens D or" in message
    assert not (tmp_path / "never").exists()


def test_missing_file_and_bad_options_are_one_line_errors(
    synthetic_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never"
    assert "no such file" in _error_of(["report", str(tmp_path / "absent.csv"), "--out", str(out)], capsys)
    with pytest.raises(SystemExit) as usage_error:  # the option checks `atlas fit` shares, in argparse
        main(["report", str(synthetic_csv), "--out", str(out), "--bootstrap", "-1", *SYNTHETIC_OPTIONS])
    assert usage_error.value.code == 2
    assert "argument --bootstrap: must be >= 0, got -1" in capsys.readouterr().err
    assert "cannot drop the 40 highest-loss runs: only 36 runs" in _error_of(
        ["report", str(synthetic_csv), "--out", str(out), "--exclude-top-loss", "40", *SYNTHETIC_OPTIONS], capsys)
    assert not out.exists()
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "thesis.tex").write_text("keep me")
    assert "not empty" in _error_of(["report", str(synthetic_csv), "--out", str(occupied), *SYNTHETIC_OPTIONS], capsys)
    assert sorted(p.name for p in occupied.iterdir()) == ["thesis.tex"]


def test_an_earlier_report_is_regenerated_in_place(synthetic_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    argv = ["report", str(synthetic_csv), "--out", str(out), "--no-render", *SYNTHETIC_OPTIONS]
    assert main(argv) == 0
    assert main([*argv, "--title", "Second run"]) == 0
    assert yaml.safe_load((out / "_quarto.yml").read_text())["book"]["title"] == "Second run"


def test_settings_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "report.yml"
    path.write_text("runs: r.csv\nbootstrapp: 10\n")
    with pytest.raises(AtlasError, match=r"report.yml: unknown setting 'bootstrapp'"):
        ReportSettings.read(path)
    path.write_text("runs: r.csv\nlevel: 1.5\n")
    with pytest.raises(AtlasError, match="level must be between 0 and 1"):
        ReportSettings.read(path)


def test_copied_name_keeps_safe_names_only() -> None:
    assert copied_name(Path("/x/runs_2024.csv")) == "runs_2024.csv"
    assert copied_name(Path("/x/my runs (final).csv")) == "runs.csv"
    assert copied_name(Path("/x/data.parquet")) == "data.parquet"


def test_cited_entries_are_pandocs_reading_of_the_bibliography(tmp_path: Path) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_text("@comment{@article{ghost, title = {Not an entry}}}\n"
                   "@article{one,\n  author = {Smith, Ann and Jones, Bo and others},\n  title = {A {B} c},\n"
                   "  year = {2020}\n}\n\n@book{two,\n  title={Two}\n}\n")
    items = json.loads(csl_entries(bib, ("two", "one")))
    assert [item["id"] for item in items] == ["two", "one"]
    assert items[1]["title"] == "A B c" and items[1]["author"][0] == {"family": "Smith", "given": "Ann"}
    with pytest.raises(AtlasError, match="no entry for three"):
        csl_entries(bib, ("one", "three"))
    with pytest.raises(AtlasError, match="no entry for ghost"):  # a key inside @comment defines nothing
        csl_entries(bib, ("ghost",))


def test_number_formatting() -> None:
    assert number(0.34781) == "0.348"
    assert number(1.8172) == "1.82"
    assert number(3.1e21) == "3.10\u00a0×\u00a010²¹"
    assert number(9.996e21) == "1.00\u00a0×\u00a010²²"
    assert number(2.5e-5) == "2.50\u00a0×\u00a010⁻⁵"
    assert number(float("nan")) == "–"
    assert power_of_ten(1e23) == "10²³"
    assert power_of_ten(3e23) == "3.00\u00a0×\u00a010²³"
    assert interval((0.3311, 0.3656)) == "0.331 – 0.366"
    assert interval(None) == "–"


def test_interval_ends_share_one_notation() -> None:
    # B on li2025: the low end alone would print plainly, the high end as a power of ten.
    assert interval((85931.0, 2.93e6)) == "8.59\u00a0×\u00a010⁴ – 2.93\u00a0×\u00a010⁶"
    assert interval((1.2e-4, 0.5)) == "1.20\u00a0×\u00a010⁻⁴ – 5.00\u00a0×\u00a010⁻¹"
    assert interval((16.2, 222.0)) == "16.2 – 222"
    assert count_interval((8.73e5, 3.38e6)) == "873k – 3.38M"
    # Beyond the largest suffix (T) both ends switch to powers of ten, even when one rounds up to it.
    assert count_interval((9.0e14, 9.996e14)) == "9.00\u00a0×\u00a010¹⁴ – 1.00\u00a0×\u00a010¹⁵"


def test_a_folder_of_the_users_own_is_never_overwritten(synthetic_csv: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A report.yml alone does not make a folder a report: only atlas report's manifest does, and even then a file
    changed since it was written is kept (and nothing is written)."""
    theirs = tmp_path / "their-book"
    theirs.mkdir()
    own = {"report.yml": "mine: true\n", "index.qmd": "# My thesis\n", "_quarto.yml": "project: {type: book}\n",
           "references.bib": "@book{x, title={X}}\n"}
    for name, text in own.items():
        (theirs / name).write_text(text)
    message = _error_of(["report", str(synthetic_csv), "--out", str(theirs), "--no-render", *SYNTHETIC_OPTIONS], capsys)
    assert "holds no report written by atlas report" in message
    assert {p.name: p.read_text() for p in theirs.iterdir()} == own

    out = tmp_path / "report"
    argv = ["report", str(synthetic_csv), "--out", str(out), "--no-render", *SYNTHETIC_OPTIONS]
    assert main(argv) == 0
    (out / "index.qmd").write_text("# Edited by hand\n")
    (out / "notes.md").write_text("kept\n")  # a file of the user's beside the report's is no obstacle
    message = _error_of([*argv, "--title", "Again"], capsys)
    assert "index.qmd changed since atlas report wrote it" in message and "nothing was written" in message
    assert (out / "index.qmd").read_text() == "# Edited by hand\n"
    assert yaml.safe_load((out / "_quarto.yml").read_text())["book"]["title"] != "Again"


@pytest.mark.parametrize("make", ["file", "parent file"])
def test_an_out_path_through_a_file_is_one_line(synthetic_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                make: str) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    out = afile if make == "file" else afile / "sub"
    message = _error_of(["report", str(synthetic_csv), "--out", str(out), "--no-render", *SYNTHETIC_OPTIONS], capsys)
    assert ("is a file, not a folder" if make == "file" else f"cannot be created: {afile} is a file") in message
    assert afile.read_text() == "x"


def test_report_folders_and_files_follow_the_umask(synthetic_csv: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "made" / "report"
        assert main(["report", str(synthetic_csv), "--out", str(out), "--no-render", *SYNTHETIC_OPTIONS]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755 and stat.S_IMODE(out.parent.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o644}
