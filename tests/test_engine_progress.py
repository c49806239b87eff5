"""What a build shows while it runs: the live display (rich) and the plain log, fed a build's events."""

from __future__ import annotations

import io
import re

import pytest

from bookengine.progress import Progress

EVENTS = [
    ("stage", "pre-render", 0),
    ("stage", "execute", 2),
    ("item", "chapters/a.qmd", "executing"),
    ("item", "chapters/b.qmd", "cached"),
    ("item", "chapters/a.qmd", "executed"),
    ("stage", "convert", 2),
    ("item", "chapters/a.qmd", "converted"),
    ("item", "chapters/b.qmd", "converted"),
]


def replay(progress: Progress) -> None:
    progress.start()
    for kind, subject, detail in EVENTS:
        if kind == "stage":
            progress.stage(subject, detail)
        else:
            progress.item(subject, detail)
    progress.finish()
    progress.stop()


def test_plain_log_has_one_line_per_event_with_the_elapsed_time() -> None:
    stream = io.StringIO()
    replay(Progress("plain", stream))
    lines = [re.sub(r"\d+\.\d s", "T s", line) for line in stream.getvalue().splitlines()]
    assert lines == [
        "[   T s] pre-render",
        "[   T s] pre-render done in T s",
        "[   T s] execute (2 documents)",
        "[   T s]   executing chapters/a.qmd",
        "[   T s]   cached    chapters/b.qmd",
        "[   T s]   executed  chapters/a.qmd  T s",
        "[   T s] execute done in T s",
        "[   T s] convert (2 documents)",
        "[   T s]   converted chapters/a.qmd",
        "[   T s]   converted chapters/b.qmd",
        "[   T s] convert done in T s",
    ]


def test_live_display_keeps_each_finished_step_printed() -> None:
    stream = io.StringIO()
    replay(Progress("live", stream))
    text = stream.getvalue()
    for expected in ("✓ executed  chapters/a.qmd", "✓ cached    chapters/b.qmd", "✓ converted chapters/b.qmd",
                     "execute    done in", "convert    done in"):
        assert expected in text


def test_auto_is_silent_off_a_terminal_and_modes_are_checked() -> None:
    stream = io.StringIO()
    progress = Progress("auto", stream)
    replay(progress)
    assert not progress.enabled and stream.getvalue() == ""
    with pytest.raises(ValueError, match="unknown progress mode"):
        Progress("loud")  # type: ignore[arg-type]
