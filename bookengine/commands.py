"""Sub-commands of ``atlas`` for the publishing engine: ``build`` and ``preview``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``atlas build`` and ``atlas preview`` to the ``atlas`` parser."""
    build = subparsers.add_parser("build", help="render the book to a website and a PDF",
                                  description="Render the book (site + PDF) with Quarto or the built-in engine.")
    build.add_argument("--engine", choices=("auto", "quarto", "builtin"), default="auto",
                       help="auto (default) uses Quarto when `quarto` is on PATH, else the built-in engine")
    build.add_argument("--no-cache", action="store_true", help="execute every chapter again")
    build.add_argument("--output-dir", help="output folder (default: project output-dir, usually _book)")
    build.add_argument("--project", default=".", help="book project folder (default: current folder)")
    build.set_defaults(handler=_build)

    preview = subparsers.add_parser("preview", help="serve the site locally and rebuild on change")
    preview.add_argument("--port", type=int, default=4200, help="port on 127.0.0.1 (default 4200; 0 picks a free one)")
    preview.add_argument("--project", default=".")
    preview.add_argument("--no-pdf", action="store_true", help="skip the PDF on rebuilds (faster)")
    preview.set_defaults(handler=_preview)


def _build(args: argparse.Namespace) -> int:
    from bookengine.build import Progress, build

    progress = Progress()
    report = build(Path(args.project), output_dir=args.output_dir, use_cache=not args.no_cache,
                   engine=args.engine, progress=progress)
    if progress.enabled:
        total = sum(report.stage_seconds.values())
        print(f"Built {report.output} with {report.engine} in {total:.1f} s "
              f"({len(report.executed)} executed, {len(report.cached)} cached)", file=sys.stderr)
    return 0


def _preview(args: argparse.Namespace) -> int:
    from bookengine.preview import serve

    serve(Path(args.project), port=args.port, pdf_output=not args.no_pdf)
    return 0
