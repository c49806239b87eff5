"""Problems found while checking data files, and the error that carries them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from analysis.errors import AtlasError

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with control characters and line breaks escaped (``\\n``, ``\\x00``), so that it
    prints on one line."""
    return _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text)


@dataclass(frozen=True)
class Problem:
    """One problem in one place of a data file.

    ``row`` counts as a spreadsheet does: the header is row 1 and the first data row is
    row 2 (for the JSON descriptor it is the line number). ``row``/``column`` are ``None``
    when the problem concerns the whole file or a whole row. ``str(problem)`` is always one
    line: ``file:row:column: message``.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        row = "-" if self.row is None else str(self.row)
        column = self.column or "-"
        return printable(f"{self.file}:{row}:{column}: {self.message}")


class DataValidationError(AtlasError):
    """A table did not pass validation; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = [f"{count} data problem{'s' if count != 1 else ''}:"]
        lines += [str(problem) for problem in self.problems]
        super().__init__("\n".join(lines))
