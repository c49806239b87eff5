"""``atlas fit parametric|isoflop|envelope FILE``: fit scaling laws to a table of training runs."""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Callable
from typing import Any, TextIO

from analysis.errors import AtlasError
from analysis.fit.envelope import EnvelopeFit
from analysis.fit.isoflop import ISOFLOP_METHODS, IsoFLOPFit
from analysis.fit.parametric import FIXABLE, ParametricLossFit
from analysis.fit.runs import COLUMN_NAMES, DELIMITERS, load_runs

_PROGRESS_MIN_RESAMPLES = 500

COLUMNS_HELP = (
    "Columns are found by name, in any case: N (or params, parameters, n_params, model_size, ...), D (tokens, "
    "n_tokens, ...), C (flops, compute, ...) and loss (val_loss, final_loss, ...); or name them with --n-col, "
    "--d-col, --c-col, --loss-col. Give tokens D or compute C (the other is C = 6 N D); with both, the parametric "
    "fit uses D and the IsoFLOP and envelope fits use C, and each run's C must be within 10% of 6 N D. "
    "Sizes and tokens are raw counts, not millions or billions."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``atlas fit ...`` to the ``atlas`` parser."""
    fit = subparsers.add_parser(
        "fit",
        help="fit scaling laws to training runs (Chinchilla approaches 1-3)",
        description="Fit scaling laws to a CSV or Parquet table with one row per training run. " + COLUMNS_HELP,
    )
    kinds = fit.add_subparsers(dest="fit_kind", metavar="KIND", required=True)
    for name, help_text in (
        ("parametric", "L(N, D) = E + A/N^alpha + B/D^beta by Huber loss (Approach 3)"),
        ("isoflop", "IsoFLOP profiles and N_opt ∝ C^a (Approach 2)"),
        ("envelope", "lowest final loss per FLOP budget and N_opt ∝ C^a (Approach 1 analogue)"),
    ):
        sub = kinds.add_parser(name, help=help_text, description=f"{help_text}. {COLUMNS_HELP}")
        sub.add_argument("file", metavar="FILE", help="CSV (or TSV, ';'-separated, ...) or Parquet table, one row per run")
        add_run_options(sub, default_bootstrap=0)
        sub.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
        if name == "parametric":
            add_parametric_options(sub)
            sub.add_argument(
                "--holdout", action="store_true",
                help="also fit the runs below the largest budget and report how well that fit predicts the loss of "
                     "the runs at the largest (the largest IsoFLOP budget, else the 10%% of runs with the most "
                     "compute), as Li et al. (2025) recommend")
        else:
            sub.add_argument("--budgets", type=_budget_list, default=None, metavar="C1,C2,...",
                             help="FLOP budgets to group runs by (default: detect clusters)")
        if name == "isoflop":
            add_isoflop_options(sub)
        sub.set_defaults(handler=_run, fit_kind=name)


def add_run_options(parser: argparse.ArgumentParser, default_bootstrap: int) -> None:
    """The options every command that reads a table of training runs shares (``atlas fit``, ``atlas report``):
    columns, delimiter, runs to drop, bootstrap size, seed and interval level."""
    for option, quantity, meaning in (
        ("--n-col", "N", "model size column, parameters"),
        ("--d-col", "D", "training tokens column"),
        ("--c-col", "C", "training compute column, FLOP"),
        ("--loss-col", "loss", "final loss column, nats/token"),
    ):
        usual = ", ".join(COLUMN_NAMES[quantity][:4])
        parser.add_argument(option, default=None, metavar="NAME", help=f"{meaning} (default: a column named {usual}, ...)")
    parser.add_argument("--sep", default=None, metavar="CHAR", type=_delimiter,
                        help="field delimiter of a text table (default: whichever of "
                             f"{', '.join(repr(d) for d in DELIMITERS)} the header and first rows use)")
    parser.add_argument("--exclude-top-loss", type=_non_negative_int, default=0, metavar="K",
                        help="drop the K highest-loss runs first (default: 0)")
    parser.add_argument("--bootstrap", type=_non_negative_int, default=default_bootstrap, metavar="B",
                        help=f"bootstrap resamples for intervals, 0 = none (default: {default_bootstrap})")
    parser.add_argument("--seed", type=_non_negative_int, default=0, metavar="S",
                        help="bootstrap seed, an integer >= 0 (default: 0)")
    parser.add_argument("--level", type=_level, default=0.95, metavar="P",
                        help="coverage of the percentile intervals, between 0 and 1 (default: 0.95)")


def add_parametric_options(parser: argparse.ArgumentParser) -> None:
    """The options of the parametric fit (``atlas fit parametric``, ``atlas report``)."""
    parser.add_argument("--huber-delta", type=_positive_float, default=1e-3, metavar="DELTA",
                        help="Huber threshold on residuals of the natural log of the loss (default: 1e-3, as "
                             "Hoffmann et al. 2022: a residual above 0.1%% counts linearly, not squared)")
    parser.add_argument("--max-iter", type=_positive_int, default=200, metavar="K",
                        help="Newton iterations per start; a bootstrap refit that needs more is refitted from every "
                             "start, so this limits time, not which refits count (default: 200)")
    for name in FIXABLE:
        parser.add_argument(f"--fix-{name}", type=_positive_float, default=None, metavar="VALUE",
                            help=f"hold {name} at VALUE instead of fitting it (e.g. a published value)")


def add_isoflop_options(parser: argparse.ArgumentParser) -> None:
    """The options of the IsoFLOP fit (``atlas fit isoflop``, ``atlas report``)."""
    parser.add_argument(
        "--method", choices=ISOFLOP_METHODS, default="parabola",
        help="how each budget's optimum is read off its loss profile: 'parabola' (default; Hoffmann et al. "
             "2022) takes the vertex of one parabola in log N through all of the budget's runs; "
             "'interpolation' (Porian et al. 2024) takes the lowest point of a spline through the runs, so "
             "only the runs next to the minimum decide it, and with --bootstrap uses the median of the "
             "resampled minima and weights budgets by how little their minimum moves")
    parser.add_argument(
        "--loss-noise", type=_positive_float, default=None, metavar="SD",
        help="bootstrap by adding Gaussian noise with this standard deviation (nats/token, e.g. the "
             "seed-to-seed spread of the final loss) to every run's loss instead of resampling runs; "
             "required by --method interpolation with --bootstrap")


def fixed_exponents(args: argparse.Namespace) -> dict[str, float]:
    """The exponents ``--fix-alpha`` / ``--fix-beta`` hold, by name."""
    return {name: getattr(args, f"fix_{name}") for name in FIXABLE if getattr(args, f"fix_{name}", None) is not None}


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from error
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _level(text: str) -> float:
    value = _positive_float(text)
    if not value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _delimiter(text: str) -> str:
    value = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(value) != 1:
        raise argparse.ArgumentTypeError(f"must be one character (or '\\t'), got {text!r}")
    return value


def _budget_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from error


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
    runs, _ = load_runs(args.file, args.n_col, args.d_col, args.c_col, args.loss_col, args.sep)
    progress = None
    if args.bootstrap >= _PROGRESS_MIN_RESAMPLES and sys.stderr.isatty():
        progress = _progress_bar(sys.stderr)
    common: dict[str, Any] = dict(
        exclude_top_loss=args.exclude_top_loss, n_bootstrap=args.bootstrap, seed=args.seed, level=args.level,
        progress=progress,
    )
    if args.fit_kind == "parametric":
        estimator: Any = ParametricLossFit(huber_delta=args.huber_delta, max_iter=args.max_iter,
                                           fixed=fixed_exponents(args) or None, **common)
    elif args.fit_kind == "isoflop":
        estimator = IsoFLOPFit(budgets=args.budgets, method=args.method, loss_noise=args.loss_noise, **common)
    else:
        estimator = EnvelopeFit(budgets=args.budgets, **common)
    holdout = None
    with warnings.catch_warnings():
        # Warnings are part of the result (printed below and in the JSON), not a second copy on stderr.
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = estimator.fit(runs)
            if getattr(args, "holdout", False):
                from analysis.fit.holdout import holdout_check

                holdout = holdout_check(estimator, runs)
        except AtlasError as error:
            raise AtlasError(f"{args.file}: {error}") from error
    if args.json:
        document = result.to_dict()
        if holdout is not None:
            document["holdout"] = holdout.to_dict()
        print(json.dumps(document, allow_nan=False))
    else:
        print(result.summary())
        if holdout is not None:
            print()
            print(holdout.summary())
    for warning in result.warnings:
        print(f"atlas: warning: {warning}", file=sys.stderr)
    return 0
