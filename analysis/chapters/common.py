"""What every chapter shares: interval settings, provenance text for tooltips, release dates."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis import resources
from analysis.bibliography import author_year
from analysis.text import LEVEL, bootstrap_interval, format_signed

__all__ = ["LEVEL", "N_BOOTSTRAP", "SEED", "approximate_reason", "date_at_decimal_year", "decimal_year", "fixed",
           "fixed_with_interval", "is_read_off_figure", "month_start", "provenance_columns", "source_text",
           "value_kind_text"]

N_BOOTSTRAP = 2000
"""Bootstrap resamples of the models behind every interval of chapters 1 to 3."""
SEED = 0
"""Seed of every bootstrap of the book, so each build prints the same numbers."""

EXACT_TEXT = "exact (from a table or text)"
"""How tooltips spell out an exact row."""
READ_OFF_TEXT = "read off a figure"
"""Why most approximate rows are approximate, as tooltips and the preface say it."""
_READ_OFF = re.compile(r"\bread off\b", re.IGNORECASE)
_DERIVATION = re.compile(r"\b(taken from|derived from|computed from)\b", re.IGNORECASE)


TOOLTIP_DETAIL_LIMIT = 40
"""Characters of a row's ``source_detail`` a tooltip shows (the data appendix has the whole text)."""


def source_text(key: str, detail: str) -> str:
    """Tooltip text for a row's provenance, short enough for a compact tooltip: the author-year
    citation and the first clause of the detail (``"Yang et al. 2024, Table 16"``)."""
    cited = author_year(key, resources.bibliography())
    first = re.split(r"\s*[,;:(]\s*", detail.strip(), maxsplit=1)[0] if detail else ""
    if "et al" in first:  # the detail starts by naming the paper again
        first = ""
    if len(first) > TOOLTIP_DETAIL_LIMIT:
        first = first[: TOOLTIP_DETAIL_LIMIT].rsplit(" ", 1)[0] + "…"
    return f"{cited}, {first}" if first else cited


def is_read_off_figure(detail: str) -> bool:
    """Whether a row's ``source_detail`` says its values were read off a figure."""
    return bool(_READ_OFF.search(detail))


def approximate_reason(detail: str) -> str:
    """Why an approximate row is approximate, from its ``source_detail``: ``"read off a figure"``, or the
    clause of the detail that says where a value was taken or derived from (``"inference GFLOPs taken from
    BERT-Large"``), or, when the detail names neither, a pointer to the data appendix."""
    if is_read_off_figure(detail):
        return READ_OFF_TEXT
    clauses = [c.strip() for c in re.split(r"[;,]", detail)]
    derived = [c for c in clauses if _DERIVATION.search(c)]
    return derived[-1] if derived else "see its source detail in the data appendix"


def value_kind_text(kind: str, detail: str) -> str:
    """A row's ``value_kind`` in words, with the reason for an approximate one: ``"exact (from a table or
    text)"``, ``"approximate (read off a figure)"``, ``"approximate (inference GFLOPs taken from BERT-Large)"``."""
    if kind == "approximate":
        return f"approximate ({approximate_reason(detail)})"
    return EXACT_TEXT if kind == "exact" else kind


def provenance_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``source`` and ``value_kind`` as readable text, the raw values kept as
    ``source_key`` and ``raw_value_kind``."""
    return frame.assign(
        source=[source_text(k, d) for k, d in zip(frame["source"], frame["source_detail"].fillna(""), strict=True)],
        value_kind=[value_kind_text(kind, detail) for kind, detail
                    in zip(frame["value_kind"], frame["source_detail"].fillna(""), strict=True)],
        source_key=frame["source"],
        raw_value_kind=frame["value_kind"],
    )


def month_start(values: pd.Series) -> pd.Series:
    """Release months (``YYYY-MM...``) as datetimes on the first of the month."""
    return pd.to_datetime(values.astype(str).str.slice(0, 7), format="%Y-%m")


def decimal_year(dates: pd.Series) -> np.ndarray:
    """Release month as a decimal year, at the middle of the month (2020-03 -> 2020.208)."""
    dates = pd.to_datetime(dates)
    return (dates.dt.year + (dates.dt.month - 0.5) / 12).to_numpy(dtype=float)


def date_at_decimal_year(years: np.ndarray) -> pd.DatetimeIndex:
    """Dates for decimal years, linear in time (a mean Gregorian year per unit), shifted by half a
    month so that a release month's decimal year (its middle, :func:`decimal_year`) falls on the
    first of that month, within two days, where the charts draw that month's models.

    A line drawn at these dates is straight in time and passes through the models at the dates
    they are drawn at. ``years`` has shape ``(n,)``; returns ``n`` dates.
    """
    shifted = np.asarray(years, dtype=float) - 1 / 24 - _EPOCH_YEAR
    return pd.DatetimeIndex(pd.Timestamp(f"{_EPOCH_YEAR}-01-01") + pd.to_timedelta(shifted * _DAYS_PER_YEAR, unit="D"))


_EPOCH_YEAR = 2000
_DAYS_PER_YEAR = 365.2425


def fixed(value: float, decimals: int = 1) -> str:
    """``value`` with a fixed number of ``decimals`` and a true minus sign: ``-7.25 -> "−7.3"``."""
    return format_signed(value, decimals=decimals)


def fixed_with_interval(value: float, low: float, high: float, unit: str = "", decimals: int = 1) -> str:
    """``"3.0 points (95% bootstrap interval −7.3 to 14.3)"``: estimate and interval to the same number of decimals."""
    unit_text = f" {unit}" if unit else ""
    return f"{fixed(value, decimals)}{unit_text} ({bootstrap_interval(low, high, lambda v: fixed(v, decimals))})"
