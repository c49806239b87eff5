"""Cell-by-cell validation of the CSV tables against their Table Schema.

Every problem is reported with file, spreadsheet row (header = row 1) and column; values
that pass are kept as Python objects (``int``, ``float``, ``str``, ``datetime.date``) so
that loading does not parse twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.bibliography import BibliographyError, bibliography_keys
from analysis.data.descriptor import FieldSpec, PackageSpec, TableSpec, load_package
from analysis.data.problems import Problem

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_YEARMONTH = re.compile(r"(\d{4})-(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
BILLION = 1e9


@dataclass
class ParsedTable:
    """A table's typed cells (``None`` for empty or invalid cells) and its problems."""

    spec: TableSpec
    file: str
    columns: dict[str, list[Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    readable: bool = False

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()), []))


def read_bibliography_keys(path: Path) -> tuple[set[str], list[Problem]]:
    """Citation keys defined in a BibTeX file, as pandoc reads it (``@comment``/``@string``/``@preamble`` define none)."""
    try:
        return bibliography_keys(path), []
    except BibliographyError as error:
        message = str(error).removeprefix(f"{path}: ")
        if not path.is_file():
            message += "; `source` keys cannot be checked"
        return set(), [Problem(str(path), None, None, message)]


def parse_table(package: PackageSpec, spec: TableSpec, bib_keys: set[str] | None) -> ParsedTable:
    """Read and check one table's CSV file (everything except foreign keys)."""
    path = package.root / spec.path
    table = ParsedTable(spec=spec, file=str(path))
    records = _read_records(path, table)
    if records is None:
        return table
    header, rows = records[0], records[1:]
    if not _check_header(header, table):
        return table
    table.readable = True
    position = {name: header.index(name) for name in spec.field_names if name in header}
    table.columns = {name: [] for name in position}
    for offset, record in enumerate(rows):
        row = offset + 2
        if len(record) != len(header):
            problem = "blank row" if not any(record) else f"expected {len(header)} cells, found {len(record)}"
            table.problems.append(Problem(table.file, row, None, problem))
            for name in position:
                table.columns[name].append(None)
            continue
        for fspec in spec.fields:
            if fspec.name not in position:
                continue
            value, message = check_cell(record[position[fspec.name]], fspec, bib_keys)
            table.columns[fspec.name].append(value)
            if message:
                table.problems.append(Problem(table.file, row, fspec.name, message))
    _check_uniqueness(table)
    return table


def check_cell(text: str, spec: FieldSpec, bib_keys: set[str] | None) -> tuple[Any, str | None]:
    """Parse one cell; return (typed value or ``None``, problem message or ``None``)."""
    if text == "":
        return None, ("required value is empty" if spec.required else None)
    value, message = _parse(text, spec.type)
    if message:
        if spec.type == "integer" and _NUMBER.fullmatch(text) and _in_range(float(text) * BILLION, spec):
            message += ": looks like billions; expected raw count"
        return None, message
    if spec.enum is not None and value not in spec.enum:
        return None, f"'{text}' is not allowed; expected one of: {', '.join(spec.enum)}"
    if spec.pattern is not None and not re.fullmatch(spec.pattern, text):
        return None, f"'{text}' does not match the pattern {spec.pattern}"
    if isinstance(value, (int, float)):
        message = _check_range(value, text, spec)
        if message:
            return None, message
    if spec.bibliography_key and bib_keys is not None and value not in bib_keys:
        return None, f"unknown source key '{text}' (not in references.bib)"
    return value, None


def _parse(text: str, field_type: str) -> tuple[Any, str | None]:
    if field_type == "string":
        return text, None
    if field_type == "integer":
        if _INTEGER.fullmatch(text):
            return int(text), None
        return None, f"expected an integer (digits only, a raw count), got '{text}'"
    if field_type == "number":
        if _NUMBER.fullmatch(text):
            return float(text), None
        return None, f"expected a number, got '{text}'"
    if field_type == "yearmonth":
        match = _YEARMONTH.fullmatch(text)
        if match and 1 <= int(match.group(2)) <= 12:
            return dt.date(int(match.group(1)), int(match.group(2)), 1), None
        return None, f"expected a year and month as YYYY-MM, got '{text}'"
    if _DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text), None
        except ValueError:
            pass
    return None, f"expected a date as YYYY-MM-DD, got '{text}'"


