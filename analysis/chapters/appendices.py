"""The appendices: the methods' numbers, the data tables' descriptions, and what the book was built with."""

from __future__ import annotations

import datetime
import functools
import hashlib
import os
import platform
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import pandas as pd
from IPython.display import Markdown

from analysis import resources
from analysis.bibliography import author_year
from analysis.chapters import porian
from analysis.chapters.common import N_BOOTSTRAP, SEED, approximate_reason, is_read_off_figure
from analysis.chapters.epoch import (
    EXCLUDE_TOP_LOSS,
    HUBER_DELTA,
    ISOFLOP_MIN_RUNS,
    EpochFits,
    epoch_fits,
    isoflop_tolerance_dex,
)
from analysis.data import DATA_DIR, TableDescription, describe_tables, external_dataset, load_table
from analysis.fit.isoflop import (
    DETECTION_CONTRAST,
    DETECTION_MIN_RUNS,
    GRID_POINTS_PER_INTERVAL,
    SAME_SIZE_DEX,
    SPREAD_FLOOR,
)
from analysis.published import published_laws
from analysis.tables import markdown_table
from analysis.text import LEVEL, en_dash_ranges

BUILD_PACKAGES = ("scaling-atlas", "numpy", "scipy", "pandas", "altair", "vl-convert-python", "jinja2", "nbclient",
                  "ipykernel", "pypandoc-binary", "typst")
"""The packages whose versions the reproducibility appendix lists."""

__all__ = ["DETECTION_CONTRAST", "DETECTION_MIN_RUNS", "EXCLUDE_TOP_LOSS", "HUBER_DELTA", "ISOFLOP_MIN_RUNS", "LEVEL",
           "N_BOOTSTRAP", "SEED", "Interpolation",
           "Methods", "approximate_rows", "approximate_section", "build_date", "checksums_table", "columns_frame",
           "data_checksums", "data_tables", "hoffmann_parameter_sets", "interpolation", "methods", "package_versions",
           "provenance_table", "runs_section", "table_sections", "versions_table"]


@dataclass(frozen=True)
class Methods:
    """The numbers the methods appendix prints about the fits of chapters 4 and 5."""

    fits: EpochFits
    tolerance_dex: float

    @property
    def n_isoflop_budgets(self) -> int:
        """Budgets the IsoFLOP fit (Approach 2) uses."""
        return int(self.fits.isoflop.budgets["included"].sum())

    @property
    def n_envelope_budgets(self) -> int:
        """Budget clusters of the envelope fit (Approach 1 analogue)."""
        return int(self.fits.envelope.budgets["included"].sum())

    @property
    def table2_interval_kind(self) -> str:
        """What Hoffmann et al.'s Table 2 intervals are, as the data table records it, with en dashes in its ranges
        (``"10th–90th percentile, ..."``)."""
        return en_dash_ranges(published_laws()["hoffmann2022_approach1"].interval_kinds["a"])

    @property
    def left_out(self) -> pd.DataFrame:
        """The IsoFLOP budgets left out (``C``, ``n_runs``, ``reason``, ...)."""
        budgets = self.fits.isoflop.budgets
        return budgets[~budgets["included"]]


@dataclass(frozen=True)
class Interpolation:
    """The settings of the IsoFLOP estimator chapter 6 runs (Porian et al.'s procedure), as the methods appendix
    prints them.

    Attributes:
        tolerance_dex: half-width of a budget's cluster in ``log10 C`` (decades).
        min_runs: runs a budget needs.
        same_size_dex: sizes closer than this in ``log10 N`` (decades) count as one size.
        grid_points: grid points per interval between adjacent sampled sizes on which the spline is searched.
        spread_floor: least spread of a budget's resampled ``log10 N_opt``, as a share of the mean spacing of its
            sampled sizes in ``log10 N``.
        n_bootstrap, seed: the noise bootstrap's resamples and seed.
        loss_noise: dataset name -> standard deviation of the noise added to every loss (nats/token).
    """

    tolerance_dex: float
    min_runs: int
    same_size_dex: float
    grid_points: int
    spread_floor: float
    n_bootstrap: int
    seed: int
    loss_noise: dict[str, float]


