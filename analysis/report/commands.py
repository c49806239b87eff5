"""``atlas report RUNS --out DIR``: a scaling-law report on your own training runs."""

from __future__ import annotations

import argparse
import sys

from analysis.errors import AtlasError
from analysis.fit.commands import add_run_options
from analysis.fit.runs import read_runs_table
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
            "allocation and a comparison with published laws. Then render it to a site and a PDF "
            "(DIR/_book) unless --no-render is given."
        ),
    )
    parser.add_argument("runs", metavar="RUNS", help="CSV (or Parquet) table with one row per training run")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the report (new, empty or an earlier report)")
    add_run_options(parser, default_bootstrap=1000)
    parser.add_argument("--title", default=DEFAULT_TITLE, help=f"report title (default: {DEFAULT_TITLE!r})")
    parser.add_argument("--no-render", action="store_true", help="write the sources only, do not render them")
    parser.set_defaults(handler=run)


def settings_from_args(args: argparse.Namespace) -> ReportSettings:
    """The report settings the command-line options describe.

    Without ``--d-col`` and ``--c-col``, columns named ``D`` and ``C`` are used when the table
    has them, as ``atlas fit`` does.
    """
    d_col, c_col = args.d_col, args.c_col
    if d_col is None and c_col is None:
        columns = read_runs_table(args.runs).columns
        d_col = "D" if "D" in columns else None
        c_col = "C" if "C" in columns else None
        if d_col is None and c_col is None:
            raise AtlasError(f"{args.runs}: no tokens or FLOP column: pass --d-col or --c-col")
    return ReportSettings(
        runs=args.runs,
        n_col=args.n_col,
        d_col=d_col,
        c_col=c_col,
        loss_col=args.loss_col,
        exclude_top_loss=args.exclude_top_loss,
        bootstrap=args.bootstrap,
        seed=args.seed,
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