def _check_range(value: float, text: str, spec: FieldSpec) -> str | None:
    unit = f" {spec.unit}" if spec.unit else ""
    if not math.isfinite(value):
        return f"expected a finite number, got '{text}'"
    must_be_positive = ((spec.exclusive_minimum is not None and spec.exclusive_minimum >= 0)
                        or (spec.minimum is not None and spec.minimum > 0))
    if must_be_positive and value <= 0:
        return f"must be positive, got {text}"
    if spec.exclusive_minimum is not None and value <= spec.exclusive_minimum:
        return f"{text} must be greater than {spec.exclusive_minimum:g}{unit}"
    if spec.minimum is not None and value < spec.minimum:
        if _in_range(value * BILLION, spec):
            return f"{text} is below the minimum {spec.minimum:g}{unit}: looks like billions; expected raw count"
        return f"{text} is below the minimum {spec.minimum:g}{unit}"
    if spec.maximum is not None and value > spec.maximum:
        if _in_range(value / BILLION, spec):
            return (f"{text} is above the maximum {spec.maximum:g}{unit}: "
                    f"looks like a raw count; expected billions ({spec.unit})")
        return f"{text} is above the maximum {spec.maximum:g}{unit}"
    return None


def _in_range(value: float, spec: FieldSpec) -> bool:
    """Whether ``value`` fits a strictly positive range (a unit slip only shows against such a range)."""
    if spec.minimum is None or spec.minimum <= 0:
        return False
    above = spec.minimum is None or value >= spec.minimum
    below = spec.maximum is None or value <= spec.maximum
    return above and below


def _read_records(path: Path, table: ParsedTable) -> list[list[str]] | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        table.problems.append(Problem(table.file, None, None,
                                      f"file not found (resource '{table.spec.name}' in datapackage.json)"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        table.problems.append(Problem(table.file, None, None, f"not valid UTF-8 text (byte {error.start})"))
        return None
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for record in reader:
            records.append(record)
    except csv.Error as error:
        table.problems.append(Problem(table.file, len(records) + 1, None, f"malformed CSV: {error}"))
        return None
    if not records or not any(records[0]):
        expected = ", ".join(table.spec.field_names)
        table.problems.append(Problem(table.file, 1, None, f"no header row; expected columns: {expected}"))
        return None
    return records


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


def _check_uniqueness(table: ParsedTable) -> None:
    spec = table.spec
    keys = [(spec.primary_key, "duplicate primary key")] if spec.primary_key else []
    keys += [((f.name,), "duplicate value in a unique column") for f in spec.fields
             if f.unique and (f.name,) != spec.primary_key]
    for columns, what in keys:
        if any(name not in table.columns for name in columns):
            continue
        first_row: dict[tuple[Any, ...], int] = {}
        for offset, values in enumerate(zip(*(table.columns[name] for name in columns))):
            if any(value is None for value in values):
                continue
            row = offset + 2
            if values in first_row:
                shown = ", ".join(f"{name}={_show(value)}" for name, value in zip(columns, values))
                table.problems.append(Problem(table.file, row, "+".join(columns),
                                              f"{what} ({shown}); first seen on row {first_row[values]}"))
            else:
                first_row[values] = row


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
            shown = ", ".join(_show(value) for value in values)
            problems.append(Problem(table.file, offset + 2, column,
                                    f"'{shown}' not found in {target.spec.path} column "
                                    f"{'+'.join(fk.reference_fields)}"))
    return problems


def check_package(
    data_dir: Path, only: str | None = None
) -> tuple[PackageSpec | None, dict[str, ParsedTable], list[Problem]]:
    """Check the descriptor, bibliography and tables of ``data_dir``.

    With ``only``, problems are reported for that table alone (tables it references are
    still read, to check its foreign keys).
    """
    package, problems = load_package(data_dir)
    if package is None:
        return None, {}, problems
    if only is not None and only not in package.tables:
        known = ", ".join(package.tables)
        problems.append(Problem(str(package.descriptor_path), None, None,
                                f"no table named '{only}'; tables: {known}"))
        return package, {}, problems
    bib_keys, bib_problems = read_bibliography_keys(package.bibliography)
    problems += bib_problems
    wanted = package.tables if only is None else _with_references(package, only)
    parsed = {name: parse_table(package, package.tables[name], bib_keys if not bib_problems else None)
              for name in wanted}
    for name, table in parsed.items():
        if only is not None and name != only:
            continue
        problems += table.problems
        problems += check_foreign_keys(table, parsed)
    return package, parsed, problems


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