def interpolation() -> Interpolation:
    """Chapter 6's estimator settings, read off :func:`analysis.chapters.porian.estimator` (the one it fits with)."""
    fits = {name: porian.estimator(code, porian.N_BOOTSTRAP, SEED) for code, name in porian.DATASETS.items()}
    first = next(iter(fits.values()))
    return Interpolation(
        tolerance_dex=first.tolerance_dex, min_runs=first.min_runs, same_size_dex=SAME_SIZE_DEX,
        grid_points=GRID_POINTS_PER_INTERVAL, spread_floor=SPREAD_FLOOR, n_bootstrap=first.n_bootstrap,
        seed=int(first.seed or 0), loss_noise={name: float(fit.loss_noise or 0.0) for name, fit in fits.items()},
    )


HOFFMANN_PRINTED, HOFFMANN_UNROUNDED = "hoffmann2022_approach3", "hoffmann2022_approach3_unrounded"
"""The two sets of Hoffmann et al.'s Approach 3 in ``scaling_laws.csv``: as printed, and before rounding."""


def hoffmann_parameter_sets() -> tuple[dict[str, str], dict[str, str]]:
    """Hoffmann et al.'s Approach 3 parameters ``E``, ``A``, ``B``, ``alpha``, ``beta`` as printed and before
    rounding, each as the data table holds it (no digits added or dropped)."""
    laws = published_laws()
    sets = []
    for law_id in (HOFFMANN_PRINTED, HOFFMANN_UNROUNDED):
        coefficients = laws[law_id].coefficients
        sets.append({name: f"{coefficients[name]:g}" for name in ("E", "A", "B", "alpha", "beta")})
    return sets[0], sets[1]


@functools.cache
def methods() -> Methods:
    """The methods appendix (cached; the same fits as chapters 4 and 5)."""
    return Methods(epoch_fits(), isoflop_tolerance_dex())


def data_tables() -> list[TableDescription]:
    """Machine-readable descriptions of every curated table (:func:`analysis.data.describe_tables`)."""
    return describe_tables()


def provenance_table() -> Markdown:
    """One row per curated table: its title, rows, and how many of them are exact and approximate."""
    frame = pd.DataFrame([{"title": t.title, "file": f"{t.name}.csv", "rows": t.n_rows, "exact": t.n_exact,
                           "approximate": t.n_approximate} for t in data_tables()])
    return markdown_table(frame, columns={"title": "Table", "file": "File", "rows": "Rows", "exact": "Exact",
                                          "approximate": "Approximate"},
                          formats={k: lambda v: f"{v:,}" for k in ("rows", "exact", "approximate")})


def _row_key(table: TableDescription, row: pd.Series) -> str:
    """A row named by its primary key, with the unit of a numeric key column (``XTC-BERT*, 8 MB``)."""
    units = {c.name: c.unit for c in table.columns}
    parts = []
    for column in table.primary_key:
        value = row[column]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        unit = units.get(column) or ""
        parts.append(f"{value} {unit}" if unit and not isinstance(value, str) else str(value))
    return ", ".join(parts)


@functools.cache
def approximate_rows() -> pd.DataFrame:
    """Every approximate row of the curated tables: ``table`` (file), ``row`` (its primary key), ``source``
    (author-year), ``source_detail``, ``reason`` (:func:`analysis.chapters.common.approximate_reason`) and
    ``read_off`` (whether its values were read off a figure); in table order."""
    rows = []
    for table in data_tables():
        if not table.n_approximate:
            continue
        frame = load_table(table.name)
        for _, row in frame[frame["value_kind"] == "approximate"].iterrows():
            detail = str(row["source_detail"])
            rows.append({"table": f"{table.name}.csv", "row": _row_key(table, row),
                         "source": author_year(row["source"], resources.bibliography()), "source_detail": detail,
                         "reason": approximate_reason(detail), "read_off": is_read_off_figure(detail)})
    return pd.DataFrame(rows, columns=["table", "row", "source", "source_detail", "reason", "read_off"])


def approximate_section() -> Markdown:
    """The data appendix's section on approximate rows: a heading, their counts, and one row each with its
    table, key, source and where in the source its values are."""
    rows = approximate_rows()
    header = (
        f"## Approximate rows {{#sec-approximate-rows}}\n\nThe curated tables hold {len(rows):,} approximate rows, "
        f"{int(rows['read_off'].sum()):,} of them read off a figure. For each of the others, the last column says "
        "where its values come from, and so why they are approximate.\n\n"
    )
    return Markdown(header + markdown_table(
        rows, columns={"table": "File", "row": "Row", "source": "Source", "source_detail": "Where in the source"},
        widths={"table": 22, "row": 22, "source": 18, "source_detail": 38}).data)


