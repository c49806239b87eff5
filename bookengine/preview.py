"""``atlas preview``: serve the output folder on localhost and rebuild when a source changes.

The server listens on 127.0.0.1 only and answers only requests addressed to the loopback
interface by name (``Host: 127.0.0.1:port``, ``localhost:port`` or ``[::1]:port``): a web page
whose own host name was made to resolve to 127.0.0.1 (DNS rebinding) is refused. It serves
files inside the output folder only (a symbolic link that leads out of it is not followed) and
lists no folders. Sources are watched with ``watchfiles`` (inotify on Linux).
"""

from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
from pathlib import Path

import watchfiles

from bookengine.build import Progress, build
from bookengine.config import load_config
from bookengine.errors import BuildError
from bookengine.execute import CACHE_DIR

WATCHED_SUFFIXES = {".qmd", ".md", ".yml", ".yaml", ".py", ".csv", ".json", ".bib", ".csl", ".css", ".js",
                    ".j2", ".typ", ".svg"}
SKIPPED_FOLDERS = {"__pycache__", "node_modules"}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def watched_paths(root: Path, ignore: set[Path]) -> list[Path]:
    """The project's top-level entries to watch: hidden ones (``.venv``, ``.git``, the cache),
    skipped folders and those in ``ignore`` (the output) are left out, so they are never walked."""
    return sorted(path for path in root.iterdir()
                  if not path.name.startswith(".") and path.name not in SKIPPED_FOLDERS and path not in ignore)


class SourceFilter:
    """Which changed paths trigger a rebuild: watched suffixes, outside hidden and skipped folders
    and the folders in ``ignore``."""

    def __init__(self, root: Path, ignore: set[Path]) -> None:
        self.root = root
        self.ignore = ignore

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        changed = Path(path)
        try:
            parts = changed.relative_to(self.root).parts
        except ValueError:
            return False
        if any(part.startswith(".") or part in SKIPPED_FOLDERS for part in parts):
            return False
        if any(changed.is_relative_to(folder) for folder in self.ignore):
            return False
        return changed.suffix in WATCHED_SUFFIXES


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the output folder to loopback host names only, files inside it only, no listings."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature from the base class
        pass

    def send_head(self):  # noqa: ANN201 - the base class returns a file object or None
        if not self._addressed_to_loopback():
            self.send_error(403, "Forbidden: request this server as 127.0.0.1 or localhost")
            return None
        if not self._inside_folder(self.translate_path(self.path)):
            self.send_error(404, "File not found")
            return None
        return super().send_head()

    def list_directory(self, path):  # noqa: ANN001, ANN201 - signature from the base class
        self.send_error(404, "File not found")
        return None

    def _addressed_to_loopback(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        port = self.server.server_address[1]
        return any(host in (name, f"{name}:{port}") for name in LOOPBACK_NAMES)

    def _inside_folder(self, path: str) -> bool:
        folder = os.path.realpath(self.directory)
        real = os.path.realpath(path)
        return real == folder or real.startswith(folder + os.sep)


def start_server(folder: Path, port: int) -> http.server.ThreadingHTTPServer:
    """Listen on http://127.0.0.1:port/ for ``folder`` (``port=0``: any free port); requests are
    answered once ``serve_forever`` runs.

    The handler resolves every request against the folder's *path*, so the build's swap of the
    output folder is picked up by the next request."""
    handler = functools.partial(_Handler, directory=str(folder))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise BuildError(f"cannot listen on 127.0.0.1:{port}: {error.strerror} (try --port 0)") from None


def serve(root: Path, *, port: int = 4200, pdf_output: bool = True, progress_mode: str = "auto") -> None:
    """Listen on http://127.0.0.1:port/, build, serve, and rebuild after changes until Ctrl-C or SIGTERM.

    The port is taken before the first build, so a busy port fails at once."""
    root = root.resolve()
    config = load_config(root)
    out = (root / config.output_dir).resolve()
    server = start_server(out, port)
    progress = Progress(progress_mode)  # type: ignore[arg-type]
    serving = False
    try:
        build(root, progress=progress, pdf_output=pdf_output)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        serving = True
        print(f"Serving http://127.0.0.1:{server.server_address[1]}/index.html (Ctrl-C to stop)",
              file=sys.stderr, flush=True)
        ignore = {out, root / CACHE_DIR}
        for _changes in watchfiles.watch(*watched_paths(root, ignore), watch_filter=SourceFilter(root, ignore),
                                         debounce=400, raise_interrupt=True):
            try:
                build(root, progress=progress, pdf_output=pdf_output)
                print("Rebuilt.", file=sys.stderr, flush=True)
            except BuildError as error:
                print(f"atlas: error: {error}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
    finally:
        if serving:
            server.shutdown()
        server.server_close()
