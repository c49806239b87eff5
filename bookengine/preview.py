"""``atlas preview``: serve the output folder on localhost and rebuild when a source changes."""

from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
import time
from pathlib import Path

from bookengine.build import Progress, build
from bookengine.config import load_config
from bookengine.errors import BuildError
from bookengine.execute import CACHE_DIR

WATCHED_SUFFIXES = {".qmd", ".md", ".yml", ".yaml", ".py", ".csv", ".json", ".bib", ".csl", ".css", ".js",
                    ".j2", ".typ", ".svg"}
SKIPPED_FOLDERS = {"__pycache__", "node_modules"}


def snapshot(root: Path, ignore: set[Path]) -> dict[Path, float]:
    """Modification times of every watched file under ``root``; hidden folders (``.venv``, ``.git``,
    the cache), ``__pycache__`` and the folders in ``ignore`` (the output) are not even walked."""
    ignored = {str(path) for path in ignore}
    times = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".") and name not in SKIPPED_FOLDERS
                         and os.path.join(folder, name) not in ignored]
        for name in files:
            path = Path(folder, name)
            if path.suffix in WATCHED_SUFFIXES and not name.startswith("."):
                try:
                    times[path] = path.stat().st_mtime_ns
                except OSError:  # removed between listing and stat
                    continue
    return times


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature from the base class
        pass


def start_server(folder: Path, port: int) -> http.server.ThreadingHTTPServer:
    """Serve ``folder`` on http://127.0.0.1:port/ in a daemon thread (``port=0``: any free port).

    The handler resolves every request against the folder's *path*, so the build's atomic swap of
    the output folder is picked up by the next request."""
    handler = functools.partial(_Handler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise BuildError(f"atlas preview: cannot listen on 127.0.0.1:{port}: {error.strerror} (try --port 0)") from None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve(root: Path, *, port: int = 4200, pdf_output: bool = True, poll_seconds: float = 1.0) -> None:
    """Build once, serve on http://127.0.0.1:port/ and rebuild after changes until Ctrl-C."""
    root = root.resolve()
    config = load_config(root)
    out = (root / config.output_dir).resolve()
    progress = Progress()
    build(root, progress=progress, pdf_output=pdf_output)
    server = start_server(out, port)
    print(f"Serving http://127.0.0.1:{server.server_address[1]}/index.html (Ctrl-C to stop)", file=sys.stderr, flush=True)
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
                    print("Rebuilt.", file=sys.stderr, flush=True)
                except BuildError as error:
                    print(f"atlas: error: {error}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
    finally:
        server.shutdown()
        server.server_close()
