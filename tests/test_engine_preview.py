"""``atlas preview`` in a subprocess: it serves the built minibook on localhost, rebuilds a page
after its source changes, and stops on Ctrl-C (SIGINT). Bounded in time."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
DEADLINE_SECONDS = 120


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def wait_for(condition, what: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_preview_serves_and_rebuilds_after_a_change(tmp_path, vega_bundle):
    from test_engine_build import copy_minibook  # noqa: PLC0415 - shared helper

    root = copy_minibook(tmp_path / "minibook", vega_bundle)
    atlas = Path(sys.executable).with_name("atlas")
    process = subprocess.Popen([str(atlas), "preview", "--project", str(root), "--port", "0", "--no-pdf"],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(iter(process.stderr.readline, "")), daemon=True).start()
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        wait_for(lambda: any("Serving" in line for line in log) or process.poll() is not None, "the server", deadline)
        assert process.poll() is None, "".join(log)
        base = re.search(r"(http://127\.0\.0\.1:\d+/)index\.html", "".join(log)).group(1)
        page = fetch(base + "chapters/tables.html")
        assert "zeppelin" in page and "dirigible" not in page
        assert "site_libs/atlas.css" in page and fetch(base + "site_libs/atlas.css")

        source = root / "chapters" / "tables.qmd"
        source.write_text(source.read_text(encoding="utf-8").replace("zeppelin", "dirigible"), encoding="utf-8")
        wait_for(lambda: "dirigible" in fetch(base + "chapters/tables.html"), "the rebuilt page", deadline)
        assert "zeppelin" not in fetch(base + "chapters/tables.html")
        assert "dirigible" in fetch(base + "site_libs/search-index.js")  # the search index follows
        assert any("Rebuilt." in line for line in log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0 or process.returncode == 130, "".join(log)
    assert "Traceback" not in "".join(log)
