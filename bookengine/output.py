"""The output folder: a build writes into a scratch folder beside it, which replaces the output
only when the build succeeded, so a failed or interrupted build leaves the previous site as it was.

Beside ``_book`` a build uses, under names that carry its process id:

* ``._book.building-<pid>-<random>/`` holds the new site (``site/``) and the PDF's Typst
  sources (``typst/``); it is removed when the build ends, however it ends;
* ``._book.old-<pid>-<random>`` is the previous site between the two renames of the swap.

The swap holds a lock on the parent folder. A process killed mid-way (SIGKILL, power loss) can
leave either folder behind; the next build or preview restores a previous site left without a
successor and removes leftovers of processes that no longer run.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bookengine.errors import BuildError

BUILDING = "building"
OLD = "old"


@dataclass(frozen=True)
class Scratch:
    """The folders one build writes into: ``site`` becomes the output, ``typst`` holds the PDF's sources."""

    root: Path

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def typst(self) -> Path:
        return self.root / "typst"


def _prefix(out: Path, kind: str) -> str:
    return f".{out.name}.{kind}-"


def _owner(path: Path, out: Path, kind: str) -> int | None:
    """The process id in a scratch or old-site folder name, or None when the name is not one."""
    rest = path.name.removeprefix(_prefix(out, kind))
    if rest == path.name:
        return None
    pid = rest.split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _leftovers(out: Path, kind: str) -> list[Path]:
    """Folders of ``kind`` beside ``out`` whose process no longer runs, oldest first."""
    if not out.parent.is_dir():
        return []
    found = []
    for path in out.parent.iterdir():
        pid = _owner(path, out, kind)
        if pid is not None and not _alive(pid):
            found.append(path)
    return sorted(found, key=lambda path: path.lstat().st_mtime)


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (flock on its descriptor), released even if the process dies."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _recover_locked(out: Path) -> None:
    olds = _leftovers(out, OLD)
    if olds and not out.exists():
        olds.pop().rename(out)  # the newest previous site, left without a successor
    for path in olds + _leftovers(out, BUILDING):
        _remove(path)


def recover(out: Path) -> None:
    """Restore a previous site an interrupted swap left aside and remove dead builds' leftovers."""
    if out.parent.is_dir():
        with _locked(out.parent):
            _recover_locked(out)


def check_output_path(out: Path) -> None:
    """Refuse an output path that exists and is not a folder (the swap would delete it)."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BuildError(f"output path {out} exists and is not a folder")


@contextmanager
def scratch_for(out: Path) -> Iterator[Scratch]:
    """A fresh scratch folder beside ``out`` (recovering leftovers first), removed on exit."""
    check_output_path(out)
    blocking = next((folder for folder in out.parents if folder.exists() and not folder.is_dir()), None)
    if blocking is not None:
        raise BuildError(f"cannot create the output folder {out}: {blocking} is a file")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BuildError(f"cannot create the output folder {out}: {error.strerror or error}") from None
    recover(out)
    root = Path(tempfile.mkdtemp(prefix=f"{_prefix(out, BUILDING)}{os.getpid()}-", dir=out.parent))
    scratch = Scratch(root)
    scratch.site.mkdir()
    scratch.typst.mkdir()
    try:
        yield scratch
    finally:
        _remove(root)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM received inside the block take effect when it ends.

    Python runs signal handlers in the main thread whichever thread the signal reached, so the
    handlers are swapped for one that only notes the signal, and the original handlers are
    called afterwards. Outside the main thread (where handlers cannot be set) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum)) for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            handler = previous[signum]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def publish(site: Path, out: Path) -> None:
    """Make ``site`` the output folder ``out``: two renames under the parent folder's lock, then
    the previous site is deleted, with Ctrl-C and SIGTERM held until it is done. Readers see the
    old site or the new one, never a mixture; only SIGKILL can stop the swap half-way, and
    :func:`recover` repairs that."""
    check_output_path(out)
    old = out.parent / f"{_prefix(out, OLD)}{os.getpid()}-{secrets.token_hex(4)}"
    with _signals_held():
        with _locked(out.parent):
            _recover_locked(out)
            if out.exists():
                out.rename(old)
            site.rename(out)
        _remove(old)