def columns_frame(table: TableDescription) -> pd.DataFrame:
    """A table's columns as rows: ``column``, ``type``, ``unit``, ``description``."""
    return pd.DataFrame([
        {"column": c.name, "type": c.type, "unit": c.unit or "",
         "description": c.description + (f" ({c.constraints})" if c.constraints else "")}
        for c in table.columns
    ])


def build_date() -> str:
    """The build date (UTC, ``YYYY-MM-DD``): ``SOURCE_DATE_EPOCH`` when set, else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC) if epoch else datetime.datetime.now(tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d")


def data_checksums() -> pd.DataFrame:
    """SHA-256 of every file in the data folder (the curated data, not the external cache)."""
    rows = []
    for path in sorted(DATA_DIR.glob("*")):
        if path.is_file():
            rows.append({"file": f"data/{path.name}", "bytes": path.stat().st_size,
                         "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    return pd.DataFrame(rows)


def package_versions(names: tuple[str, ...] = BUILD_PACKAGES) -> pd.DataFrame:
    """Installed versions of the packages the book is built with."""
    rows = [{"package": "python", "version": platform.python_version()}]
    for name in names:
        try:
            rows.append({"package": name, "version": version(name)})
        except PackageNotFoundError:
            rows.append({"package": name, "version": "not installed"})
    return pd.DataFrame(rows)


def versions_table() -> Markdown:
    """The package versions as a table."""
    return markdown_table(package_versions(), columns={"package": "Package", "version": "Version"})


def checksums_table() -> Markdown:
    """The data files' sizes and SHA-256 as a table."""
    return markdown_table(data_checksums(), columns={"file": "File", "bytes": "Bytes", "sha256": "SHA-256"},
                          formats={"bytes": lambda v: f"{v:,}"}, widths={"file": 30, "bytes": 10, "sha256": 60})


RUNS_COLUMNS = pd.DataFrame([
    {"column": "Model Size", "loaded as": "N", "unit": "parameters", "description": "Model size as plotted."},
    {"column": "Training FLOP", "loaded as": "C", "unit": "FLOP", "description": "Training compute as plotted."},
    {"column": "loss", "loaded as": "loss", "unit": "nats/token", "description": "Final training loss as plotted."},
    {"column": "(derived)", "loaded as": "D", "unit": "tokens", "description": "Training tokens, D = C / (6 N)."},
    {"column": "x, y, color, hex_color", "loaded as": "(not used)", "unit": "",
     "description": "SVG coordinates and marker colour of the extraction."},
])
"""The columns of the external runs file and how :func:`analysis.data.load_chinchilla_runs` loads them."""


def _citation_group(keys: tuple[str, ...] | list[str]) -> str:
    """Bibliography keys as one pandoc citation group: ``[@a; @b]`` reads "(A 2020; B 2021)"."""
    return "[" + "; ".join(f"@{key}" for key in keys) + "]"


def table_section(table: TableDescription) -> str:
    """One curated table in the data appendix: heading, description, download link, sources, columns."""
    link = table.path if table.path.startswith("data/") else f"data/{table.path}"
    header = (
        f"## {table.title}\n\n{table.description}\n\n"
        f"[Download {table.name}.csv](../{link}) · {table.n_rows:,} rows: "
        f"{table.n_exact:,} exact, {table.n_approximate:,} approximate · sources: {_citation_group(table.sources)}\n\n"
    )
    return header + markdown_table(
        columns_frame(table),
        columns={"column": "Column", "type": "Type", "unit": "Unit", "description": "Description"},
        widths={"column": 22, "type": 10, "unit": 12, "description": 56},
    ).data


def table_sections() -> Markdown:
    """Every curated table's section of the data appendix."""
    return Markdown("\n\n".join(table_section(t) for t in data_tables()))


def runs_section() -> Markdown:
    """The data appendix's section on the external training runs."""
    runs = external_dataset()
    header = (
        f"## {runs.title} {{#sec-external-runs}}\n\n{runs.description} Every value is approximate: it was recovered from "
        f"the positions of the markers in a published figure. {runs.licence_note}\n\n"
        f"[Download {runs.mirror_name} from its source]({runs.url}) · {runs.rows} rows, all approximate · "
        f"SHA-256 `{runs.sha256}` · sources: {_citation_group(runs.citations)}\n\n"
    )
    return Markdown(header + markdown_table(
        RUNS_COLUMNS, columns={"column": "Column", "loaded as": "Loaded as", "unit": "Unit", "description": "Description"},
        widths={"column": 22, "loaded as": 12, "unit": 12, "description": 54},
    ).data)
