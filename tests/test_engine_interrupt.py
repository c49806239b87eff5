"""Ctrl-C and SIGTERM against a real `atlas build` of the minibook, at several points of the build,
and SIGKILL: one line, the conventional exit status, the previous site intact, no scratch folder
and no kernel left behind. The points are made deterministic by a pre-render step and a cell
that sleep; the test signals when the build's progress log reaches them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
DEADLINE_SECONDS = 120
SLOW_CELL = "\n```{python}\nimport pathlib, time\npathlib.Path('cell-started').touch()\ntime.sleep(120)\n```\n"


def fresh_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def processes_inside(root: Path) -> list[int]:
    """Processes whose working folder is inside ``root`` (kernels run in the chapters' folders)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).is_relative_to(root):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def build_until(root: Path, marker: str | Path, sig: int, *, delay: float = 0.0) -> tuple[subprocess.CompletedProcess, str]:
    """Run `atlas build` with the plain progress log; send ``sig`` ``delay`` s after a line with
    ``marker`` appears, or (a path) once that file exists."""
    atlas = Path(sys.executable).with_name("atlas")
    process = subprocess.Popen([str(atlas), "build", "--engine", "builtin", "--progress", "plain"], cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()

    def reached() -> bool:
        return marker.exists() if isinstance(marker, Path) else any(marker in line for line in log)

    deadline = time.monotonic() + DEADLINE_SECONDS
    while not reached() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, f"the build ended before {marker!r}:\n{''.join(log)}"
    time.sleep(delay)
    process.send_signal(sig)
    try:
        stdout = process.stdout.read()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        process.stdout.close()
        process.stderr.close()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, "".join(log)), "".join(log)


def slow_pre_render(root: Path) -> None:
    (root / "slow.py").write_text("import time\ntime.sleep(120)\n")
    config = root / "_quarto.yml"
    text = config.read_text()
    assert "pre-render: make_bundle.py" in text
    config.write_text(text.replace("pre-render: make_bundle.py", "pre-render: slow.py"))


def slow_pre_render_with_kernels_started(root: Path) -> None:
    """No cache: every chapter will execute, so their kernels start while the pre-render script runs."""
    slow_pre_render(root)
    shutil.rmtree(root / ".atlas-cache")


def slow_cell(root: Path) -> None:
    source = root / "chapters" / "tables.qmd"
    source.write_text(source.read_text() + SLOW_CELL)


def stale_conversions(root: Path) -> None:
    shutil.rmtree(root / ".atlas-cache" / "pandoc")


CELL_STARTED = Path("chapters/cell-started")
POINTS = {
    # name: (prepare the copy, progress line (or file) to wait for, seconds to wait after it, signal)
    "pre-render/SIGINT": (slow_pre_render, "pre-render", 0.5, signal.SIGINT),
    "pre-render, kernels started/SIGTERM": (slow_pre_render_with_kernels_started, "pre-render", 1.0, signal.SIGTERM),
    "kernel start/SIGTERM": (slow_cell, "executing chapters/tables.qmd", 0.0, signal.SIGTERM),
    "running cell/SIGINT": (slow_cell, CELL_STARTED, 0.0, signal.SIGINT),
    "convert/SIGINT": (stale_conversions, "convert (", 0.3, signal.SIGINT),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_interrupted_build_prints_one_line_and_keeps_the_site(built_minibook: Path, tmp_path: Path, point: str) -> None:
    prepare, marker, delay, sig = POINTS[point]
    root = fresh_copy(built_minibook, tmp_path / "book")
    before = {path.relative_to(root): path.read_bytes() for path in (root / "_book").rglob("*") if path.is_file()}
    prepare(root)
    result, log = build_until(root, root / marker if isinstance(marker, Path) else marker, sig, delay=delay)
    assert result.returncode == 128 + sig, log
    assert log.splitlines()[-1] == "atlas: interrupted", log
    assert "Traceback" not in log and "Error" not in log and "Task was destroyed" not in log, log
    assert result.stdout == ""
    after = {path.relative_to(root): path.read_bytes() for path in (root / "_book").rglob("*") if path.is_file()}
    assert after == before
    assert [path.name for path in root.iterdir() if path.name.startswith("._book")] == []
    assert processes_inside(root) == []


def test_killed_build_leaves_scratch_that_the_next_build_removes(built_minibook: Path, tmp_path: Path) -> None:
    root = fresh_copy(built_minibook, tmp_path / "book")
    slow_cell(root)
    result, log = build_until(root, root / CELL_STARTED, signal.SIGKILL)
    assert result.returncode == -signal.SIGKILL
    left = [path.name for path in root.iterdir() if path.name.startswith("._book.building-")]
    assert len(left) == 1 and (root / left[0] / "site").is_dir() and (root / left[0] / "typst").is_dir()
    for pid in processes_inside(root):  # the killed build's kernel, orphaned: nothing can stop it but us
        os.kill(pid, signal.SIGKILL)
    source = root / "chapters" / "tables.qmd"
    source.write_text(source.read_text().replace(SLOW_CELL, ""))
    done = subprocess.run([str(Path(sys.executable).with_name("atlas")), "build", "--engine", "builtin"], cwd=root,
                          capture_output=True, text=True, timeout=DEADLINE_SECONDS)
    assert done.returncode == 0, done.stderr
    assert [path.name for path in root.iterdir() if path.name.startswith("._book")] == []
