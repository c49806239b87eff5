"""``atlas data check [DIR]`` and ``atlas data fetch [--mirror DIR] [--force]``."""

from __future__ import annotations

import argparse

from analysis.data.external import MIRROR_ENV, fetch_chinchilla_runs
from analysis.data.tables import inspect_data_dir, resolve_data_dir
from analysis.errors import AtlasError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``atlas data ...`` to the ``atlas`` parser."""
    data = subparsers.add_parser("data", help="check the curated tables; fetch the external dataset")
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    check = commands.add_parser("check", help="validate a data directory (default: the repository's data/)")
    check.add_argument("directory", nargs="?", metavar="DIR", help="data directory holding datapackage.json")
    check.set_defaults(handler=run_check)

    fetch = commands.add_parser("fetch", help="download (or copy from a mirror) and verify the Chinchilla runs")
    fetch.add_argument("--mirror", metavar="DIR",
                       help=f"copy from this folder instead of downloading (default: ${MIRROR_ENV})")
    fetch.add_argument("--force", action="store_true", help="fetch again even if the cached file verifies")
    fetch.set_defaults(handler=run_fetch)


def run_check(args: argparse.Namespace) -> int:
    """Print one line per problem and fail, or print a one-line summary."""
    directory = resolve_data_dir(args.directory)
    problems, tables = inspect_data_dir(directory)
    if problems:
        for problem in problems:
            print(problem)
        count = len(problems)
        raise AtlasError(f"{count} problem{'s' if count != 1 else ''} in {directory}")
    rows = sum(table.n_rows for table in tables)
    approximate = sum(table.n_approximate for table in tables)
    print(f"OK: {len(tables)} tables, {rows} rows ({approximate} approximate) in {directory}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    """Fetch and verify the external dataset, saying where it came from."""
    result = fetch_chinchilla_runs(mirror=args.mirror, force=args.force)
    verb = {"cache": "already cached", "mirror": "copied from", "download": "downloaded from"}[result.origin]
    detail = "" if result.origin == "cache" else f" {result.source}"
    print(f"chinchilla_runs: {verb}{detail}; sha256 verified: {result.path}")
    return 0
