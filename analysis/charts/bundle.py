"""Write the offline Vega bundle the site's charts load: ``assets/vega/vega-bundle.js``.

Run as ``python analysis/charts/bundle.py [PROJECT_DIR]`` or ``python -m analysis.charts.bundle``.
``_quarto.yml`` names the file as its ``pre-render`` script: Quarto runs a script ending in ``.py``
with the Python it uses for Jupyter (``QUARTO_PYTHON``), and any other command from ``PATH``. As a
plain script the module imports nothing from the ``analysis`` package. The bundle holds Vega,
Vega-Lite and Vega-Embed from ``vl-convert-python``, so a page never fetches a script from another
host.

vl-convert emits an ES-module-style bundle whose top-level ``const``/``function`` declarations
would leak into (and, on a second load, collide in) the page's global scope. Module scripts
cannot be loaded from ``file://`` pages in Chromium (CORS), so the bundle is wrapped in a
strict-mode function instead: it runs as a classic script from ``file://`` and ``http://``
alike, and only ``window.vegaEmbed``, ``window.vega`` and ``window.vegaLite`` become global.

The output depends only on the installed vl-convert version, so repeated runs give identical
bytes; the file is rewritten only when its content would change. Building it takes vl-convert over
a second, so a copy is kept in the user's cache folder (``$XDG_CACHE_HOME/scaling-atlas/``, by
default ``~/.cache/scaling-atlas/``), named after the vl-convert version and this module's wrapper:
every report that ``atlas report`` generates needs its own bundle, and the second one copies it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import vl_convert

BUNDLE_RELATIVE_PATH = Path("assets") / "vega" / "vega-bundle.js"


_PREFIX = '(function () {\n"use strict";\n'
_FOOTER = "})();\n"


def bundle_header() -> str:
    """Return the bundle's first line, which names every library version it contains."""
    return (
        f"/* Scaling Atlas offline chart bundle: vl-convert-python {version('vl-convert-python')}; "
        f"vega {vl_convert.get_vega_version()}, vega-lite {vl_convert.get_vegalite_versions()[-1]}, "
        f"vega-embed {vl_convert.get_vega_embed_version()} */\n"
    )


def bundle_source() -> str:
    """Return the JavaScript text of the bundle (deterministic for a given vl-convert version)."""
    return f"{bundle_header()}{_PREFIX}{vl_convert.javascript_bundle()}\n{_FOOTER}"


def is_up_to_date(target: Path) -> bool:
    """Whether ``target`` is a complete bundle from the installed vl-convert (checked without rebuilding)."""
    if not target.is_file():
        return False
    header = bundle_header().encode("utf-8")
    with target.open("rb") as handle:
        starts_right = handle.read(len(header)) == header
        handle.seek(max(target.stat().st_size - len(_FOOTER), 0))
        ends_right = handle.read() == _FOOTER.encode("utf-8")
    return starts_right and ends_right


def cached_bundle_path() -> Path | None:
    """Where the user's cache keeps the bundle of the installed vl-convert and this module's wrapper;
    None without a cache folder (no home folder; the XDG rules ignore a relative ``XDG_CACHE_HOME``)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    wrapper = hashlib.sha256(f"{bundle_header()}{_PREFIX}{_FOOTER}".encode()).hexdigest()[:16]
    return Path(base) / "scaling-atlas" / f"vega-bundle-{version('vl-convert-python')}-{wrapper}.js"


def _write_atomically(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    temporary.replace(target)


def _bundle_bytes() -> bytes:
    """The bundle's bytes: from the user's cache when a complete copy is there, else built (and cached)."""
    cached = cached_bundle_path()
    if cached is not None and is_up_to_date(cached):
        return cached.read_bytes()
    content = bundle_source().encode("utf-8")
    if cached is not None:
        with contextlib.suppress(OSError):  # a cache that cannot be written only means the next bundle is built again
            _write_atomically(cached, content)
    return content


def write_bundle(project_dir: Path) -> tuple[Path, bool]:
    """Write the bundle under ``project_dir``; return its path and whether the file changed.

    Building the bundle takes over a second, so an existing file written by the same
    vl-convert version (same first line, complete last line) is left alone, and a missing one
    is copied from the user's cache (:func:`cached_bundle_path`) when it holds one.
    """
    target = Path(project_dir) / BUNDLE_RELATIVE_PATH
    if is_up_to_date(target):
        return target, False
    _write_atomically(target, _bundle_bytes())
    return target, True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write assets/vega/vega-bundle.js (Vega, Vega-Lite, Vega-Embed) for offline charts.",
    )
    parser.add_argument("project_dir", nargs="?", default=".", type=Path, help="book project folder (default: .)")
    args = parser.parse_args(argv)
    target, changed = write_bundle(args.project_dir)
    print(f"{'wrote' if changed else 'up to date'}: {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
