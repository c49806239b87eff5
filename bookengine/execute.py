"""Executing chapters with Jupyter (``nbclient`` + ``ipykernel``), one kernel per chapter
with the chapter's folder as working directory, like Quarto.

Results are cached in ``.atlas-cache/`` (like Quarto's freeze). A cache entry is valid while
the chapter source and the build environment (:func:`bookengine.toolchain.environment_fingerprint`:
Python, every installed package's version, pandoc and Typst) are unchanged, every project file
the kernel read or imported while running (the analysis package, data files) still has the
recorded SHA-256, and every project folder the chapter's code listed still holds the same
names: an audit hook in the kernel records those files and folders, so the key covers what the
chapter depends on, down to a new file in a folder a chapter lists.

The kernels run on an event loop in a worker thread, so that Ctrl-C and SIGTERM reach the main
thread: the chapters are then cancelled, their kernels shut down, and the interruption goes on
to the caller as ``KeyboardInterrupt``.

A kernel takes about half a second to start (a Python process that imports IPython), so
:class:`Kernels` starts them ahead of need: the build starts the first chapters' kernels before
its pre-render scripts run, and while chapters execute the next ones' kernels start. Each kernel
still serves one chapter, in that chapter's folder, as Quarto's do; the chapter's code runs only
once its turn comes (after the pre-render scripts), and a kernel no chapter took is shut down.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from bookengine.errors import BuildError
from bookengine.qmd import Document

CACHE_DIR = ".atlas-cache"
CACHE_VERSION = 3
EXCLUDED_PARTS = {".venv", "venv", ".git", CACHE_DIR, "__pycache__", ".pytest_cache", "node_modules"}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_WAKE_SECONDS = 0.2
T = TypeVar("T")

_SETUP = r'''
def __atlas_setup(root, excluded):
    import importlib, os, sys
    # The kernel may have started before the pre-render scripts ran: forget the folder listings its
    # imports cached, so a module a script wrote is found.
    importlib.invalidate_caches()
    reads, listed = set(), set()
    def hook(event, args):
        if event == "open" and args and isinstance(args[0], str):
            reads.add(os.path.abspath(args[0]))
        elif event in ("os.listdir", "os.scandir") and args and isinstance(args[0], (str, type(None))):
            caller = sys._getframe(1).f_code.co_filename
            if "importlib" not in caller:  # the import system looking for modules and package metadata
                listed.add(os.path.abspath(args[0] or "."))
    sys.addaudithook(hook)
    def inside(name):
        if name != root and not name.startswith(root + os.sep):
            return False
        parts = os.path.relpath(name, root).split(os.sep)
        return not any(part in excluded for part in parts)
    def deps():
        files = set(reads)
        for module in list(sys.modules.values()):
            name = getattr(module, "__file__", None)
            if isinstance(name, str):
                files.add(os.path.abspath(name))
        keep = [os.path.relpath(name, root) for name in sorted(files)
                if inside(name) and os.path.isfile(name) and not name.endswith(".pyc")]
        folders = [os.path.relpath(name, root) for name in sorted(listed) if inside(name) and os.path.isdir(name)]
        return {"files": keep, "folders": folders}
    return deps
__atlas_deps = __atlas_setup(%(root)r, %(excluded)r)
del __atlas_setup

def __atlas_inline(value):
    from IPython.display import publish_display_data
    markdown = getattr(value, "_repr_markdown_", None)
    if callable(markdown):
        text = markdown()
        text = text[0] if isinstance(text, tuple) else text
        publish_display_data({"text/markdown": str(text)})
    else:
        publish_display_data({"text/plain": str(value)})
'''


@dataclass
class ChapterResult:
    """What executing one chapter produced.

    ``cells[i]`` holds the nbformat outputs of the i-th cell of the document (``[]`` when not
    evaluated); ``inline`` maps each inline expression to ``(mime type, text)``; ``deps`` maps
    project-relative files the kernel used to their SHA-256.
    """

    cells: list[list[dict[str, Any]]]
    inline: dict[str, tuple[str, str]] = field(default_factory=dict)
    deps: dict[str, str] = field(default_factory=dict)
    listings: dict[str, str] = field(default_factory=dict)
    from_cache: bool = False


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing_digest(folder: Path) -> str:
    """SHA-256 of the names in ``folder`` (hidden names and engine folders left out: the build's
    own scratch folders and caches come and go)."""
    try:
        names = sorted(name for name in os.listdir(folder) if not name.startswith(".") and name not in EXCLUDED_PARTS)
    except OSError:
        names = ["(unreadable)"]
    return hashlib.sha256("\n".join(names).encode("utf-8", "surrogateescape")).hexdigest()


def build_day() -> str:
    """The build's date as a chapter sees it: ``SOURCE_DATE_EPOCH`` (as reproducible builds define it)
    when set, else today's UTC date (a chapter that prints "Edition of <date>" is re-run each day)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return f"epoch {epoch}"
    return datetime.datetime.now(tz=datetime.UTC).date().isoformat()


