"""What a build shows while it runs: the stage, each chapter and the time elapsed.

On a terminal a live line (``rich``) shows the current stage, the chapters being executed and
the elapsed time, and every finished step stays printed above it; ``plain`` writes one line
per event (for logs); ``off`` shows nothing. Everything goes to stderr: stdout keeps the result.
"""

from __future__ import annotations

import sys
import time
from typing import Literal, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as LiveBar

Mode = Literal["auto", "live", "plain", "off"]
MODES: tuple[str, ...] = ("auto", "live", "plain", "off")


class Progress:
    """Receives a build's events: :meth:`stage` when a stage starts (with its number of items),
    :meth:`item` when a document changes state (``executing``, ``executed``, ``cached``,
    ``converted``), :meth:`start`/:meth:`stop` around each build.

    ``mode="auto"`` is ``live`` when ``stream`` is a terminal and ``off`` otherwise.
    """

    def __init__(self, mode: Mode = "auto", stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "live" if self.stream.isatty() else "off"
        if mode not in MODES:
            raise ValueError(f"unknown progress mode {mode!r}; expected one of {', '.join(MODES)}")
        self.mode = mode
        self.enabled = mode != "off"
        self._started = time.perf_counter()
        self._stage = ""
        self._stage_started = self._started
        self._running: dict[str, float] = {}
        self._bar: LiveBar | None = None
        self._task = None

    # -- build lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """A build begins: the clock restarts and, in live mode, the live line appears."""
        self._started = self._stage_started = time.perf_counter()
        self._stage, self._running = "", {}
        if self.mode == "live":
            console = Console(file=self.stream, stderr=self.stream is sys.stderr, highlight=False)
            self._bar = LiveBar(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=20),
                                MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True)
            self._task = self._bar.add_task("starting", total=None)
            self._bar.start()

    def stop(self) -> None:
        """The build ended (finished, failed or interrupted): the live line goes away."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    # -- events -----------------------------------------------------------------------------------

    def stage(self, name: str, total: int = 0) -> None:
        """Stage ``name`` starts; ``total`` items (documents) are expected in it, 0 if it has none."""
        self._finish_stage()
        self._stage, self._stage_started = name, time.perf_counter()
        if self._bar is not None:
            self._bar.update(self._task, description=name, completed=0, total=total or None)
        elif self.mode == "plain":
            self._line(f"{name}" + (f" ({total} documents)" if total else ""))

    def item(self, subject: str, state: str) -> None:
        """Document ``subject`` reached ``state`` in the current stage."""
        now = time.perf_counter()
        if state == "executing":
            self._running[subject] = now
            self._describe_running()
            if self.mode == "plain":
                self._line(f"  executing {subject}")
            return
        seconds = now - self._running.pop(subject, now)
        detail = f"{subject}  {seconds:.1f} s" if state == "executed" else subject
        if self._bar is not None:
            self._bar.advance(self._task)
            self._describe_running()
            self._bar.console.print(f"  [green]✓[/] {state:<9} {escape(detail)}")
        elif self.mode == "plain":
            self._line(f"  {state:<9} {detail}")

    def finish(self) -> None:
        """The last stage ended."""
        self._finish_stage()
        self._stage = ""

    # -- helpers ----------------------------------------------------------------------------------

    def _finish_stage(self) -> None:
        if not self._stage:
            return
        seconds = time.perf_counter() - self._stage_started
        if self._bar is not None:
            self._bar.console.print(f"[bold]{escape(self._stage):<10}[/] done in {seconds:.1f} s")
        elif self.mode == "plain":
            self._line(f"{self._stage} done in {seconds:.1f} s")

    def _describe_running(self) -> None:
        if self._bar is None:
            return
        running = ", ".join(self._running)
        self._bar.update(self._task, description=f"{self._stage} {escape(running)}".strip())

    def _line(self, text: str) -> None:
        elapsed = time.perf_counter() - self._started
        # One write per line, newline included: an interruption between the text and its newline
        # would run the next message ("atlas: interrupted") onto the end of this line.
        self.stream.write(f"[{elapsed:6.1f} s] {text}\n")
        self.stream.flush()
