"""Curated tables with provenance, their validation, and the fetched external dataset.

>>> from analysis.data import load_table, load_chinchilla_runs, check_data_dir
>>> models = load_table("models")          # validated against data/datapackage.json
>>> runs = load_chinchilla_runs()           # N (parameters), D (tokens), C (FLOP), loss (nats/token)
>>> [str(p) for p in check_data_dir()]     # "file:row:column: message" per problem
[]
"""

from analysis.data.descriptor import ExternalSpec
from analysis.data.external import FetchResult, external_dataset, fetch_chinchilla_runs, load_chinchilla_runs
from analysis.data.problems import DataValidationError, Problem
from analysis.data.tables import (
    DATA_DIR,
    ColumnDescription,
    TableDescription,
    check_data_dir,
    describe_tables,
    load_table,
)

__all__ = [
    "DATA_DIR",
    "ColumnDescription",
    "DataValidationError",
    "ExternalSpec",
    "FetchResult",
    "Problem",
    "TableDescription",
    "check_data_dir",
    "describe_tables",
    "external_dataset",
    "fetch_chinchilla_runs",
    "load_chinchilla_runs",
    "load_table",
]
