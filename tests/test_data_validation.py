"""Validation of data directories: bad-input fixture cases, mutations of the shipped data, the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.data import DATA_DIR, DataValidationError, Problem, check_data_dir, load_table
from analysis.data.commands import run_check

FIXTURES = Path(__file__).parent / "fixtures" / "data"
CASES = sorted(path.name for path in FIXTURES.iterdir() if path.is_dir())
BAD_CASES = [name for name in CASES if name != "valid"]
TABLES = [
    "models", "glue_pretraining", "bert_compression", "llm_benchmarks", "compute_optimal_models", "scaling_laws",
    "hoffmann_projections", "porian2024_isoflop",
]


def relative_lines(problems: list[Problem], base: Path) -> list[str]:
    """Problem lines with the ``base/`` prefix of their file removed."""
    prefix = f"{base}/"
    return [str(problem).removeprefix(prefix) for problem in problems]


def expected_lines(case: Path) -> list[str]:
    return [line for line in (case / "expected.txt").read_text(encoding="utf-8").splitlines() if line]


def test_there_are_at_least_twenty_distinct_bad_cases() -> None:
    assert len(BAD_CASES) >= 20
    expectations = {tuple(expected_lines(FIXTURES / name)) for name in BAD_CASES}
    assert len(expectations) == len(BAD_CASES), "two fixture cases expect identical problems"


@pytest.mark.parametrize("name", CASES)
def test_fixture_case_reports_exact_file_row_and_column(name: str) -> None:
    case = FIXTURES / name
    assert relative_lines(check_data_dir(case), case) == expected_lines(case)


CLI_CASES = ["parameters_in_billions", "unknown_foreign_key", "descriptor_invalid_json", "missing_file",
             # inputs that once ended in a traceback
             "integer_401_digits", "integer_5001_digits", "release_month_year_zero", "descriptor_foreign_keys_null",
             "descriptor_external_resources_null", "table_path_is_folder", "descriptor_deeply_nested",
             "nul_byte_in_required_field", "line_break_in_required_field"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_check_prints_one_line_per_problem_and_exits_1(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    from analysis.cli import main

    case = FIXTURES / name
    assert main(["data", "check", str(case)]) == 1
    captured = capsys.readouterr()
    printed = [line.removeprefix(f"{case}/") for line in captured.out.splitlines()]
    assert printed == expected_lines(case)
    assert "Traceback" not in captured.err
    assert captured.err.startswith("atlas: error: ")


def test_cli_check_passes_on_shipped_data(capsys: pytest.CaptureFixture[str]) -> None:
    from analysis.cli import main

    assert main(["data", "check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: {len(TABLES)} tables")


def test_descriptor_with_a_byte_order_mark_is_read_like_a_csv_with_one(tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(FIXTURES / "valid", case)
    shutil.copy(FIXTURES / "references.bib", tmp_path / "references.bib")
    descriptor = case / "datapackage.json"
    descriptor.write_bytes(b"\xef\xbb\xbf" + descriptor.read_bytes())
    models = case / "models.csv"
    models.write_bytes(b"\xef\xbb\xbf" + models.read_bytes())
    assert check_data_dir(case) == []
    assert list(load_table("models", case)["model_id"]) == ["bert-base", "llama2-7b", "llama2-13b"]


def test_invalid_byte_after_a_byte_order_mark_is_located_in_the_file(tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(FIXTURES / "valid", case)
    shutil.copy(FIXTURES / "references.bib", tmp_path / "references.bib")
    (case / "models.csv").write_bytes(b"\xef\xbb\xbfmodel_id,\xe4\n")
    assert relative_lines(check_data_dir(case), case)[0] == "models.csv:-:-: not valid UTF-8 text (byte 12)"


def test_run_check_handler_on_valid_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    class Args:
        directory = str(FIXTURES / "valid")

    assert run_check(Args()) == 0  # type: ignore[arg-type]
    assert capsys.readouterr().out.startswith("OK: 2 tables, 5 rows (2 approximate)")


def test_shipped_data_is_valid() -> None:
    assert check_data_dir() == []
    assert check_data_dir(DATA_DIR) == []


def test_load_table_raises_with_every_problem(tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(FIXTURES / "not_utf8", case)
    shutil.copy(FIXTURES / "references.bib", tmp_path / "references.bib")
    with pytest.raises(DataValidationError) as caught:
        load_table("scores", case)
    assert relative_lines(list(caught.value.problems), case) == [
        "scores.csv:-:model_id: cannot check references: models.csv could not be read"
    ]
    assert str(caught.value).splitlines()[0] == "1 data problem:"


def test_load_table_unknown_name() -> None:
    with pytest.raises(DataValidationError, match="no table named 'glue'"):
        load_table("glue")


# --- the shipped schema catches realistic mistakes in the shipped tables ---------------------------------


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of data/ (without the external cache) beside a copy of references.bib."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target, ignore=shutil.ignore_patterns("external"))
    shutil.copy(DATA_DIR.parent / "references.bib", tmp_path / "references.bib")
    return target


def edit_cell(path: Path, row: int, column: str, value: str) -> str:
    """Set one cell (spreadsheet row numbering) with pandas, independently of the validator; return the old text."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    old = frame.at[row - 2, column]
    frame.at[row - 2, column] = value
    frame.to_csv(path, index=False)
    return old


