"""Load curated tables as typed DataFrames, and describe them for the book's data appendix."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import resources
from analysis.data.descriptor import TableSpec
from analysis.data.problems import DataValidationError, Problem
from analysis.data.validate import ParsedTable, check_package
from analysis.text import format_power, needs_power_of_ten

DATA_DIR = resources.data_dir()
"""The package's data folder (curated CSVs and ``datapackage.json``; ``data/`` of a checkout)."""


SMALL_COUNT_LIMIT = 2**31
"""Integer columns bounded by this (layers, bits) load as ``Int64``; larger counts (parameters,
tokens) load as ``float64`` so that products such as ``6 * N * D`` cannot overflow (float64 holds
every integer up to 2**53 exactly)."""


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """``data_dir`` as a path, defaulting to the package's data folder (:data:`DATA_DIR`)."""
    return DATA_DIR if data_dir is None else Path(data_dir)


def check_data_dir(data_dir: str | Path | None = None) -> list[Problem]:
    """Every problem in a data directory: descriptor, bibliography, each table, foreign keys.

    An empty list means the directory is valid.
    """
    _, _, problems = check_package(resolve_data_dir(data_dir))
    return problems


def load_table(name: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Validate table ``name`` (e.g. ``"models"``) and return it as a typed DataFrame.

    Columns follow the schema order. ``number`` columns and large ``integer`` counts
    (parameters, tokens) become ``float64``; small bounded integers (layers, bits) nullable
    ``Int64`` (see :data:`SMALL_COUNT_LIMIT`); ``yearmonth``/``date`` columns ``datetime64`` (a year-month is the
    first day of that month); missing values are ``<NA>``/``NaN``/``NaT``. Units are those of
    ``data/datapackage.json`` (raw counts of parameters and tokens, FLOP, GFLOP, MB, points).

    Raises :class:`DataValidationError` listing every problem when the table is invalid.
    """
    _, parsed, problems = check_package(resolve_data_dir(data_dir), only=name)
    if problems:
        raise DataValidationError(problems)
    return _to_frame(parsed[name])


def _to_frame(table: ParsedTable) -> pd.DataFrame:
    columns: dict[str, pd.Series] = {}
    for spec in table.spec.fields:
        values = table.columns.get(spec.name, [None] * table.n_rows)
        if spec.type == "integer" and spec.maximum is not None and spec.maximum <= SMALL_COUNT_LIMIT:
            columns[spec.name] = pd.Series(values, dtype="Int64")
        elif spec.type in ("integer", "number"):
            columns[spec.name] = pd.Series([float("nan") if v is None else v for v in values], dtype="float64")
        elif spec.type in ("yearmonth", "date"):
            columns[spec.name] = pd.to_datetime(pd.Series(values, dtype="object"))
        else:
            columns[spec.name] = pd.Series(values, dtype="object")
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class ColumnDescription:
    """One column as the data appendix shows it."""

    name: str
    type: str
    unit: str | None
    description: str
    required: bool
    constraints: str


@dataclass(frozen=True)
class TableDescription:
    """Provenance summary of one table: what it holds, where it comes from, how exact it is."""

    name: str
    title: str
    description: str
    path: str
    primary_key: tuple[str, ...]
    columns: tuple[ColumnDescription, ...]
    sources: tuple[str, ...]
    n_rows: int
    n_exact: int
    n_approximate: int


def describe_tables(data_dir: str | Path | None = None) -> list[TableDescription]:
    """Describe every table of the data package, in descriptor order.

    ``sources`` are the distinct bibliography keys cited by the table's rows (sorted), and
    ``n_exact``/``n_approximate`` count rows by ``value_kind``. Raises
    :class:`DataValidationError` if the data directory is invalid.
    """
    problems, descriptions = inspect_data_dir(data_dir)
    if problems:
        raise DataValidationError(problems)
    return descriptions


def inspect_data_dir(data_dir: str | Path | None = None) -> tuple[list[Problem], list[TableDescription]]:
    """Check a data directory and describe its tables in one reading of the files: the problems
    (when there are any, the descriptions are empty) and :func:`describe_tables`' result."""
    root = resolve_data_dir(data_dir)
    package, parsed, problems = check_package(root)
    if problems or package is None:
        return problems, []
    descriptions = []
    for name, spec in package.tables.items():
        table = parsed[name]
        kinds = Counter(table.columns.get("value_kind", []))
        descriptions.append(TableDescription(
            name=name,
            title=spec.title,
            description=spec.description,
            path=f"data/{spec.path}" if root.resolve() == DATA_DIR else str(root / spec.path),
            primary_key=spec.primary_key,
            columns=tuple(_describe_column(spec, field_name) for field_name in spec.field_names),
            sources=tuple(sorted({key for key in table.columns.get("source", []) if key})),
            n_rows=table.n_rows,
            n_exact=kinds.get("exact", 0),
            n_approximate=kinds.get("approximate", 0),
        ))
    return [], descriptions



def _bound(value: float) -> str:
    """A constraint's bound as the book writes numbers: ``1000``, ``10¹³``, ``2.5 × 10⁻⁷`` (no e-notation)."""
    return format_power(value, 15) if needs_power_of_ten(value) else f"{value:g}"

def _describe_column(spec: TableSpec, name: str) -> ColumnDescription:
    field = next(f for f in spec.fields if f.name == name)
    rules = []
    if field.exclusive_minimum is not None:
        rules.append(f">\u00a0{_bound(field.exclusive_minimum)}")
    if field.minimum is not None:
        rules.append(f">=\u00a0{_bound(field.minimum)}")
    if field.maximum is not None:
        rules.append(f"<=\u00a0{_bound(field.maximum)}")
    if field.enum is not None:
        rules.append("one of " + ", ".join(field.enum))
    if field.pattern is not None:
        rules.append(f"matches {field.pattern}")
    if field.unique:
        rules.append("unique")
    if field.bibliography_key:
        rules.append("key in references.bib")
    return ColumnDescription(
        name=name,
        type=field.type,
        unit=field.unit,
        description=field.description,
        required=field.required,
        constraints="; ".join(rules),
    )
