"""A non-editable install works without the checkout: the wheel carries data, templates and bibliography.

The package is installed with pip (no dependencies, no build isolation: the test environment's
own packages and setuptools serve) into a temporary folder, from a copy of the sources, and used
from another folder with that folder first on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import isoflop_family, write_csv

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "references.bib",
           "analysis", "bookengine", "data", "templates"]
"""What a source checkout of the package holds (tests, chapters and caches are not needed to build it)."""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package installed from a copy of the sources into a folder of its own."""
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "external", "*.egg-info")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    target = tmp_path_factory.mktemp("site-packages")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-compile", "--target", str(target), str(source)], check=True, capture_output=True, timeout=300)
    shutil.rmtree(source)  # the install must not need its sources afterwards
    return target


def run(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in {"ATLAS_DATA_MIRROR", "PYTHONPATH"}}
    env["PYTHONPATH"] = str(target)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_installed_package_reads_its_own_data(installed: Path, tmp_path: Path) -> None:
    code = ("import analysis, analysis.data as d, analysis.resources as r; print(analysis.__file__); "
            "print(r.resource_root()); print(len(d.load_table('models'))); print(d.check_data_dir())")
    result = run(installed, tmp_path, "-c", code)
    assert result.returncode == 0, result.stderr
    module, root, n_models, problems = result.stdout.splitlines()
    assert module.startswith(str(installed)) and root == str(installed / "analysis" / "_bundled")
    assert int(n_models) > 10 and problems == "[]"


def test_installed_atlas_fits_and_writes_a_report(installed: Path, tmp_path: Path) -> None:
    runs = write_csv(isoflop_family(), tmp_path / "runs.csv")
    columns = ["--n-col", "params", "--c-col", "flops", "--loss-col", "final_loss"]
    fit = run(installed, tmp_path, "-m", "analysis", "fit", "parametric", str(runs), *columns, "--json")
    assert fit.returncode == 0, fit.stderr
    assert json.loads(fit.stdout)["params"]["alpha"] > 0
    report = run(installed, tmp_path, "-m", "analysis", "report", str(runs), "--out", str(tmp_path / "report"),
                 "--no-render", *columns)
    assert report.returncode == 0, report.stderr
    written = {path.name for path in (tmp_path / "report").iterdir()}
    assert {"_quarto.yml", "index.qmd", "parametric.qmd", "references.json", "runs.csv"} <= written
    references = json.loads((tmp_path / "report" / "references.json").read_text(encoding="utf-8"))
    assert {item["id"] for item in references} == {"hoffmann2022chinchilla", "besiroglu2024replication",
                                                   "li2025misfitting", "porian2024resolving"}
    site = run(installed, tmp_path, "-c", "import bookengine.site as s; print(s.TEMPLATE_ROOT)")
    assert site.stdout.strip() == str(installed / "bookengine" / "_bundled" / "templates")
    assert (installed / "bookengine" / "_bundled" / "templates" / "site" / "page.html.j2").is_file()
