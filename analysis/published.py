"""Published scaling-law coefficients (``data/scaling_laws.csv``) as law objects keyed by ``law_id``.

The one reader of that table: the chapters and ``atlas report`` take every published exponent
and parameter set from :func:`published_laws`::

    laws = published_laws()
    laws["hoffmann2022_approach3"].law.exponents["a"]        # from the published E, A, B, alpha, beta
    laws["hoffmann2022_approach1"].coefficients["a"]         # an exponent as printed (Table 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from analysis.data import load_table
from analysis.fit.laws import PARAMETER_NAMES, ParametricLaw


@dataclass(frozen=True)
class PublishedLaw:
    """One ``law_id`` of the ``scaling_laws`` table.

    Attributes:
        law_id: e.g. ``hoffmann2022_approach3``.
        approach: the table's description, e.g. ``Hoffmann et al. (2022) Approach 3: parametric loss ...``.
        coefficients: every published coefficient by name (``a``, ``b``, ``E``, ``alpha``, ...).
        std_errors: published standard errors, for the coefficients that have one.
        intervals: published intervals ``(low, high)``, for the coefficients that have one, and
            ``interval_kinds`` what each is (e.g. Hoffmann et al.'s 10th-90th bootstrap percentiles).
        source, source_detail: bibliography key and where in the paper (of the law's parameters
            when it has all five, else of its first coefficient).
    """

    law_id: str
    approach: str
    coefficients: dict[str, float]
    std_errors: dict[str, float]
    source: str
    source_detail: str
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    interval_kinds: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Authors and year: ``Hoffmann et al. (2022) Approach 3: ...`` -> ``Hoffmann et al. (2022)``."""
        match = re.match(r"^.*?\(\d{4}\)", self.approach)
        return match.group(0) if match else self.description

    @property
    def description(self) -> str:
        """The study and method, without the detail after a colon: ``Hoffmann et al. (2022) Approach 3``."""
        return self.approach.split(":")[0]

    @property
    def citation(self) -> str:
        """Source key and location, e.g. ``besiroglu2024replication, Table 1``."""
        return f"{self.source}, {self.source_detail}"

    @property
    def is_parametric(self) -> bool:
        """Whether the law gives all five parameters of ``L(N, D)``."""
        return set(PARAMETER_NAMES) <= set(self.coefficients)

    @property
    def law(self) -> ParametricLaw:
        """The published ``L(N, D)`` (raises :class:`KeyError` for a law without all five parameters)."""
        if not self.is_parametric:
            missing = sorted(set(PARAMETER_NAMES) - set(self.coefficients))
            raise KeyError(f"{self.law_id} publishes no parametric loss (missing {', '.join(missing)})")
        return ParametricLaw.from_params(self.coefficients)


def published_laws(table: pd.DataFrame | None = None) -> dict[str, PublishedLaw]:
    """Every law of a ``scaling_laws`` table (long format, one row per coefficient), in table order.

    Args:
        table: rows ``law_id, approach, coefficient, value, std_error, source, source_detail``;
            default: the package's validated ``scaling_laws`` table.
    """
    table = load_table("scaling_laws") if table is None else table
    laws = {}
    for law_id, rows in table.groupby("law_id", sort=False):
        rows = rows.set_index("coefficient")
        parametric = set(PARAMETER_NAMES) <= set(rows.index)
        cited = rows.loc[list(PARAMETER_NAMES)] if parametric else rows
        laws[str(law_id)] = PublishedLaw(
            law_id=str(law_id),
            approach=str(rows["approach"].iloc[0]),
            coefficients={str(name): float(value) for name, value in rows["value"].items()},
            std_errors={str(name): float(error) for name, error in rows["std_error"].items() if pd.notna(error)},
            source=str(cited["source"].iloc[0]),
            source_detail=str(cited["source_detail"].iloc[0]),
            intervals={str(name): (float(row["interval_low"]), float(row["interval_high"]))
                       for name, row in rows.iterrows() if pd.notna(row.get("interval_low"))},
            interval_kinds={str(name): str(row["interval_kind"])
                            for name, row in rows.iterrows() if pd.notna(row.get("interval_low"))},
        )
    return laws


def published_law(law_id: str) -> PublishedLaw:
    """One law of the package's table by id (``KeyError`` naming the table when absent)."""
    laws = published_laws()
    if law_id not in laws:
        raise KeyError(f"no law {law_id!r} in scaling_laws.csv")
    return laws[law_id]
