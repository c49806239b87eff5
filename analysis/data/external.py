"""The external dataset: 245 Chinchilla training runs, fetched and checksum-verified, never committed.

The pinned address and sha256 live in one place, ``externalResources`` of
``data/datapackage.json``. The file is cached at ``data/external/`` (ignored by git), either
downloaded from its public source or copied from a local mirror folder
(``--mirror DIR`` or the environment variable ``ATLAS_DATA_MIRROR``).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import pandas as pd

from analysis.data.descriptor import ExternalSpec, load_package
from analysis.data.problems import DataValidationError
from analysis.data.tables import resolve_data_dir
from analysis.errors import AtlasError
from analysis.training_compute import tokens_at_budget

MIRROR_ENV = "ATLAS_DATA_MIRROR"
URL_ENV = "ATLAS_CHINCHILLA_URL"
CHINCHILLA = "chinchilla_runs"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchResult:
    """Where the verified file is and how it got there (``cache``, ``mirror`` or ``download``)."""

    path: Path
    origin: Literal["cache", "mirror", "download"]
    source: str


def external_dataset(name: str = CHINCHILLA, data_dir: str | Path | None = None) -> ExternalSpec:
    """The pinned description (url, sha256, cache path, mirror file name) of an external dataset."""
    package, problems = load_package(resolve_data_dir(data_dir))
    if package is None:
        raise DataValidationError(problems)
    if name not in package.externals:
        raise AtlasError(f"{package.descriptor_path}: no external dataset named '{name}'")
    return package.externals[name]


def sha256_of(path: Path) -> str:
    """Hex sha256 digest of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_chinchilla_runs(
    data_dir: str | Path | None = None,
    *,
    mirror: str | Path | None = None,
    url: str | None = None,
    force: bool = False,
    timeout: float = 30.0,
) -> FetchResult:
    """Make sure the verified Chinchilla runs file is cached in ``data_dir/external/``.

    Source, in order: ``mirror`` (a folder holding ``chinchilla_fig4_svg_extracted.csv``),
    else ``$ATLAS_DATA_MIRROR``, else ``url``, else ``$ATLAS_CHINCHILLA_URL``, else the pinned
    address. Does nothing when the cached file already has the pinned sha256 (unless
    ``force``). The file is written to a temporary name and renamed only once its sha256
    matches, so a failure never leaves a partial file. Raises :class:`AtlasError` with
    what to do on any failure.
    """
    root = resolve_data_dir(data_dir)
    dataset = external_dataset(CHINCHILLA, root)
    target = root / dataset.path
    if not force and target.is_file() and sha256_of(target) == dataset.sha256:
        return FetchResult(target, "cache", str(target))
    mirror = mirror if mirror is not None else (os.environ.get(MIRROR_ENV) or None)
    if mirror is not None:
        source = _mirror_file(Path(mirror), dataset)
        _write_verified(target, dataset, lambda sink: _copy_file(source, sink), str(source))
        return FetchResult(target, "mirror", str(source))
    address = url or os.environ.get(URL_ENV) or dataset.url
    _write_verified(target, dataset, lambda sink: _download(address, sink, timeout), address)
    return FetchResult(target, "download", address)


def _mirror_file(mirror: Path, dataset: ExternalSpec) -> Path:
    if not mirror.is_dir():
        raise AtlasError(f"mirror folder {mirror} does not exist; pass an existing folder with --mirror "
                         f"or ${MIRROR_ENV}, or unset it to download from {dataset.url}")
    source = mirror / dataset.mirror_name
    if not source.is_file():
        raise AtlasError(f"mirror folder {mirror} has no {dataset.mirror_name}; copy the pinned file there "
                         f"(sha256 {dataset.sha256}) or unset ${MIRROR_ENV} to download it")
    return source


def _copy_file(source: Path, sink: BinaryIO) -> None:
    with source.open("rb") as stream:
        shutil.copyfileobj(stream, sink, _CHUNK)


def _download(address: str, sink: BinaryIO, timeout: float) -> None:
    advice = (f"check the network connection, or use a local copy with --mirror DIR "
              f"(or ${MIRROR_ENV}=DIR), then run `atlas data fetch` again")
    try:
        with urllib.request.urlopen(address, timeout=timeout) as response:
            expected = response.headers.get("Content-Length")
            received = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                sink.write(chunk)
                received += len(chunk)
    except urllib.error.HTTPError as error:
        raise AtlasError(f"download of {address} failed: the server answered HTTP {error.code} {error.reason}; "
                         f"{advice}") from None
    except urllib.error.URLError as error:
        raise AtlasError(f"cannot reach {address} ({error.reason}); {advice}") from None
    except (http.client.HTTPException, OSError) as error:
        raise AtlasError(f"download of {address} was interrupted ({error or type(error).__name__}); "
                         f"{advice}") from None
    if expected is not None and expected.isdigit() and received != int(expected):
        raise AtlasError(f"download of {address} was interrupted after {received} of {expected} bytes; {advice}")


def _write_verified(target: Path, dataset: ExternalSpec, produce: Callable[[BinaryIO], None], origin: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    temporary_path = Path(temporary)
    try:
        with os.fdopen(handle, "wb") as sink:
            produce(sink)
        actual = sha256_of(temporary_path)
        if actual != dataset.sha256:
            raise AtlasError(f"{origin}: sha256 {actual} does not match the pinned {dataset.sha256}; "
                             f"the file is not the pinned version; nothing was written. Replace the source "
                             f"(or fetch from {dataset.url}) and run `atlas data fetch` again")
        temporary_path.chmod(0o644)
        os.replace(temporary_path, target)
    finally:
        temporary_path.unlink(missing_ok=True)


def load_chinchilla_runs(data_dir: str | Path | None = None) -> pd.DataFrame:
    """The 245 Chinchilla training runs (Hoffmann et al. 2022, Figure 4; extracted by Epoch AI).

    Returns a DataFrame with one row per run and float64 columns:

    * ``N``: model size in parameters;
    * ``D``: training tokens, derived as ``C / (6 N)``;
    * ``C``: training compute in FLOP;
    * ``loss``: final training loss in nats/token.

    Reads the verified cache in ``data/external/``. When it is absent and
    ``$ATLAS_DATA_MIRROR`` is set, copies it from the mirror first; otherwise raises
    :class:`AtlasError` asking to run ``atlas data fetch``.
    """
    root = resolve_data_dir(data_dir)
    dataset = external_dataset(CHINCHILLA, root)
    path = root / dataset.path
    if not path.is_file():
        if not os.environ.get(MIRROR_ENV):
            raise AtlasError(f"{path} not found: run `atlas data fetch` (or set ${MIRROR_ENV}=DIR "
                             f"to a folder holding {dataset.mirror_name})")
        fetch_chinchilla_runs(root)
    if sha256_of(path) != dataset.sha256:
        raise AtlasError(f"{path} does not match the pinned sha256; run `atlas data fetch --force`")
    raw = pd.read_csv(path)
    missing = [column for column in ("Model Size", "Training FLOP", "loss") if column not in raw.columns]
    if missing:
        raise AtlasError(f"{path}: missing columns {', '.join(missing)}")
    n = raw["Model Size"].astype("float64")
    c = raw["Training FLOP"].astype("float64")
    return pd.DataFrame({"N": n, "D": tokens_at_budget(c, n), "C": c, "loss": raw["loss"].astype("float64")})
