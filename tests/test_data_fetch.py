"""`atlas data fetch` and load_chinchilla_runs against a loopback HTTP server and mirror folders.

The tests pin a synthetic 245-run file (its sha256 computed here) in a copy of the data
package, so they need neither the network nor the real dataset; one test also checks the
real pinned file when the shared mirror is available.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasets import DEFAULT_MIRROR

from analysis.data import DATA_DIR, external_dataset, fetch_chinchilla_runs, load_chinchilla_runs
from analysis.data import tables as tables_module
from analysis.data.external import MIRROR_ENV, URL_ENV
from analysis.errors import AtlasError

MIRROR_NAME = "chinchilla_fig4_svg_extracted.csv"
SHARED_MIRROR = Path(os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR)


def synthetic_runs() -> tuple[bytes, pd.DataFrame]:
    """A file shaped like Epoch AI's extraction (245 runs) and the frame it must load as."""
    rng = np.random.default_rng(0)
    n = 10 ** rng.uniform(7.5, 10.2, 245)
    d = 10 ** rng.uniform(9, 11.5, 245)
    c = 6 * n * d
    loss = 1.7 + 400 / n**0.34 + 400 / d**0.28
    raw = pd.DataFrame({"x": np.arange(245.0), "y": np.arange(245.0), "color": "#faebdd",
                        "Model Size": n, "Training FLOP": c, "hex_color": "#faebdd", "loss": loss})
    return raw.to_csv(index=False).encode(), pd.DataFrame({"N": n, "D": d, "C": c, "loss": loss})


PAYLOAD, EXPECTED = synthetic_runs()


