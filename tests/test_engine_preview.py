"""``atlas preview`` in a subprocess: it serves the built minibook on localhost, rebuilds a page
after its source changes, refuses foreign host names, folder listings and paths out of the
output folder, fails at once on a busy port, and stops on Ctrl-C (SIGINT). Bounded in time."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
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


def status(base: str, path: str, host: str | None = None) -> int:
    """HTTP status of GET ``path`` (sent as is, unnormalised), with ``host`` as the Host header."""
    address = base.removeprefix("http://").rstrip("/")
    connection = http.client.HTTPConnection(address, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=True)
        connection.putheader("Host", host or address)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_preview_serves_and_rebuilds_after_a_change(tmp_path, vega_bundle):
    from test_engine_build import copy_minibook  # noqa: PLC0415 - shared helper

    root = copy_minibook(tmp_path / "minibook", vega_bundle)
    atlas = Path(sys.executable).with_name("atlas")
    process = subprocess.Popen([str(atlas), "preview", "--project", str(root), "--port", "0", "--no-pdf"],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        wait_for(lambda: any("Serving" in line for line in log) or process.poll() is not None, "the server", deadline)
        assert process.poll() is None, "".join(log)
        base = re.search(r"(http://127\.0\.0\.1:\d+/)index\.html", "".join(log)).group(1)
        page = fetch(base + "chapters/tables.html")
        assert "zeppelin" in page and "dirigible" not in page
        assert "site_libs/atlas.css" in page and fetch(base + "site_libs/atlas.css")

        port = base.rsplit(":", 1)[1].rstrip("/")
        assert status(base, "/index.html", host=f"localhost:{port}") == 200
        assert status(base, "/index.html", host=f"attacker.example:{port}") == 403  # DNS rebinding
        assert status(base, "/index.html", host="127.0.0.1:1") == 403
        assert status(base, "/chapters/") == 404  # no folder listing
        assert status(base, "/") == 200  # a folder with an index.html still serves it
        secret = tmp_path / "secret.txt"
        secret.write_text("outside the site")
        os.symlink(secret, root / "_book" / "leak.txt")
        assert status(base, "/leak.txt") == 404  # a link out of the output folder is not followed
        assert status(base, "/../secret.txt") == 404 and status(base, "/%2e%2e/secret.txt") == 404

        source = root / "chapters" / "tables.qmd"
        source.write_text(source.read_text(encoding="utf-8").replace("zeppelin", "dirigible"), encoding="utf-8")
        wait_for(lambda: "dirigible" in fetch(base + "chapters/tables.html"), "the rebuilt page", deadline)
        assert "zeppelin" not in fetch(base + "chapters/tables.html")
        assert "dirigible" in fetch(base + "site_libs/search-index.js")  # the search index follows
        # The new site is in place a moment before the preview reports it.
        wait_for(lambda: any("Rebuilt." in line for line in log), "the rebuild message", deadline)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        process.stderr.close()
    assert process.returncode == 0 or process.returncode == 130, "".join(log)
    assert "Traceback" not in "".join(log)


def test_second_preview_on_a_busy_port_fails_before_building(tmp_path, vega_bundle):
    from test_engine_build import copy_minibook  # noqa: PLC0415 - shared helper

    root = copy_minibook(tmp_path / "minibook", vega_bundle)
    atlas = Path(sys.executable).with_name("atlas")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([str(atlas), "preview", "--project", str(root), "--port", str(port), "--progress", "plain"],
                              capture_output=True, text=True, timeout=DEADLINE_SECONDS)
    assert done.returncode == 1
    assert done.stderr == (f"atlas: error: cannot listen on 127.0.0.1:{port}: "
                           "Address already in use (try --port 0)\n")
    assert not (root / "_book").exists() and not (root / ".atlas-cache").exists()
