"""Benchmark of ``analysis.fit.ParametricLossFit`` on the 245 Epoch runs (5 highest losses dropped).

Times, in one run:

(a) a plain reference implementation of the published procedure: scipy L-BFGS-B with numerical
    gradients on the summed Huber loss (delta 1e-3), from the replication's 4500-start grid
    (alpha, beta in {0, 0.5, 1, 1.5, 2}; e in {-1, -0.5, 0, 0.5, 1}; a, b in {0, 5, ..., 25}).
    A seeded random 5% of the starts is timed and the full grid's time extrapolated;
(b) the library's fit (median of repeated fits);
(c) 4000 bootstrap refits, and the peak memory of the bootstrap at 1000 and 4000 resamples;
(d) Porian et al.'s ten IsoFLOP settings refitted with their procedure (``IsoFLOPFit(method="interpolation")``,
    1000 noise resamples each), with the largest distance from the published exponents.

Objectives are reported on one scale: the mean Huber loss over runs.

    python benchmarks/fit.py [--json] [--fraction 0.05] [--seed 0]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
import tracemalloc

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber

from analysis.data import load_chinchilla_runs
from analysis.fit import ParametricLossFit, TrainingRuns, huber_objective

HUBER_DELTA = 1e-3
EXCLUDE_TOP_LOSS = 5


def load_epoch_runs() -> TrainingRuns:
    """The Epoch runs as the book reads them (the verified cache of ``atlas data fetch``)."""
    frame = load_chinchilla_runs()
    return TrainingRuns.from_frame(frame, d_col="D", c_col="C").exclude_top_loss(EXCLUDE_TOP_LOSS)


def reference_grid() -> np.ndarray:
    """The replication's 4500 starts as rows ``(a, b, e, alpha, beta)``."""
    exponents = np.arange(0.0, 2.01, 0.5)
    e_values = np.arange(-1.0, 1.01, 0.5)
    ab_values = np.arange(0.0, 25.01, 5.0)
    return np.array(
        [(a, b, e, alpha, beta)
         for alpha, beta, e, a, b in itertools.product(exponents, exponents, e_values, ab_values, ab_values)]
    )


def reference_objective(x: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray) -> float:
    """Summed Huber loss of the logsumexp model, as in the published replication."""
    a, b, e, alpha, beta = x
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])
    peak = terms.max(axis=0)
    prediction = peak + np.log(np.exp(terms - peak).sum(axis=0))
    return float(np.sum(huber(HUBER_DELTA, prediction - log_loss)))


def run_reference(runs: TrainingRuns, fraction: float, seed: int) -> dict[str, float]:
    grid = reference_grid()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(grid.shape[0], size=max(1, round(fraction * grid.shape[0])), replace=False)
    args = (np.log(runs.N), np.log(runs.D), np.log(runs.loss))
    best_value, best_x = np.inf, None
    cpu_start = time.process_time()
    start = time.perf_counter()
    for x0 in grid[chosen]:
        found = minimize(reference_objective, x0, args=args, method="L-BFGS-B")
        if found.fun < best_value:
            best_value, best_x = found.fun, found.x
    measured = time.perf_counter() - start
    measured_cpu = time.process_time() - cpu_start
    params = {"A": float(np.exp(best_x[0])), "B": float(np.exp(best_x[1])), "E": float(np.exp(best_x[2])),
              "alpha": float(best_x[3]), "beta": float(best_x[4])}
    return {
        "reference_starts_timed": int(chosen.size),
        "reference_starts_total": int(grid.shape[0]),
        "reference_measured_s": measured,
        "reference_fit_s": measured * grid.shape[0] / chosen.size,
        "reference_fit_cpu_s": measured_cpu * grid.shape[0] / chosen.size,
        "reference_objective": huber_objective(params, runs, HUBER_DELTA),
        "reference_params": params,
    }


def run_library(runs: TrainingRuns, repeats: int = 20) -> dict[str, object]:
    estimator = ParametricLossFit(huber_delta=HUBER_DELTA)
    result = estimator.fit(runs)  # warm-up (imports, caches)
    times, cpu_times = [], []
    for _ in range(repeats):
        cpu_start, start = time.process_time(), time.perf_counter()
        result = estimator.fit(runs)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return {"fit_s": float(np.median(times)), "fit_cpu_s": float(np.median(cpu_times)),
            "fit_objective": result.objective, "fit_params": result.params,
            "fit_converged": result.converged, "fit_starts": result.n_starts, "fit_best_basin": result.n_best_basin}