@pytest.fixture(autouse=True)
def no_ambient_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.delenv(URL_ENV, raising=False)


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    """A copy of the shipped data package whose external dataset is pinned to PAYLOAD."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target, ignore=shutil.ignore_patterns("external"))
    shutil.copy(DATA_DIR.parent / "references.bib", tmp_path / "references.bib")
    descriptor = json.loads((target / "datapackage.json").read_text())
    descriptor["externalResources"][0]["hash"] = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()
    (target / "datapackage.json").write_text(json.dumps(descriptor))
    return target


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = {"/good": PAYLOAD, "/wrong": PAYLOAD.replace(b"#faebdd", b"#000000", 1),
                "/truncated": PAYLOAD}.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/truncated":
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/good"


def cached(data_dir: Path) -> Path:
    return data_dir / "external" / MIRROR_NAME


def leftovers(data_dir: Path) -> list[str]:
    folder = data_dir / "external"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_verifies_and_caches(data_dir: Path, server: str) -> None:
    result = fetch_chinchilla_runs(data_dir, url=f"{server}/good")
    assert result.origin == "download"
    assert cached(data_dir).read_bytes() == PAYLOAD
    assert leftovers(data_dir) == [MIRROR_NAME]
    again = fetch_chinchilla_runs(data_dir, url=closed_port_url())
    assert again.origin == "cache"


def test_url_from_environment(data_dir: Path, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_ENV, f"{server}/good")
    assert fetch_chinchilla_runs(data_dir).origin == "download"


def test_download_checksum_mismatch_leaves_nothing(data_dir: Path, server: str) -> None:
    with pytest.raises(AtlasError, match="does not match the pinned") as caught:
        fetch_chinchilla_runs(data_dir, url=f"{server}/wrong")
    assert "run `atlas data fetch` again" in str(caught.value)
    assert leftovers(data_dir) == []


def test_truncated_download_leaves_nothing(data_dir: Path, server: str) -> None:
    with pytest.raises(AtlasError, match=r"interrupted after \d+ of \d+ bytes"):
        fetch_chinchilla_runs(data_dir, url=f"{server}/truncated")
    assert leftovers(data_dir) == []


def test_server_down(data_dir: Path) -> None:
    with pytest.raises(AtlasError, match="cannot reach .*--mirror DIR"):
        fetch_chinchilla_runs(data_dir, url=closed_port_url())
    assert leftovers(data_dir) == []


def test_http_error_status(data_dir: Path, server: str) -> None:
    with pytest.raises(AtlasError, match="HTTP 404"):
        fetch_chinchilla_runs(data_dir, url=f"{server}/nothing-here")
    assert leftovers(data_dir) == []


def test_failed_refetch_keeps_the_good_cache(data_dir: Path, server: str) -> None:
    fetch_chinchilla_runs(data_dir, url=f"{server}/good")
    with pytest.raises(AtlasError):
        fetch_chinchilla_runs(data_dir, url=f"{server}/truncated", force=True)
    assert cached(data_dir).read_bytes() == PAYLOAD
    assert leftovers(data_dir) == [MIRROR_NAME]


def test_corrupt_cache_is_replaced(data_dir: Path, server: str) -> None:
    cached(data_dir).parent.mkdir()
    cached(data_dir).write_bytes(b"x,y\n1,2\n")
    assert fetch_chinchilla_runs(data_dir, url=f"{server}/good").origin == "download"
    assert cached(data_dir).read_bytes() == PAYLOAD


def test_mirror_good(data_dir: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / MIRROR_NAME).write_bytes(PAYLOAD)
    result = fetch_chinchilla_runs(data_dir, mirror=mirror, url=closed_port_url())
    assert (result.origin, result.source) == ("mirror", str(mirror / MIRROR_NAME))
    assert cached(data_dir).read_bytes() == PAYLOAD


def test_mirror_bad_checksum(data_dir: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / MIRROR_NAME).write_bytes(PAYLOAD[:-10])
    with pytest.raises(AtlasError, match=f"{MIRROR_NAME}: sha256 [0-9a-f]{{64}} does not match"):
        fetch_chinchilla_runs(data_dir, mirror=mirror)
    assert leftovers(data_dir) == []


def test_mirror_missing_file(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    with pytest.raises(AtlasError, match=f"has no {MIRROR_NAME}"):
        fetch_chinchilla_runs(data_dir)
    with pytest.raises(AtlasError, match="does not exist"):
        fetch_chinchilla_runs(data_dir, mirror=tmp_path / "no-such-folder")
    assert leftovers(data_dir) == []


def test_load_without_cache_or_mirror_says_what_to_do(data_dir: Path) -> None:
    with pytest.raises(AtlasError, match="run `atlas data fetch`"):
        load_chinchilla_runs(data_dir)


def test_load_fetches_from_mirror_env_and_derives_tokens(data_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / MIRROR_NAME).write_bytes(PAYLOAD)
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    runs = load_chinchilla_runs(data_dir)
    assert list(runs.columns) == ["N", "D", "C", "loss"]
    assert len(runs) == 245
    pd.testing.assert_frame_equal(runs, EXPECTED, rtol=1e-12)


def test_load_rejects_tampered_cache(data_dir: Path, server: str) -> None:
    fetch_chinchilla_runs(data_dir, url=f"{server}/good")
    cached(data_dir).write_bytes(PAYLOAD + b"\n")
    with pytest.raises(AtlasError, match="--force"):
        load_chinchilla_runs(data_dir)


def test_cli_fetch_from_mirror_then_cache(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from analysis.cli import main

    monkeypatch.setattr(tables_module, "DATA_DIR", data_dir)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    assert main(["data", "fetch", "--mirror", str(mirror)]) == 1
    assert f"has no {MIRROR_NAME}" in capsys.readouterr().err
    (mirror / MIRROR_NAME).write_bytes(PAYLOAD)
    assert main(["data", "fetch", "--mirror", str(mirror)]) == 0
    assert "copied from" in capsys.readouterr().out
    assert main(["data", "fetch"]) == 0
    assert "already cached" in capsys.readouterr().out


def test_cli_fetch_offline_fails_cleanly(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from analysis.cli import main

    monkeypatch.setattr(tables_module, "DATA_DIR", data_dir)
    monkeypatch.setenv(URL_ENV, closed_port_url())
    assert main(["data", "fetch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("atlas: error: cannot reach") and "Traceback" not in err
    assert leftovers(data_dir) == []


def test_pinned_source_matches_the_shared_readme() -> None:
    dataset = external_dataset()
    assert dataset.url == ("https://raw.githubusercontent.com/epoch-research/analyzing-chinchilla/"
                           "92258837425e1b5f2851d624287f0120583a3d0e/data/svg_extracted_data.csv")
    assert dataset.sha256 == "193478df4e90f040016431996c45682659306840ecdadf83cfb9cd5ca0aa1b30"
    assert dataset.path == f"external/{MIRROR_NAME}"


@pytest.mark.skipif(not (SHARED_MIRROR / MIRROR_NAME).is_file(), reason="shared mirror not available")
def test_real_dataset_from_shared_mirror(tmp_path: Path) -> None:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target, ignore=shutil.ignore_patterns("external"))
    fetch_chinchilla_runs(target, mirror=SHARED_MIRROR)
    runs = load_chinchilla_runs(target)
    raw = pd.read_csv(SHARED_MIRROR / MIRROR_NAME)
    assert len(runs) == 245
    np.testing.assert_allclose(runs["N"], raw["Model Size"])
    np.testing.assert_allclose(runs["C"], raw["Training FLOP"])
    np.testing.assert_allclose(runs["D"] * 6 * runs["N"], raw["Training FLOP"], rtol=1e-12)
    assert runs["loss"].between(1.5, 6).all()