def source_key(document: Document, source_text: str, execute_defaults: dict[str, Any], environment: str = "") -> str:
    """Cache key of a chapter's own inputs: its source, the build environment (``environment``,
    see :func:`bookengine.toolchain.environment_fingerprint`), engine cache version and the
    build date a chapter may print (:func:`build_day`), so an edition date is never stale."""
    payload = json.dumps(
        [CACHE_VERSION, sys.version, environment, str(document.path), source_text, execute_defaults,
         build_day()],
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _cache_file(root: Path, rel: str) -> Path:
    return root / CACHE_DIR / (rel.replace("/", "__") + ".json")


def load_cached(root: Path, rel: str, key: str) -> ChapterResult | None:
    """Return the cached result when the key and every recorded dependency still match."""
    path = _cache_file(root, rel)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if entry.get("key") != key:
        return None
    for dep, digest in entry["deps"].items():
        target = root / dep
        if not target.is_file() or file_digest(target) != digest:
            return None
    for folder, digest in entry["listings"].items():
        if listing_digest(root / folder) != digest:
            return None
    return ChapterResult(
        cells=entry["cells"],
        inline={k: (v[0], v[1]) for k, v in entry["inline"].items()},
        deps=entry["deps"],
        listings=entry["listings"],
        from_cache=True,
    )


def store_cached(root: Path, rel: str, key: str, result: ChapterResult) -> None:
    path = _cache_file(root, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"key": key, "deps": result.deps, "listings": result.listings, "cells": result.cells,
             "inline": {k: list(v) for k, v in result.inline.items()}}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entry, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def _effective(cell_options: dict[str, Any], defaults: dict[str, Any], name: str, default: Any) -> Any:
    if name in cell_options:
        return cell_options[name]
    return defaults.get(name, default)


def _error_line(error: CellExecutionError) -> int | None:
    text = ANSI.sub("", str(getattr(error, "traceback", "") or error))
    found = re.findall(r"Cell In\[\d+\], line (\d+)", text)
    return int(found[-1]) if found else None


def _error_summary(error: Exception) -> str:
    ename = getattr(error, "ename", None)
    evalue = getattr(error, "evalue", None)
    if ename:
        return f"{ename}: {ANSI.sub('', str(evalue))}".strip()
    lines = [line for line in ANSI.sub("", str(error)).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _clean_output(output: Any) -> dict[str, Any]:
    data = dict(output)
    data.pop("metadata", None)
    data.pop("execution_count", None)
    if data.get("output_type") == "execute_result":
        data["output_type"] = "display_data"
    return json.loads(json.dumps(data))


def _new_client(root: Path, folder: Path, timeout: int) -> NotebookClient:
    """A notebook client for one chapter executing in ``folder``; its first cell is the setup cell."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(
        _SETUP % {"root": str(root), "excluded": sorted(EXCLUDED_PARTS)}))
    return NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", allow_errors=False,
        resources={"metadata": {"path": str(folder)}}, record_timing=False,
        # Every output is in when the kernel is stopped, and a cancelled chapter's busy kernel
        # would not answer a polite shutdown request: stop kernels at once.
        shutdown_kernel="immediate",
    )


def _kernel_options() -> dict[str, Any]:
    # The kernel's own stderr (transport warnings) is noise; cell errors arrive through the protocol.
    return {"env": {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}, "stderr": subprocess.DEVNULL}


async def _run_chapter(root: Path, rel: str, document: Document, defaults: dict[str, Any],
                       timeout: int, client: NotebookClient | None = None) -> ChapterResult:
    """Execute one chapter in ``client`` (a client whose kernel was started ahead, in the chapter's
    folder), or in a kernel started now."""
    client = client or _new_client(root, (root / rel).parent, timeout)
    notebook = client.nb
    results: list[list[dict[str, Any]]] = []
    inline: dict[str, tuple[str, str]] = {}
    try:
        async with client.async_setup_kernel(**_kernel_options()):
            await client.async_execute_cell(notebook.cells[0], 0)
            for cell in document.cells:
                if not _effective(cell.options, defaults, "eval", True):
                    results.append([])
                    continue
                nb_cell = nbformat.v4.new_code_cell(cell.code)
                notebook.cells.append(nb_cell)
                try:
                    await client.async_execute_cell(nb_cell, len(notebook.cells) - 1)
                except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
                    offset = _error_line(error) if isinstance(error, CellExecutionError) else None
                    line = cell.code_line + offset - 1 if offset else cell.line
                    label = f"cell '{cell.label}'" if cell.label else "unlabelled cell"
                    raise BuildError(f"{rel}:{line}: {label} failed: {_error_summary(error)}") from None
                results.append([_clean_output(o) for o in nb_cell.outputs])
            for expr, line in document.inline_expressions().items():
                nb_cell = nbformat.v4.new_code_cell(f"__atlas_inline({expr})")
                notebook.cells.append(nb_cell)
                try:
                    await client.async_execute_cell(nb_cell, len(notebook.cells) - 1)
                except (CellExecutionError, CellTimeoutError) as error:
                    raise BuildError(f"{rel}:{line}: inline expression `{{python}} {expr}` failed: "
                                     f"{_error_summary(error)}") from None
                data = next((o.get("data", {}) for o in nb_cell.outputs if o.get("output_type") == "display_data"), {})
                if "text/markdown" in data:
                    inline[expr] = ("text/markdown", data["text/markdown"])
                else:
                    inline[expr] = ("text/plain", data.get("text/plain", ""))
            deps_cell = nbformat.v4.new_code_cell("print(__import__('json').dumps(__atlas_deps()))")
            notebook.cells.append(deps_cell)
            await client.async_execute_cell(deps_cell, len(notebook.cells) - 1)
    finally:
        # A chapter cancelled because another one failed leaves nbclient's exit hook registered; the
        # kernel is gone by then, and the hook would print a traceback when the build process ends.
        atexit.unregister(client._cleanup_kernel)
        await _stop_kernel(client)
    text = "".join(o.get("text", "") for o in deps_cell.outputs if o.get("output_type") == "stream")
    used = json.loads(text.strip().splitlines()[-1])
    deps = {dep: file_digest(root / dep) for dep in used["files"]}
    deps[rel] = file_digest(root / rel)
    listings = {folder: listing_digest(root / folder) for folder in used["folders"]}
    return ChapterResult(cells=results, inline=inline, deps=deps, listings=listings)


async def _stop_kernel(client: NotebookClient) -> None:
    """Kill a kernel nbclient did not shut down: cancelled while it was starting, nbclient's
    own cleanup never ran."""
    manager = client.km
    if manager is None or not manager.has_kernel:
        return
    with contextlib.suppress(Exception):  # the process is gone already or cannot be signalled
        await manager.shutdown_kernel(now=True)


def surely_executed(root: Path, jobs: list[tuple[str, Document, str]], *, use_cache: bool = True) -> list[str]:
    """The documents with code that have no cache entry at all (or every one, without the cache):
    they execute whatever the pre-render scripts do, so their kernels may start before those run."""
    return [rel for rel, document, _ in jobs
            if (document.cells or document.inline_expressions()) and not (use_cache and _cache_file(root, rel).is_file())]


class Kernels:
    """The event loop the chapters' kernels run on, and kernels started ahead of the chapters that take them.

    Use it as a context manager around everything that executes: :meth:`start_ahead` returns once the
    kernels' processes are launched (they finish starting by themselves, while the caller goes on),
    :func:`execute_chapters` hands each chapter a kernel started in its folder if there is one, and
    leaving the block shuts down every kernel no chapter took. The loop runs only inside these calls,
    in a worker thread, so the calling thread takes the signals.
    """

    def __init__(self, root: Path, timeout: int = 600) -> None:
        self.root, self.timeout = root, timeout
        self.loop = asyncio.new_event_loop()
        self._ahead: dict[Path, list[NotebookClient]] = {}

    def __enter__(self) -> Kernels:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start_ahead(self, folders: Iterable[Path]) -> None:
        """Launch one kernel in each of ``folders`` (one per chapter that will execute there)."""
        folders = list(folders)
        if folders:
            _run_to_completion(lambda: self._launch_all(folders), self.loop)

    async def _launch_all(self, folders: list[Path]) -> None:
        for folder in folders:
            await self.launch(folder)

    async def launch(self, folder: Path) -> None:
        """Start a kernel in ``folder`` for a chapter that will execute there (on the loop). A kernel
        that cannot start is left out: the chapter then starts its own, and reports why it cannot."""
        client = _new_client(self.root, folder, self.timeout)
        client.km = client.create_kernel_manager()
        try:
            await client.async_start_new_kernel(**_kernel_options())
        except BaseException as error:  # cancelled, or a failure the chapter meets again and reports
            await _stop_kernel(client)
            if not isinstance(error, Exception):
                raise
            return
        self._ahead.setdefault(folder, []).append(client)

    def take(self, folder: Path) -> NotebookClient | None:
        """A kernel started ahead in ``folder``, now the caller's alone; None when there is none."""
        waiting = self._ahead.get(folder)
        return waiting.pop(0) if waiting else None

    def close(self) -> None:
        """Shut down the kernels no chapter took, and the loop."""
        left = [client for clients in self._ahead.values() for client in clients]
        self._ahead.clear()

        async def finish() -> None:
            await asyncio.gather(*(_stop_kernel(client) for client in left), return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        try:
            _run_to_completion(finish, self.loop)
        finally:
            self.loop.close()


def execute_chapters(root: Path, jobs: list[tuple[str, Document, str]], defaults: dict[str, Any], *,
                     use_cache: bool = True, parallel: int = 2, timeout: int = 600, environment: str = "",
                     on_event: Callable[[str, str], None] | None = None,
                     kernels: Kernels | None = None) -> dict[str, ChapterResult]:
    """Execute (or load from cache) every ``(rel path, document, source text)`` job.

    Chapters without code cells or inline expressions are not executed at all. ``environment``
    enters every cache key. Up to ``parallel`` chapters execute at once, and as many kernels for the
    chapters next in line start meanwhile; ``kernels`` may hold some started already (its loop runs
    the chapters), else the call makes its own. Raises :class:`BuildError` naming chapter, cell label
    and source line when a cell fails, and ``KeyboardInterrupt`` after shutting the kernels down when
    the process is interrupted.
    """
    if kernels is None:
        with Kernels(root, timeout) as own:
            return execute_chapters(root, jobs, defaults, use_cache=use_cache, parallel=parallel, timeout=timeout,
                                    environment=environment, on_event=on_event, kernels=own)
    results: dict[str, ChapterResult] = {}
    pending: list[tuple[str, Document, str]] = []
    for rel, document, source_text in jobs:
        if not document.cells and not document.inline_expressions():
            results[rel] = ChapterResult(cells=[], from_cache=True)
            continue
        key = source_key(document, source_text, defaults, environment)
        cached = load_cached(root, rel, key) if use_cache else None
        if cached is not None:
            results[rel] = cached
            if on_event:
                on_event(rel, "cached")
        else:
            pending.append((rel, document, key))

    async def run_all() -> None:
        gate = asyncio.Semaphore(max(1, parallel))
        folders = [(root / rel).parent for rel, _, _ in pending]
        # The chapters in line that have a kernel of their own, started ahead or at their turn.
        provided = [kernels.take(folder) for folder in folders]
        unstarted = [index for index, client in enumerate(provided) if client is None]

        async def start_next(turn: int) -> None:
            """Start kernels for the chapters next in line after ``turn``, up to ``parallel`` waiting at a time."""
            while unstarted and sum(client is not None for client in provided[turn + 1:]) < parallel:
                index = unstarted.pop(0)
                await kernels.launch(folders[index])
                provided[index] = kernels.take(folders[index])

        async def one(index: int, rel: str, document: Document, key: str) -> None:
            async with gate:
                if index in unstarted:  # its turn came before a kernel was started for it: it starts its own
                    unstarted.remove(index)
                if on_event:
                    on_event(rel, "execute")
                await start_next(index)
                # Taken only now: until the chapter owns it, a kernel in `provided` is stopped if the run is cut short.
                client, provided[index] = provided[index], None
                result = await _run_chapter(root, rel, document, defaults, timeout, client)
                store_cached(root, rel, key, result)
                results[rel] = result
                if on_event:
                    on_event(rel, "executed")

        tasks = [asyncio.ensure_future(one(index, *job)) for index, job in enumerate(pending)]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                if not task.cancelling():  # a second cancel would cut its kernel's shutdown short
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            # Kernels started for chapters that never ran (the build failed or was interrupted first).
            await asyncio.gather(*(_stop_kernel(client) for client in provided if client is not None),
                                 return_exceptions=True)

    if pending:
        _run_to_completion(run_all, kernels.loop)
    return results


def wait_interruptibly(future: Future[T]) -> T:
    """``future.result()``, waking up every fraction of a second: a signal may be delivered to any
    thread, and Python runs its handler (Ctrl-C's ``KeyboardInterrupt``) only when the main thread
    executes code, which a thread blocked on a lock would not until the future is done."""
    while True:
        try:
            return future.result(timeout=_WAKE_SECONDS)
        except FutureTimeout:
            continue


def _run_to_completion(factory: Callable[[], Coroutine[Any, Any, None]], loop: asyncio.AbstractEventLoop) -> None:
    """Run ``factory()`` on ``loop`` in a worker thread and wait for it.

    The calling thread only waits, so a signal (Ctrl-C, or SIGTERM turned into an exception by
    the command line) interrupts the wait: then every task of the loop is cancelled (each
    chapter's kernel is shut down on the way out), the worker is waited for, and the
    interruption is raised again. In the worker nbclient installs no signal handlers of its
    own, which would shut kernels down under running cells. This also works when the calling
    thread already runs an event loop (a Jupyter kernel, Playwright's sync API in a test).
    The loop stays open for the next call (:meth:`Kernels.close` closes it).
    """
    main = loop.create_task(factory())

    def work() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main)
        finally:
            # nbclient leaves helper tasks (its kernel-alive poll) behind when a cell is cancelled.
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            asyncio.set_event_loop(None)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="atlas-execute") as pool:
        done = pool.submit(work)
        try:
            wait_interruptibly(done)
        except BaseException as error:
            if done.done():
                raise
            with contextlib.suppress(RuntimeError):  # the loop has just stopped
                loop.call_soon_threadsafe(main.cancel)
            with contextlib.suppress(BaseException):  # the cancellation's own error; the interruption wins
                done.result()
            raise error from None
