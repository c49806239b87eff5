"""Sub-commands of ``atlas`` for the publishing engine: ``build`` and ``preview``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bookengine.progress import MODES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``atlas build`` and ``atlas preview`` to the ``atlas`` parser."""
    build = subparsers.add_parser("build", help="render the book to a website and a PDF",
                                  description="Render the book (site + PDF) with Quarto or the built-in engine.")
    build.add_argument("--engine", choices=("auto", "quarto", "builtin"), default="auto",
                       help="auto (default) uses Quarto when `quarto` is on PATH, else the built-in engine")
    build.add_argument("--no-cache", action="store_true", help="execute every chapter again")
    build.add_argument("--output-dir", help="output folder (default: project output-dir, usually _book)")
    build.add_argument("--project", default=".", help="book project folder (default: current folder)")
    _add_progress_option(build)
    build.set_defaults(handler=_build)

    preview = subparsers.add_parser("preview", help="serve the site locally and rebuild on change",
                                    description="Build the book, serve its site on 127.0.0.1 and rebuild it when a "
                                                "source changes.")
    preview.add_argument("--port", type=_port, default=4200, help="port on 127.0.0.1 (default 4200; 0 picks a free one)")
    preview.add_argument("--project", default=".", help="book project folder (default: current folder)")
    preview.add_argument("--no-pdf", action="store_true", help="skip the PDF on rebuilds (faster)")
    _add_progress_option(preview)
    preview.set_defaults(handler=_preview)


def _add_progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", choices=MODES, default="auto",
                        help="what to show while building, on stderr: auto (default: a live line on a terminal, "
                             "nothing otherwise), live, plain (one line per step, for logs) or off")


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it."""
    try:
        return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def _build(args: argparse.Namespace) -> int:
    from bookengine.build import Progress, build

    report = build(Path(args.project), output_dir=args.output_dir, use_cache=not args.no_cache,
                   engine=args.engine, progress=Progress(args.progress))
    total = sum(report.stage_seconds.values())
    counts = f" ({len(report.executed)} executed, {len(report.cached)} cached)" if report.engine == "builtin" else ""
    print(f"Built with the {report.engine} engine in {total:.1f} s{counts}")
    print(f"  site: {_shown(report.output / 'index.html')}")
    if report.pdf is not None:
        print(f"  PDF:  {_shown(report.pdf)}")
    return 0


def _preview(args: argparse.Namespace) -> int:
    from bookengine.preview import serve

    serve(Path(args.project), port=args.port, pdf_output=not args.no_pdf, progress_mode=args.progress)
    return 0
