"""`atlas data check` on a large table: wall time and peak memory of the command.

A copy of `data/` whose `models.csv` is grown to about 50 MB with valid generated rows (unique
ids, every column filled) is checked by `atlas data check` in a child process; the figures are
that process's wall-clock time and peak resident memory (ru_maxrss). Targets on a 2-core
machine: under 10 s and under 300 MB.

    python benchmarks/data_check.py [MEGABYTES]      # default 50
"""

from __future__ import annotations

import csv
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
TARGET_SECONDS = 10.0
TARGET_MEGABYTES = 300.0


def grow_models(path: Path, megabytes: float) -> int:
    """Append generated rows to ``path`` until it holds ``megabytes``; return the number of rows."""
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    template = next(row for row in rows if row["parameters"] and row["training_tokens"] and row["training_flops"])
    limit = megabytes * 1e6
    added = 0
    with path.open("a", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(template))
        while stream.tell() < limit:
            for _ in range(1000):
                added += 1
                writer.writerow({**template, "model_id": f"generated-{added:08d}", "name": f"Generated {added}",
                                 "parameters": str(1_000_000 + added), "note": "Generated row for the benchmark."})
    return len(rows) + added


def main(argv: list[str]) -> int:
    megabytes = float(argv[0]) if argv else 50.0
    scratch = Path(tempfile.mkdtemp(prefix="atlas-bench-data-"))
    try:
        data = scratch / "data"
        shutil.copytree(DATA, data, ignore=shutil.ignore_patterns("external"))
        shutil.copy(ROOT / "references.bib", scratch / "references.bib")
        rows = grow_models(data / "models.csv", megabytes)
        size = (data / "models.csv").stat().st_size / 1e6
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "analysis", "data", "check", str(data)],
                                capture_output=True, text=True)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"table              models.csv, {size:.1f} MB, {rows:,} rows")
    print(f"exit status        {result.returncode}: {(result.stdout or result.stderr).strip().splitlines()[-1]}")
    print(f"wall time          {seconds:.2f} s  target < {TARGET_SECONDS:g} s")
    print(f"peak memory        {peak:.0f} MB  target < {TARGET_MEGABYTES:g} MB")
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
