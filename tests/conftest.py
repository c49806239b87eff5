"""Session-wide fixtures shared by several test modules.

* ``real_book``: the project's own book built once per session (site + PDF, the built-in engine)
  into a temporary folder; a ``bookengine.build.BuildReport`` (``.output`` is the site folder,
  ``.pdf`` the PDF). Execution reuses the project's ``.atlas-cache``, so a warm cache makes it fast.
* ``vega_bundle``: the offline Vega bundle written once per session (for copies of the minibook).
* ``browser``: one headless Chromium for the whole session (see ``tests/browser.py``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = Path("/work/shared/data")


@pytest.fixture(scope="session")
def real_book(tmp_path_factory: pytest.TempPathFactory):
    from bookengine.build import build
    from bookengine.config import load_config
    from bookengine.errors import BuildError

    try:
        config = load_config(ROOT)
    except BuildError as error:
        pytest.skip(f"the real book is not complete: {error}")
    if len(config.chapters) < 6:
        pytest.skip("the real book has fewer than five chapters")
    if "ATLAS_DATA_MIRROR" not in os.environ and DEFAULT_MIRROR.is_dir():
        os.environ["ATLAS_DATA_MIRROR"] = str(DEFAULT_MIRROR)
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
