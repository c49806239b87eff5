"""``atlas fit parametric|isoflop|envelope FILE``: fit scaling laws to a table of training runs."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any, TextIO

from analysis.errors import AtlasError
from analysis.fit.envelope import EnvelopeFit
from analysis.fit.isoflop import ISOFLOP_METHODS, IsoFLOPFit
from analysis.fit.parametric import ParametricLossFit
from analysis.fit.runs import TrainingRuns, read_runs_table

_PROGRESS_MIN_RESAMPLES = 500


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``atlas fit ...`` to the ``atlas`` parser."""
    fit = subparsers.add_parser(
        "fit",
        help="fit scaling laws to training runs (Chinchilla approaches 1-3)",
        description="Fit scaling laws to a CSV or Parquet table with one row per training run.",
    )
    kinds = fit.add_subparsers(dest="fit_kind", metavar="KIND", required=True)
    for name, help_text in (
        ("parametric", "L(N, D) = E + A/N^alpha + B/D^beta by Huber loss (Approach 3)"),
        ("isoflop", "IsoFLOP profiles and N_opt ∝ C^a (Approach 2)"),
        ("envelope", "lowest final loss per FLOP budget and N_opt ∝ C^a (Approach 1 analogue)"),
    ):
        sub = kinds.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("file", metavar="FILE", help="CSV or Parquet table, one row per run")
        add_run_options(sub, default_bootstrap=0)
        sub.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
        if name != "parametric":
            sub.add_argument("--budgets", type=_budget_list, default=None, metavar="C1,C2,...",
                             help="FLOP budgets to group runs by (default: detect clusters)")
        if name == "isoflop":
            sub.add_argument(
                "--method", choices=ISOFLOP_METHODS, default="parabola",
                help="how each budget's optimum is read off its loss profile: 'parabola' (default; Hoffmann et al. "
                     "2022) takes the vertex of one parabola in log N through all of the budget's runs; "
                     "'interpolation' (Porian et al. 2024) takes the lowest point of a spline through the runs, so "
                     "only the runs next to the minimum decide it, and with --bootstrap uses the median of the "
                     "resampled minima and weights budgets by how little their minimum moves")
            sub.add_argument(
                "--loss-noise", type=_positive_float, default=None, metavar="SD",
                help="bootstrap by adding Gaussian noise with this standard deviation (nats/token, e.g. the "
                     "seed-to-seed spread of the final loss) to every run's loss instead of resampling runs; "
                     "required by --method interpolation with --bootstrap")
        sub.set_defaults(handler=_run, fit_kind=name)


def add_run_options(parser: argparse.ArgumentParser, default_bootstrap: int) -> None:
    """The options every command that reads a table of training runs shares (``atlas fit``, ``atlas report``):
    column names, runs to drop, bootstrap size and seed."""
    parser.add_argument("--n-col", default="N", help="model size column, parameters (default: N)")
    parser.add_argument("--d-col", default=None, help="training tokens column (default: D if present)")
    parser.add_argument("--c-col", default=None, help="training FLOP column (default: C if present)")
    parser.add_argument("--loss-col", default="loss", help="final loss column, nats/token (default: loss)")
    parser.add_argument("--exclude-top-loss", type=_non_negative_int, default=0, metavar="K",
                        help="drop the K highest-loss runs first (default: 0)")
    parser.add_argument("--bootstrap", type=_non_negative_int, default=default_bootstrap, metavar="B",
                        help=f"bootstrap resamples for intervals, 0 = none (default: {default_bootstrap})")
    parser.add_argument("--seed", type=_non_negative_int, default=0, metavar="S",
                        help="bootstrap seed, an integer >= 0 (default: 0)")


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from error
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _budget_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from error


def _load_runs(args: argparse.Namespace) -> TrainingRuns:
    frame = read_runs_table(args.file)
    d_col, c_col = args.d_col, args.c_col
    if d_col is None and c_col is None:
        d_col = "D" if "D" in frame.columns else None
        c_col = "C" if "C" in frame.columns else None
        if d_col is None and c_col is None:
            raise AtlasError(f"{args.file}: no tokens or FLOP column: pass --d-col or --c-col")
    return TrainingRuns.from_frame(
        frame, n_col=args.n_col, d_col=d_col, c_col=c_col, loss_col=args.loss_col, source=str(args.file)
    )


def _progress_bar(stream: TextIO) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total)
        stream.write(f"\rbootstrap [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def _run(args: argparse.Namespace) -> int:
    runs = _load_runs(args)
    progress = None
    if args.bootstrap >= _PROGRESS_MIN_RESAMPLES and sys.stderr.isatty():
        progress = _progress_bar(sys.stderr)
    common: dict[str, Any] = dict(
        exclude_top_loss=args.exclude_top_loss, n_bootstrap=args.bootstrap, seed=args.seed, progress=progress
    )
    if args.fit_kind == "parametric":
        estimator: Any = ParametricLossFit(**common)
    elif args.fit_kind == "isoflop":
        estimator = IsoFLOPFit(budgets=args.budgets, method=args.method, loss_noise=args.loss_noise, **common)
    else:
        estimator = EnvelopeFit(budgets=args.budgets, **common)
    with warnings.catch_warnings():
        # Warnings are part of the result (printed below and in the JSON), not a second copy on stderr.
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = estimator.fit(runs)
        except AtlasError as error:
            raise AtlasError(f"{args.file}: {error}") from error
    if args.json:
        print(json.dumps(result.to_dict(), allow_nan=False))
    else:
        print(result.summary())
    for warning in result.warnings:
        print(f"atlas: warning: {warning}", file=sys.stderr)
    return 0