def run_bootstrap(runs: TrainingRuns) -> dict[str, float]:
    timed = ParametricLossFit(n_bootstrap=4000, seed=0)
    cpu_start, start = time.process_time(), time.perf_counter()
    result = timed.fit(runs)
    elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peaks = {}
    for n_resamples in (1000, 4000):
        tracemalloc.start()
        ParametricLossFit(n_bootstrap=n_resamples, seed=0).fit(runs)
        peaks[n_resamples] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return {"bootstrap_4000_s": elapsed, "bootstrap_4000_cpu_s": elapsed_cpu, "bootstrap_failed": result.n_bootstrap_failed,
            "peak_mib_1000": peaks[1000], "peak_mib_4000": peaks[4000]}


def run_porian_refits() -> dict[str, float]:
    from analysis.chapters import porian

    porian.refit_all(n_bootstrap=10)  # warm-up (imports, table validation)
    cpu_start, start = time.process_time(), time.perf_counter()
    refits = porian.refit_all(n_bootstrap=porian.N_BOOTSTRAP)
    return {"porian_refits_s": time.perf_counter() - start, "porian_refits_cpu_s": time.process_time() - cpu_start,
            "porian_settings": len(refits), "porian_resamples": porian.N_BOOTSTRAP,
            "porian_max_abs_difference": float(refits["difference"].abs().max())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--fraction", type=float, default=0.05, help="share of the reference grid to time")
    parser.add_argument("--seed", type=int, default=0, help="seed for choosing the timed starts")
    args = parser.parse_args(argv)
    runs = load_epoch_runs()
    figures: dict[str, object] = {"n_points": len(runs)}
    figures |= run_reference(runs, args.fraction, args.seed)
    figures |= run_library(runs)
    figures |= run_bootstrap(runs)
    figures |= run_porian_refits()
    figures["fit_speedup"] = figures["reference_fit_s"] / figures["fit_s"]
    figures["fit_speedup_cpu"] = figures["reference_fit_cpu_s"] / figures["fit_cpu_s"]
    figures["load_average_1min"] = os.getloadavg()[0]
    figures["objective_no_worse"] = figures["fit_objective"] <= figures["reference_objective"] * (1 + 1e-9)
    if args.json:
        print(json.dumps(figures))
        return 0
    rows = [
        ("runs fitted", f"{figures['n_points']}"),
        ("reference: starts timed", f"{figures['reference_starts_timed']} of {figures['reference_starts_total']}"),
        ("reference: measured time", f"{figures['reference_measured_s']:.2f} s"),
        ("reference: full grid (extrapolated)",
         f"{figures['reference_fit_s']:.1f} s (CPU {figures['reference_fit_cpu_s']:.1f} s)"),
        ("reference: best objective", f"{figures['reference_objective']:.10e}"),
        ("library fit (median of 20)", f"{figures['fit_s'] * 1e3:.1f} ms (CPU {figures['fit_cpu_s'] * 1e3:.1f} ms)"),
        ("library objective", f"{figures['fit_objective']:.10e}"),
        ("library starts reaching best", f"{figures['fit_best_basin']} of {figures['fit_starts']}"),
        ("speed-up vs full reference grid",
         f"{figures['fit_speedup']:,.0f}x (CPU time: {figures['fit_speedup_cpu']:,.0f}x)"),
        ("objective no worse than reference", "yes" if figures["objective_no_worse"] else "NO"),
        ("4000 bootstrap refits", f"{figures['bootstrap_4000_s']:.2f} s (CPU {figures['bootstrap_4000_cpu_s']:.2f} s, "
                                  f"{figures['bootstrap_failed']} failed)"),
        ("bootstrap peak memory 1000 / 4000", f"{figures['peak_mib_1000']:.1f} / {figures['peak_mib_4000']:.1f} MiB"),
        (f"Porian et al.: {figures['porian_settings']} IsoFLOP refits x {figures['porian_resamples']} resamples",
         f"{figures['porian_refits_s']:.2f} s (CPU {figures['porian_refits_cpu_s']:.2f} s), largest |a - published| "
         f"{figures['porian_max_abs_difference']:.4f}"),
        ("load average during the run (1 min)", f"{figures['load_average_1min']:.2f} on {os.cpu_count()} CPUs"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
