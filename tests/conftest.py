"""Session-wide fixtures shared by several test modules.

* ``real_book``: the project's own book built once per session (site + PDF, the built-in engine)
  into a temporary folder; a ``bookengine.build.BuildReport`` (``.output`` is the site folder,
  ``.pdf`` the PDF). Execution reuses the project's ``.atlas-cache``, so a warm cache makes it fast.
* ``vega_bundle``: the offline Vega bundle written once per session (for copies of the minibook).
* ``built_minibook``: the minibook built once per session (site, PDF, warm caches); tests copy it
  (``shutil.copytree``) and never change it.
* ``browser``: one headless Chromium for the whole session (see ``tests/browser.py``).

And the rule for what a test needs from outside the repository (the fetched dataset, the data
mirror's held-out tables, Chromium): :func:`unavailable` skips the test on a developer's machine
but fails it under ``CI=true``, where everything is meant to be there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def unavailable(reason: str) -> None:
    """A test's prerequisite (dataset, browser) is missing: skip it locally, fail it under ``CI=true``."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_book(tmp_path_factory: pytest.TempPathFactory):
    from datasets import require_epoch_runs

    from bookengine.build import build

    require_epoch_runs()
    output = tmp_path_factory.mktemp("real-book") / "_book"
    yield build(ROOT, output_dir=str(output))
    shutil.rmtree(output, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    from browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def vega_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Vega bundle, made once per session (the minibook's pre-render skips it when present)."""
    import vl_convert

    path = tmp_path_factory.mktemp("vega") / "vega-bundle.js"
    path.write_text(vl_convert.javascript_bundle(), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def built_minibook(tmp_path_factory: pytest.TempPathFactory, vega_bundle: Path) -> Path:
    from test_engine_build import copy_minibook

    from bookengine.build import build

    root = copy_minibook(tmp_path_factory.mktemp("built-minibook") / "minibook", vega_bundle)
    build(root)
    return root
