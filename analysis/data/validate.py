"""Cell-by-cell validation of the CSV tables against their Table Schema.

Every problem is reported with file, spreadsheet row (header = row 1) and column. A table is
read as a stream, one record at a time, and only what a later step needs is kept: every column
for :func:`analysis.data.load_table`, and for a check only the key sets, the foreign-key columns
and the provenance columns, so checking a large table takes little memory. Kept values are
Python objects (``int``, ``float``, ``str``, ``datetime.date``), so loading does not parse twice.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import math
import re
import sys
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from analysis.bibliography import BibliographyError, bibliography_keys
from analysis.data.descriptor import FieldSpec, PackageSpec, TableSpec, compiled_pattern, load_package
from analysis.data.problems import Problem, printable

# ASCII digits only: `\d` would also accept full-width and Arabic-Indic digits, which int() then reads.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_YEARMONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
BILLION = 1e9
MAX_INTEGER_DIGITS = 308
"""Longest integer accepted: counts load as float64, which ends near 1.8e308."""
SHOWN_CHARACTERS = 40
"""Longer cell values are shortened in messages, so that every problem stays one readable line."""
_PATTERN_MEMO_SIZE = 10_000

Checker = Callable[[str], tuple[Any, str | None]]


@dataclass
class ParsedTable:
    """A table's problems, its row count and the typed cells kept (``None`` for empty or invalid cells)."""

    spec: TableSpec
    file: str
    columns: dict[str, list[Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    readable: bool = False
    n_rows: int = 0


class _Unreadable(Exception):
    """The file cannot be read as CSV text; carries the one problem that says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_bibliography_keys(path: Path) -> tuple[set[str], list[Problem]]:
    """Citation keys defined in a BibTeX file, as pandoc reads it (``@comment``/``@string``/``@preamble`` define none)."""
    try:
        return bibliography_keys(path), []
    except BibliographyError as error:
        message = str(error).removeprefix(f"{path}: ")
        if not path.is_file():
            message += "; `source` keys cannot be checked"
        return set(), [Problem(str(path), None, None, message)]


def parse_table(package: PackageSpec, spec: TableSpec, bib_keys: set[str] | None,
                keep: Collection[str] | None = None) -> ParsedTable:
    """Read and check one table's CSV file (everything except foreign keys).

    ``keep`` names the columns whose typed values are kept (default: all of them).
    """
    path = package.root / spec.path
    table = ParsedTable(spec=spec, file=str(path))
    try:
        with path.open("rb") as stream:
            _read_rows(csv.reader(_decoded_lines(stream, table.file), strict=True), table, bib_keys, keep)
    except FileNotFoundError:
        table.problems.append(Problem(table.file, None, None,
                                      f"file not found (resource '{spec.name}' in datapackage.json)"))
    except OSError as error:
        table.problems.append(Problem(table.file, None, None, f"cannot read the file: {error.strerror or error}"))
    except _Unreadable as error:
        table.problems.append(error.problem)
    except csv.Error as error:
        table.problems.append(Problem(table.file, table.n_rows + 2, None, f"malformed CSV: {error}"))
    else:
        return table
    table.readable = False
    table.columns = {}
    return table


def _decoded_lines(stream: BinaryIO, file: str) -> Iterator[str]:
    """The file's lines as text (UTF-8, a leading byte-order mark dropped); a byte that is not
    UTF-8 ends the stream with a problem naming its offset in the file. Lines split at the newline byte,
    which is never part of a multi-byte UTF-8 character, so each line decodes on its own."""
    offset = 0
    for line in stream:
        start = len(codecs.BOM_UTF8) if offset == 0 and line.startswith(codecs.BOM_UTF8) else 0
        try:
            yield line[start:].decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Unreadable(Problem(file, None, None,
                                      f"not valid UTF-8 text (byte {offset + start + error.start})")) from None
        offset += len(line)


def _read_rows(reader: Iterator[list[str]], table: ParsedTable, bib_keys: set[str] | None,
               keep: Collection[str] | None) -> None:
    spec = table.spec
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise _Unreadable(Problem(table.file, 1, None, f"malformed CSV: {error}")) from None
    if header is None or not any(header):
        expected = ", ".join(spec.field_names)
        table.problems.append(Problem(table.file, 1, None, f"no header row; expected columns: {expected}"))
        return
    if not _check_header(header, table):
        return
    table.readable = True
    width = len(header)
    present = [fspec for fspec in spec.fields if fspec.name in header]
    names = [fspec.name for fspec in present]
    positions = [header.index(name) for name in names]
    checkers = [cell_checker(fspec, bib_keys) for fspec in present]
    kept = [(slot, name) for slot, name in enumerate(names) if keep is None or name in keep]
    table.columns = {name: [] for _, name in kept}
    stores = [(slot, table.columns[name].append) for slot, name in kept]
    uniqueness = [_Uniqueness(table, key, names, spec) for key in _unique_keys(spec)
                  if all(name in names for name in key[0])]
    problems, file = table.problems, table.file
    cells = list(zip(names, positions, checkers))
    row = 1
    for row, record in enumerate(reader, start=2):
        table.n_rows = row - 1
        if len(record) != width:
            shape = "blank row" if not any(record) else f"expected {width} cells, found {len(record)}"
            problems.append(Problem(file, row, None, shape))
            for _, store in stores:
                store(None)
            continue
        values = []
        for name, position, check in cells:
            value, message = check(record[position])
            if message is not None:
                problems.append(Problem(file, row, name, message))
            values.append(value)
        for slot, store in stores:
            store(values[slot])
        for unique in uniqueness:
            unique.add(row, values)
    if row == 1:
        problems.append(Problem(file, None, None, "no data rows: the file has only its header"))


def cell_checker(spec: FieldSpec, bib_keys: set[str] | None) -> Checker:
    """A function that parses one cell of the column ``spec`` and returns
    ``(typed value or None, problem message or None)``."""
    parse = _PARSERS[spec.type]
    numeric = spec.type in ("integer", "number")
    enum = {value: value for value in spec.enum} if spec.enum is not None else None
    matches = _pattern_matcher(spec.pattern) if spec.pattern is not None else None
    sources = bib_keys if spec.bibliography_key else None
    empty = (None, "required value is empty") if spec.required else (None, None)

    def check(text: str) -> tuple[Any, str | None]:
        if not text:
            return empty
        if not text.isprintable() or text[0].isspace() or text[-1].isspace():
            message = _text_problem(text, spec.required)
            if message is not None:
                return None, message
        value, message = parse(text)
        if message is not None:
            if spec.type == "integer" and _NUMBER.fullmatch(text) and _in_range(float(text) * BILLION, spec):
                message += ": looks like billions; expected raw count"
            return None, message
        if enum is not None:
            if text not in enum:
                return None, f"{_quoted(text)} is not allowed; expected one of: {', '.join(enum)}"
            if spec.type == "string":
                value = enum[text]  # one shared string per allowed value
        if matches is not None and not matches(text):
            return None, f"{_quoted(text)} does not match the pattern {spec.pattern}"
        if numeric:
            message = _check_range(value, text, spec)
            if message is not None:
                return None, message
        if sources is not None:
            if value not in sources:
                return None, f"unknown source key {_quoted(text)} (not in references.bib)"
            value = sys.intern(value)
        return value, None

    return check


def _pattern_matcher(pattern: str) -> Callable[[str], bool]:
    """Whether a whole value matches ``pattern``, in time linear in its length (RE2 does not
    backtrack); results for repeated values (a column of a few source keys) are remembered."""
    regexp = compiled_pattern(pattern)
    memo: dict[str, bool] = {}

    def matches(text: str) -> bool:
        known = memo.get(text)
        if known is None:
            known = regexp.fullmatch(text.encode("utf-8")) is not None
            if len(memo) < _PATTERN_MEMO_SIZE:
                memo[text] = known
        return known

    return matches


def _text_problem(text: str, required: bool) -> str | None:
    """What is wrong with a value's characters: blank, a control character, surrounding spaces."""
    if text.isspace():
        return "required value is blank (only whitespace)" if required else \
            "value is only whitespace; leave the cell empty for no value"
    control = _CONTROL.search(text)
    if control is not None:
        character = control.group()
        if character == "\x00":
            return "contains a NUL byte"
        if character in _LINE_BREAKS:
            return "contains a line break; a value is one line of text"
        return f"contains the control character U+{ord(character):04X}"
    if text != text.strip():
        return f"has leading or trailing whitespace: {_quoted(text)}"
    return None


def _parse_string(text: str) -> tuple[Any, str | None]:
    return text, None


def _parse_integer(text: str) -> tuple[Any, str | None]:
    if not _INTEGER.fullmatch(text):
        return None, f"expected an integer (digits only, a raw count), got {_quoted(text)}"
    digits = len(text.lstrip("+-"))
    if digits > MAX_INTEGER_DIGITS:
        return None, f"integer out of range: {digits} digits (at most {MAX_INTEGER_DIGITS})"
    return int(text), None


def _parse_number(text: str) -> tuple[Any, str | None]:
    if _NUMBER.fullmatch(text):
        return float(text), None
    return None, f"expected a number, got {_quoted(text)}"


def _parse_yearmonth(text: str) -> tuple[Any, str | None]:
    match = _YEARMONTH.fullmatch(text)
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if year == 0:
            return None, f"expected a year and month as YYYY-MM, got {_quoted(text)} (there is no year 0)"
        if 1 <= month <= 12:
            return dt.date(year, month, 1), None
    return None, f"expected a year and month as YYYY-MM, got {_quoted(text)}"


def _parse_date(text: str) -> tuple[Any, str | None]:
    if _DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text), None
        except ValueError:
            pass
    return None, f"expected a date as YYYY-MM-DD, got {_quoted(text)}"


_PARSERS: dict[str, Callable[[str], tuple[Any, str | None]]] = {
    "string": _parse_string,
    "integer": _parse_integer,
    "number": _parse_number,
    "yearmonth": _parse_yearmonth,
    "date": _parse_date,
}


def _quoted(text: str) -> str:
    """A cell value for a message: quoted, control characters escaped, long values shortened."""
    if len(text) > SHOWN_CHARACTERS:
        return f"'{printable(text[:SHOWN_CHARACTERS])}…' ({len(text)} characters)"
    return f"'{printable(text)}'"


def _bare(text: str) -> str:
    return _quoted(text)[1:-1] if len(text) <= SHOWN_CHARACTERS else _quoted(text)


def _check_range(value: float, text: str, spec: FieldSpec) -> str | None:
    unit = f" {spec.unit}" if spec.unit else ""
    shown = _bare(text)
    if not math.isfinite(value):
        return f"expected a finite number, got {_quoted(text)}"
    must_be_positive = ((spec.exclusive_minimum is not None and spec.exclusive_minimum >= 0)
                        or (spec.minimum is not None and spec.minimum > 0))
    if must_be_positive and value <= 0:
        return f"must be positive, got {shown}"
    if spec.exclusive_minimum is not None and value <= spec.exclusive_minimum:
        return f"{shown} must be greater than {spec.exclusive_minimum:g}{unit}"
    if spec.minimum is not None and value < spec.minimum:
        if _in_range(value * BILLION, spec):
            return f"{shown} is below the minimum {spec.minimum:g}{unit}: looks like billions; expected raw count"
        return f"{shown} is below the minimum {spec.minimum:g}{unit}"
    if spec.maximum is not None and value > spec.maximum:
        if _in_range(value / BILLION, spec):
            return (f"{shown} is above the maximum {spec.maximum:g}{unit}: "
                    f"looks like a raw count; expected billions ({spec.unit})")
        return f"{shown} is above the maximum {spec.maximum:g}{unit}"
    return None


def _in_range(value: float, spec: FieldSpec) -> bool:
    """Whether ``value`` fits a strictly positive range (a unit slip only shows against such a range)."""
    if spec.minimum is None or spec.minimum <= 0:
        return False
    above = spec.minimum is None or value >= spec.minimum
    below = spec.maximum is None or value <= spec.maximum
    return above and below


def _check_header(header: list[str], table: ParsedTable) -> bool:
    """Report header problems; return whether the cells can still be read column by column."""
    expected = table.spec.field_names
    duplicates = sorted({name for name in header if header.count(name) > 1}, key=header.index)
    for name in duplicates:
        table.problems.append(Problem(table.file, 1, name, "duplicate column"))
    missing = [spec for spec in table.spec.fields if spec.name not in header]
    for spec in missing:
        table.problems.append(Problem(table.file, 1, spec.name, f"missing column (type {spec.type})"))
    for name in header:
        if name not in expected:
            table.problems.append(Problem(table.file, 1, name or "(empty)", "unexpected column (not in the schema)"))
    known = [name for name in header if name in expected]
    if not duplicates and not missing and known != list(expected):
        table.problems.append(Problem(table.file, 1, None,
                                      f"columns out of order; expected: {', '.join(expected)}"))
    return not duplicates


def _unique_keys(spec: TableSpec) -> list[tuple[tuple[str, ...], str]]:
    keys = [(spec.primary_key, "duplicate primary key")] if spec.primary_key else []
    keys += [((f.name,), "duplicate value in a unique column") for f in spec.fields
             if f.unique and (f.name,) != spec.primary_key]
    return keys


class _Uniqueness:
    """Values of one key seen so far. Free-text values are compared regardless of letter case
    ("BERT-base" repeats "bert-base"); values from an ``enum`` are compared exactly, since the
    schema may allow both cases ("a" and "A" are different coefficients)."""

    def __init__(self, table: ParsedTable, key: tuple[tuple[str, ...], str], names: list[str],
                 spec: TableSpec) -> None:
        self.table = table
        self.columns, self.what = key
        self.slots = [names.index(name) for name in self.columns]
        fields = {f.name: f for f in spec.fields}
        self.fold = [fields[name].type == "string" and fields[name].enum is None for name in self.columns]
        self.first: dict[Any, int | tuple[int, tuple[Any, ...]]] = {}

    def add(self, row: int, values: list[Any]) -> None:
        key = tuple(values[slot] for slot in self.slots)
        if None in key:
            return
        folded = tuple(value.casefold() if fold else value for value, fold in zip(key, self.fold))
        seen = self.first.get(folded)
        if seen is None:
            # Only keys that folding changed keep their spelling, for the message about letter case.
            self.first[folded] = row if folded == key else (row, key)
            return
        first_row, first_key = (seen, folded) if isinstance(seen, int) else seen
        message = f"{self.what} ({self._show(key)}); first seen on row {first_row}"
        if first_key != key:
            message += f" as ({self._show(first_key)}): keys may not differ only in letter case"
        self.table.problems.append(Problem(self.table.file, row, "+".join(self.columns), message))

    def _show(self, key: tuple[Any, ...]) -> str:
        return ", ".join(f"{name}={_bare(_show(value))}" for name, value in zip(self.columns, key))


def check_foreign_keys(table: ParsedTable, tables: dict[str, ParsedTable]) -> list[Problem]:
    """Rows whose foreign-key values have no matching row in the referenced table."""
    problems: list[Problem] = []
    if not table.readable:
        return problems
    for fk in table.spec.foreign_keys:
        target = tables[fk.resource]
        column = "+".join(fk.fields)
        if not target.readable or any(name not in target.columns for name in fk.reference_fields):
            problems.append(Problem(table.file, None, column,
                                    f"cannot check references: {target.spec.path} could not be read"))
            continue
        if any(name not in table.columns for name in fk.fields):
            continue
        known = set(zip(*(target.columns[name] for name in fk.reference_fields)))
        for offset, values in enumerate(zip(*(table.columns[name] for name in fk.fields))):
            if any(value is None for value in values) or values in known:
                continue
            shown = _quoted(", ".join(_show(value) for value in values))
            problems.append(Problem(table.file, offset + 2, column,
                                    f"{shown} not found in {target.spec.path} column "
                                    f"{'+'.join(fk.reference_fields)}"))
    return problems


PROVENANCE_COLUMNS = ("source", "value_kind")
"""Columns a check keeps besides the foreign keys: the data appendix counts and cites them."""


def check_package(
    data_dir: Path, only: str | None = None
) -> tuple[PackageSpec | None, dict[str, ParsedTable], list[Problem]]:
    """Check the descriptor, bibliography and tables of ``data_dir``.

    With ``only``, problems are reported for that table alone (tables it references are
    still read, to check its foreign keys), and every column of it is kept. Without it, each
    table keeps only its foreign-key columns, the columns other tables refer to and
    :data:`PROVENANCE_COLUMNS`.
    """
    package, problems = load_package(data_dir)
    if package is None:
        return None, {}, problems
    if only is not None and only not in package.tables:
        known = ", ".join(package.tables)
        problems.append(Problem(str(package.descriptor_path), None, None,
                                f"no table named '{printable(only)}'; tables: {known}"))
        return package, {}, problems
    bib_keys, bib_problems = read_bibliography_keys(package.bibliography)
    problems += bib_problems
    wanted = package.tables if only is None else _with_references(package, only)
    referenced = _referenced_columns(package)
    parsed = {}
    for name in wanted:
        spec = package.tables[name]
        keep = None if name == only else {*PROVENANCE_COLUMNS, *referenced.get(name, ()),
                                          *(column for fk in spec.foreign_keys for column in fk.fields)}
        parsed[name] = parse_table(package, spec, bib_keys if not bib_problems else None, keep)
    for name, table in parsed.items():
        if only is not None and name != only:
            continue
        problems += table.problems
        problems += check_foreign_keys(table, parsed)
    return package, parsed, problems


def _referenced_columns(package: PackageSpec) -> dict[str, set[str]]:
    """For each table, the columns that other tables' foreign keys point at."""
    referenced: dict[str, set[str]] = {}
    for spec in package.tables.values():
        for fk in spec.foreign_keys:
            referenced.setdefault(fk.resource, set()).update(fk.reference_fields)
    return referenced


def _with_references(package: PackageSpec, name: str) -> list[str]:
    names = [name]
    for fk in package.tables[name].foreign_keys:
        if fk.resource not in names:
            names.append(fk.resource)
    return names


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
