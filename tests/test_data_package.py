"""The shipped data package: standard validity (frictionless), provenance, and published facts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from datasets import mirror_dir
from frictionless import validate

from analysis.data import DATA_DIR, check_data_dir, describe_tables, load_table

REPO = DATA_DIR.parent
TABLES = [
    "models", "glue_pretraining", "bert_compression", "llm_benchmarks", "compute_optimal_models", "scaling_laws",
    "hoffmann_projections", "porian2024_isoflop",
]
REQUIRED_CITATIONS = [
    "kaplan2020scaling", "hoffmann2022chinchilla", "besiroglu2024replication", "porian2024resolving",
    "li2025misfitting", "epoch2024chinchilladata", "peters2018elmo", "radford2018gpt1", "devlin2019bert",
    "clark2020electra", "sun2020mobilebert", "iandola2020squeezebert", "xu2020theseus", "wu2022xtc",
    "bai2021binarybert", "zhang2020ternarybert", "jiao2020tinybert", "wang2021minilmv2", "yang2024memory3",
    "touvron2023llama2", "dubey2024llama3", "qwen2024qwen15", "gemma2024", "javaheripi2023phi2", "hu2024minicpm",
    "jiang2023mistral", "yang2023baichuan2", "glm2024chatglm", "du2022glm", "chiang2023vicuna",
    "almazrouei2023falcon", "brown2020gpt3", "rae2021gopher", "smith2022mtnlg", "wang2019glue", "desislavov2023trends",
    "pearce2024reconciling",
]


def test_descriptor_and_data_are_valid_for_frictionless() -> None:
    report = validate(str(DATA_DIR / "datapackage.json"))
    assert report.valid, report.flatten(["taskName", "rowNumber", "fieldName", "message"])


def test_frictionless_and_our_validator_agree_on_a_unit_slip(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data, ignore=shutil.ignore_patterns("external"))
    shutil.copy(REPO / "references.bib", tmp_path / "references.bib")
    models = pd.read_csv(data / "models.csv", dtype=str, keep_default_na=False)
    models.loc[models["model_id"] == "gopher", "training_tokens"] = "300"
    models.to_csv(data / "models.csv", index=False)
    row = int(models.index[models["model_id"] == "gopher"][0]) + 2
    theirs = validate(str(data / "datapackage.json")).flatten(["rowNumber", "fieldName"])
    ours = [(p.row, p.column) for p in check_data_dir(data)]
    assert theirs == [[row, "training_tokens"]]
    assert ours == [(row, "training_tokens")]


def test_bibliography_has_every_cited_work() -> None:
    text = (REPO / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"@\w+\{([^,]+),", text)
    assert len(keys) == len(set(keys)), "duplicate bibliography keys"
    assert not set(REQUIRED_CITATIONS) - set(keys)


def test_describe_tables_reports_provenance() -> None:
    described = {table.name: table for table in describe_tables()}
    assert list(described) == TABLES
    for name, table in described.items():
        frame = load_table(name)
        assert table.path == f"data/{name}.csv"
        assert table.n_rows == len(frame)
        assert table.n_exact + table.n_approximate == len(frame)
        assert table.n_exact == int((frame["value_kind"] == "exact").sum())
        assert set(table.sources) == set(frame["source"])
        assert [c.name for c in table.columns] == list(frame.columns)
        assert table.title and table.description
    parameters = next(c for c in described["models"].columns if c.name == "parameters")
    assert (parameters.type, parameters.unit) == ("integer", "parameters")
    assert ">=\u00a010⁶" in parameters.constraints  # a no-break space: never split at a line end
    assert described["compute_optimal_models"].n_approximate == 0
    assert described["llm_benchmarks"].n_approximate == 0
    assert described["hoffmann_projections"].n_approximate == 0


@pytest.mark.parametrize("name", TABLES)
def test_figure_readings_are_marked_approximate(name: str) -> None:
    frame = load_table(name)
    read_off = frame["source_detail"].str.contains("read off", case=False)
    assert (frame.loc[read_off, "value_kind"] == "approximate").all()


def test_loaded_types() -> None:
    models = load_table("models")
    assert models["parameters"].dtype == "float64"
    assert str(load_table("bert_compression")["layers"].dtype) == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(models["release_date"])
    bert = models.set_index("model_id").loc["bert-base"]
    assert bert["release_date"] == pd.Timestamp("2018-10-01")
    assert bert["parameters"] == 110_000_000
    assert pd.isna(bert["training_tokens"])


def test_compute_optimal_models_match_the_registry() -> None:
    models = load_table("models").set_index("model_id")
    compute = load_table("compute_optimal_models").set_index("model_id")
    for model_id, row in compute.iterrows():
        assert models.at[model_id, "parameters"] == row["parameters"]
        assert models.at[model_id, "training_tokens"] == row["training_tokens"]
    assert compute.at["chinchilla", "training_tokens"] / compute.at["chinchilla", "parameters"] == 20
    gpt3 = models.loc["gpt-3"]
    # GPT-3's published compute is close to the usual 6 N D estimate.
    assert gpt3["training_flops"] == pytest.approx(6 * gpt3["parameters"] * gpt3["training_tokens"], rel=0.01)


def test_non_embedding_never_exceeds_total() -> None:
    models = load_table("models").dropna(subset=["parameters", "non_embedding_parameters"])
    assert len(models) >= 2
    assert (models["non_embedding_parameters"] < models["parameters"]).all()


def test_llm_benchmark_readings_are_close_to_published_non_embedding_counts() -> None:
    models = load_table("models").set_index("model_id")
    readings = load_table("llm_benchmarks").set_index("model_id")
    both = readings.join(models["non_embedding_parameters"]).dropna(subset=["non_embedding_parameters"])
    assert len(both) >= 3
    ratio = both["non_embedding_params_b"] * 1e9 / both["non_embedding_parameters"].astype(float)
    assert ratio.between(0.75, 1.25).all(), ratio


def coefficients(law_id: str) -> dict[str, float]:
    laws = load_table("scaling_laws")
    rows = laws[laws["law_id"] == law_id]
    return dict(zip(rows["coefficient"], rows["value"]))


def test_approach3_exponents_follow_from_alpha_and_beta() -> None:
    law = coefficients("hoffmann2022_approach3")
    assert law["beta"] / (law["alpha"] + law["beta"]) == pytest.approx(law["a"], abs=0.01)
    assert law["alpha"] / (law["alpha"] + law["beta"]) == pytest.approx(law["b"], abs=0.01)
    for law_id in ("kaplan2020", "hoffmann2022_approach1", "hoffmann2022_approach2", "hoffmann2022_approach3"):
        law = coefficients(law_id)
        assert law["a"] + law["b"] == pytest.approx(1.0)


def test_published_constants_match_the_shared_readme() -> None:
    text = (mirror_dir() / "README.md").read_text()
    items = text.split("\n- ")
    for law_id, item_start in (("hoffmann2022_approach3", "Hoffmann"), ("besiroglu2024", "Besiroglu")):
        item = next(item for item in items if item.startswith(item_start))
        published = dict(re.findall(r"\b(E|A|B|alpha|beta) = ([0-9]+(?:\.[0-9]+)?)", item))
        assert len(published) == 5
        assert published and {k: float(v) for k, v in published.items()} == {
            k: v for k, v in coefficients(law_id).items() if k in published
        }


def test_besiroglu_standard_errors() -> None:
    laws = load_table("scaling_laws")
    rows = laws[laws["law_id"] == "besiroglu2024"].set_index("coefficient")
    assert rows["std_error"].to_dict() == {"E": 0.03, "A": 124.58, "B": 1293.23, "alpha": 0.02, "beta": 0.02}