def test_shipped_models_in_billions_is_caught(data_copy: Path) -> None:
    models = pd.read_csv(data_copy / "models.csv", dtype=str, keep_default_na=False)
    row = int(models.index[models["model_id"] == "chinchilla"][0]) + 2
    assert edit_cell(data_copy / "models.csv", row, "parameters", "70") == "70000000000"
    problems = check_data_dir(data_copy)
    assert relative_lines(problems, data_copy) == [
        f"models.csv:{row}:parameters: 70 is below the minimum 1e+06 parameters: "
        "looks like billions; expected raw count"
    ]


def test_shipped_billions_column_given_raw_count(data_copy: Path) -> None:
    edit_cell(data_copy / "llm_benchmarks.csv", 3, "non_embedding_params_b", "4000000000")
    assert relative_lines(check_data_dir(data_copy), data_copy) == [
        "llm_benchmarks.csv:3:non_embedding_params_b: 4000000000 is above the maximum 2000 billion parameters: "
        "looks like a raw count; expected billions (billion parameters)"
    ]


def test_shipped_gflops_given_as_raw_flop(data_copy: Path) -> None:
    edit_cell(data_copy / "glue_pretraining.csv", 2, "inference_gflops", "2.9e10")
    assert relative_lines(check_data_dir(data_copy), data_copy) == [
        "glue_pretraining.csv:2:inference_gflops: 2.9e10 is above the maximum 10000 GFLOP per example: "
        "looks like a raw count; expected billions (GFLOP per example)"
    ]


def test_shipped_unknown_source_and_dangling_model(data_copy: Path) -> None:
    edit_cell(data_copy / "scaling_laws.csv", 2, "source", "hoffmann2022")
    edit_cell(data_copy / "compute_optimal_models.csv", 5, "model_id", "palm")
    assert relative_lines(check_data_dir(data_copy), data_copy) == [
        "compute_optimal_models.csv:5:model_id: 'palm' not found in models.csv column model_id",
        "scaling_laws.csv:2:source: unknown source key 'hoffmann2022' (not in references.bib)",
    ]


def test_shipped_negative_coefficient_and_bad_month(data_copy: Path) -> None:
    edit_cell(data_copy / "scaling_laws.csv", 4, "value", "-0.076")
    edit_cell(data_copy / "models.csv", 2, "release_date", "2018-02-15")
    assert relative_lines(check_data_dir(data_copy), data_copy) == [
        "models.csv:2:release_date: expected a year and month as YYYY-MM, got '2018-02-15'",
        "scaling_laws.csv:4:value: must be positive, got -0.076",
    ]


def test_shipped_table_with_only_its_header(data_copy: Path) -> None:
    laws = data_copy / "scaling_laws.csv"
    laws.write_text(laws.read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")
    assert relative_lines(check_data_dir(data_copy), data_copy) == [
        "scaling_laws.csv:-:-: no data rows: the file has only its header"
    ]


def test_shipped_coefficients_a_and_A_are_distinct_keys(data_copy: Path) -> None:
    """Keys are compared regardless of letter case, except values from an enum: the schema allows "a" and "A"."""
    laws = pd.read_csv(data_copy / "scaling_laws.csv", dtype=str, keep_default_na=False)
    per_law = laws.groupby("law_id")["coefficient"].agg(set)
    assert any({"a", "A"} <= coefficients for coefficients in per_law)
    assert check_data_dir(data_copy) == []


def test_shipped_method_repeated_in_other_letter_case(data_copy: Path) -> None:
    compression = pd.read_csv(data_copy / "bert_compression.csv", dtype=str, keep_default_na=False)
    first = compression.iloc[0]
    copy = first.copy()
    copy["method"] = first["method"].upper() if first["method"] != first["method"].upper() else first["method"].lower()
    pd.concat([compression, copy.to_frame().T]).to_csv(data_copy / "bert_compression.csv", index=False)
    row = len(compression) + 2
    assert relative_lines(check_data_dir(data_copy), data_copy) == [
        f"bert_compression.csv:{row}:method+size_mb: duplicate primary key (method={copy['method']}, "
        f"size_mb={first['size_mb']}); first seen on row 2 as (method={first['method']}, size_mb={first['size_mb']}): "
        "keys may not differ only in letter case"
    ]


def test_shipped_missing_table(data_copy: Path) -> None:
    (data_copy / "bert_compression.csv").unlink()
    assert relative_lines(check_data_dir(data_copy), data_copy) == [
        "bert_compression.csv:-:-: file not found (resource 'bert_compression' in datapackage.json)"
    ]
    with pytest.raises(DataValidationError):
        load_table("bert_compression", data_copy)
    assert len(load_table("models", data_copy)) > 0


def test_problem_string_format() -> None:
    assert str(Problem("data/models.csv", 3, "parameters", "bad")) == "data/models.csv:3:parameters: bad"
    assert str(Problem("data/models.csv", None, None, "gone")) == "data/models.csv:-:-: gone"


def test_missing_data_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert [str(p) for p in check_data_dir(missing)] == [f"{missing}:-:-: data directory not found"]


@pytest.mark.parametrize("name", TABLES)
def test_every_table_loads(name: str) -> None:
    frame = load_table(name)
    assert len(frame) > 0
    assert {"source", "source_detail", "value_kind"} <= set(frame.columns)
