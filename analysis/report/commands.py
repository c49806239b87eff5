"""``atlas report RUNS --out DIR``: a scaling-law report on your own training runs."""

from __future__ import annotations

import argparse
import sys

from analysis.fit.commands import COLUMNS_HELP, add_isoflop_options, add_parametric_options, add_run_options
from analysis.fit.runs import find_columns, read_runs_table
from analysis.report.generator import DEFAULT_TITLE, render_report, write_report
from analysis.report.settings import ReportSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``atlas report`` to the ``atlas`` parser."""
    parser = subparsers.add_parser(
        "report",
        help="write and render a scaling-law report (a Quarto book) from a table of training runs",
        description=(
            "Fit scaling laws to your training runs and write a small Quarto book into DIR: the data, "
            "the parametric fit with intervals, IsoFLOP and envelope exponents, the compute-optimal "
            "allocation, a held-out check and a comparison with published laws. Then render it to a site and a PDF "
            "(DIR/_book) unless --no-render is given. " + COLUMNS_HELP
        ),
    )
    parser.add_argument("runs", metavar="RUNS", help="CSV (or Parquet) table with one row per training run")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the report (new, empty or an earlier report)")
    add_run_options(parser, default_bootstrap=1000)
    add_parametric_options(parser)
    add_isoflop_options(parser)
    parser.add_argument("--title", default=DEFAULT_TITLE, help=f"report title (default: {DEFAULT_TITLE!r})")
    parser.add_argument("--no-render", action="store_true", help="write the sources only, do not render them")
    parser.set_defaults(handler=run)


def settings_from_args(args: argparse.Namespace) -> ReportSettings:
    """The report settings the command-line options describe, with the columns found as ``atlas fit`` finds them
    (so ``report.yml`` names them)."""
    columns = find_columns(read_runs_table(args.runs, args.sep).columns, args.n_col, args.d_col, args.c_col,
                           args.loss_col, source=str(args.runs))
    return ReportSettings(
        runs=args.runs,
        n_col=columns.n,
        d_col=columns.d,
        c_col=columns.c,
        loss_col=columns.loss,
        sep=args.sep,
        exclude_top_loss=args.exclude_top_loss,
        bootstrap=args.bootstrap,
        seed=args.seed,
        level=args.level,
        huber_delta=args.huber_delta,
        max_iter=args.max_iter,
        fix_alpha=args.fix_alpha,
        fix_beta=args.fix_beta,
        isoflop_method=args.method,
        loss_noise=args.loss_noise,
    )


def run(args: argparse.Namespace) -> int:
    """Write the report, then render it unless ``--no-render``."""
    out_dir = write_report(args.runs, args.out, settings_from_args(args), title=args.title)
    if args.no_render:
        print(f"wrote the report sources to {out_dir}; render them with `atlas build` or `quarto render` there")
        return 0
    output = render_report(out_dir)
    print(f"rendered the report to {output}", file=sys.stdout)
    return 0
