"""Benchmark of the fits and reports at scale: wall time, CPU time and peak memory.

Cases (each in a fresh process, so its peak resident memory is its own):

* ``fit-1m``: 1,000,000 runs drawn from Besiroglu et al.'s law with 1% noise, the parametric fit with 1,000
  bootstrap refits (target: under 2 minutes and 1.5 GB on an idle 2-core machine);
* ``fit-200k``: 200,000 runs with 200 refits (the case that once peaked at 9.6 GB);
* ``report-epoch``: ``atlas report`` on the 245 Epoch runs (5 dropped), site and PDF, 1,000 resamples
  (target: under 10 s at rest);
* ``report-100k``: ``atlas report`` on 100,000 runs at ten IsoFLOP budgets, site and PDF, 200 resamples
  (the charts draw a sample of the runs and say so);
* ``fit-single-budget``: 12 runs at one IsoFLOP budget, the parametric fit with 200 bootstrap refits: data that
  barely identify the law, where about half the refits are restarted from every start (once 33 s; target: under
  5 s at rest).

    python benchmarks/scale.py [--cases fit-1m,report-epoch,...] [--json]

The load average is printed with the figures: the machine is shared, and a busy machine stretches wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LAW = {"E": 1.82, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
"""Besiroglu et al. (2024), Table 1: the law the synthetic runs are drawn from."""

CASES = ("fit-1m", "fit-200k", "report-epoch", "report-100k", "fit-single-budget")


def synthetic_runs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, D, loss)``: sizes 1e7..1e10, tokens 10^8.5..10^11.5 (log-uniform), loss from :data:`LAW` with 1% noise."""
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = 10 ** rng.uniform(8.5, 11.5, n)
    loss = (LAW["E"] + LAW["A"] / N ** LAW["alpha"] + LAW["B"] / D ** LAW["beta"]) * np.exp(0.01 * rng.standard_normal(n))
    return N, D, loss


def isoflop_runs(n: int, budgets: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, C, loss)``: ``n`` runs at ``budgets`` IsoFLOP budgets from 1e18 to 1e21 FLOP, sizes within a decade of
    each budget's optimum under :data:`LAW`, loss with 1% noise."""
    rng = np.random.default_rng(seed)
    C = np.repeat(np.geomspace(1e18, 1e21, budgets), n // budgets)
    a = LAW["beta"] / (LAW["alpha"] + LAW["beta"])
    G = (LAW["alpha"] * LAW["A"] / (LAW["beta"] * LAW["B"])) ** (1 / (LAW["alpha"] + LAW["beta"]))
    N = G * (C / 6) ** a * 10 ** rng.uniform(-1, 1, C.size)
    D = C / (6 * N)
    loss = (LAW["E"] + LAW["A"] / N ** LAW["alpha"] + LAW["B"] / D ** LAW["beta"]) * np.exp(0.01 * rng.standard_normal(C.size))
    return N, C, loss


def run_fit(n: int, resamples: int, single_budget: bool = False) -> dict[str, object]:
    from analysis.fit import ParametricLossFit, TrainingRuns

    if single_budget:
        N, C, loss = isoflop_runs(n, budgets=1)
        runs = TrainingRuns.from_arrays(N=N, C=C, loss=loss)
    else:
        N, D, loss = synthetic_runs(n)
        runs = TrainingRuns.from_arrays(N=N, D=D, loss=loss)
    cpu, start = time.process_time(), time.perf_counter()
    result = ParametricLossFit(n_bootstrap=resamples, seed=0).fit(runs)
    return {"runs": n, "resamples": resamples, "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
            "failed": result.n_bootstrap_failed, "restarted": result.n_bootstrap_restarted,
            "a": result.exponents["a"], "a_interval": result.ci["a"], "true_a": LAW["beta"] / (LAW["alpha"] + LAW["beta"])}


def run_report(csv: Path, options: list[str]) -> dict[str, object]:
    from analysis.cli import main

    out = Path(tempfile.mkdtemp(prefix="atlas-report-bench-")) / "report"
    start = time.perf_counter()
    status = main(["report", str(csv), "--out", str(out), *options])
    wall = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    site = out / "_book"
    return {"status": status, "wall_s": wall, "pdf": any(site.glob("*.pdf")), "pages": len(list(site.glob("*.html"))),
            "kernels_peak_mb": children.ru_maxrss / 1024}


def case(name: str) -> dict[str, object]:
    if name == "fit-1m":
        return run_fit(1_000_000, 1000)
    if name == "fit-200k":
        return run_fit(200_000, 200)
    if name == "fit-single-budget":
        return run_fit(12, 200, single_budget=True)
    if name == "report-epoch":
        from analysis.data import load_chinchilla_runs

        csv = Path(tempfile.mkdtemp(prefix="atlas-bench-")) / "epoch.csv"
        load_chinchilla_runs()[["N", "D", "loss"]].to_csv(csv, index=False)
        return run_report(csv, ["--exclude-top-loss", "5", "--bootstrap", "1000"])
    if name == "report-100k":
        import pandas as pd

        N, C, loss = isoflop_runs(100_000)
        csv = Path(tempfile.mkdtemp(prefix="atlas-bench-")) / "runs.csv"
        pd.DataFrame({"N": N, "C": C, "loss": loss}).to_csv(csv, index=False)
        return run_report(csv, ["--bootstrap", "200"])
    raise ValueError(f"unknown case {name!r}")


def measure(name: str) -> dict[str, object]:
    """Run one case in a fresh process: its figures and the process's peak resident memory."""
    load = os.getloadavg()[0]
    done = subprocess.run([sys.executable, __file__, "--inside", name], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"case {name} failed:\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"case": name, "load_average_before": load, "load_average_after": os.getloadavg()[0], **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated cases (default: {','.join(CASES)})")
    parser.add_argument("--json", action="store_true", help="print one JSON object per case")
    parser.add_argument("--inside", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        figures = case(args.inside)
        figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return 0
    for name in args.cases.split(","):
        figures = measure(name)
        if args.json:
            print(json.dumps(figures))
            continue
        details = ", ".join(f"{key} {value:.3g}" if isinstance(value, float) else f"{key} {value}"
                            for key, value in figures.items() if key != "case")
        print(f"{name:<14} {details} (on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
