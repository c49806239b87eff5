"""``atlas preview``: serve the output folder on localhost and rebuild when a source changes."""

from __future__ import annotations

import functools
import http.server
import sys
import threading
import time
from pathlib import Path

from bookengine.build import Progress, build
from bookengine.config import load_config
from bookengine.errors import BuildError
from bookengine.execute import CACHE_DIR

WATCHED_SUFFIXES = {".qmd", ".md", ".yml", ".yaml", ".py", ".csv", ".json", ".bib", ".csl", ".css", ".j2", ".typ"}


def snapshot(root: Path, ignore: set[Path]) -> dict[Path, float]:
    """Modification times of every watched file under ``root`` (outputs and caches ignored)."""
    times = {}
    for path in root.rglob("*"):
        if path.suffix not in WATCHED_SUFFIXES or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if any(path.is_relative_to(skip) for skip in ignore):
            continue
        try:
            times[path] = path.stat().st_mtime
        except OSError:
            continue
    return times


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature from the base class
        pass


def serve(root: Path, *, port: int = 4200, pdf_output: bool = True, poll_seconds: float = 1.0) -> None:
    """Build once, serve on http://127.0.0.1:port/ and rebuild after changes (Ctrl-C stops)."""
    root = root.resolve()
    config = load_config(root)
    out = (root / config.output_dir).resolve()
    progress = Progress(enabled=True)
    build(root, progress=progress, pdf_output=pdf_output)
    # Serve the parent so the atomic swap of the output folder never leaves the server on a stale inode.
    handler = functools.partial(_Handler, directory=str(out.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"Serving http://127.0.0.1:{port}/{out.name}/index.html (Ctrl-C to stop)", file=sys.stderr)
    ignore = {out, root / CACHE_DIR}
    seen = snapshot(root, ignore)
    try:
        while True:
            time.sleep(poll_seconds)
            current = snapshot(root, ignore)
            if current != seen:
                seen = current
                try:
                    build(root, progress=progress, pdf_output=pdf_output)
                    print("Rebuilt.", file=sys.stderr)
                except BuildError as error:
                    print(f"atlas: error: {error}", file=sys.stderr)
    finally:
        server.shutdown()
