"""Build timings: clean build (every chapter executed, site + PDF), no-change rebuild, their
ratio and each stage's share. Targets on a 2-core machine: clean < 60 s, rebuild < 5 % of it.

    python benchmarks/build.py [PROJECT]     # default: the book at the repository root,
                                             # or the test minibook when the book is incomplete
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from bookengine.build import build
from bookengine.config import load_config
from bookengine.errors import BuildError

ROOT = Path(__file__).resolve().parents[1]
MINIBOOK = ROOT / "tests" / "fixtures" / "minibook"


def _project(argv: list[str]) -> tuple[Path, Path | None]:
    if argv:
        return Path(argv[0]).resolve(), None
    try:
        load_config(ROOT)
        return ROOT, None
    except BuildError as error:
        print(f"(real book not ready: {error}; timing the minibook)")
        scratch = Path(tempfile.mkdtemp(prefix="atlas-bench-"))
        shutil.copytree(MINIBOOK, scratch / "minibook", ignore=shutil.ignore_patterns("_book", ".atlas-cache"))
        return scratch / "minibook", scratch


def _stages(seconds: dict[str, float]) -> str:
    total = sum(seconds.values()) or 1.0
    return ", ".join(f"{stage} {value:.2f} s ({100 * value / total:.0f}%)" for stage, value in seconds.items())


def main(argv: list[str]) -> int:
    project, scratch = _project(argv)
    output = Path(tempfile.mkdtemp(prefix="atlas-bench-out-")) / "_book"
    try:
        started = time.perf_counter()
        clean = build(project, output_dir=str(output), use_cache=False)
        clean_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = build(project, output_dir=str(output))
        rebuild_seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(output.parent, ignore_errors=True)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"project            {project}")
    print(f"clean build        {clean_seconds:.2f} s  ({len(clean.executed)} chapters executed)  target < 60 s")
    print(f"  stages           {_stages(clean.stage_seconds)}")
    print(f"no-change rebuild  {rebuild_seconds:.2f} s  ({len(again.executed)} chapters executed)")
    print(f"  stages           {_stages(again.stage_seconds)}")
    ratio = rebuild_seconds / clean_seconds
    print(f"ratio              {100 * ratio:.1f} %  target < 5 %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
