"""The ``atlas`` command line.

Each area of the project registers its own sub-commands; this module only wires them
together and turns expected failures (:class:`analysis.errors.AtlasError`) into a one-line
message on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from analysis import __version__
from analysis.errors import AtlasError
from bookengine.errors import BuildError


def build_parser() -> argparse.ArgumentParser:
    from analysis.data import commands as data_commands
    from analysis.fit import commands as fit_commands
    from analysis.report import commands as report_commands
    from bookengine import commands as engine_commands

    parser = argparse.ArgumentParser(
        prog="atlas",
        description="Scaling Atlas: curated data, scaling-law fits and the book that explains them.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data_commands.register(subparsers)
    fit_commands.register(subparsers)
    report_commands.register(subparsers)
    engine_commands.register(subparsers)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every command stops the same way (cleanup, one line)."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`Terminated` in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _terminate_as_interrupt():
            return int(args.handler(args) or 0)
    except (AtlasError, BuildError) as error:
        print(f"atlas: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interruption:
        print("atlas: interrupted", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(interruption, Terminated) else signal.SIGINT)
    except BrokenPipeError:
        # The reader went away (`atlas fit ... --json | head`): stop quietly, as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
