"""Charts of chapter 1: GLUE score against inference compute, coloured by release date.

Inputs are frames prepared by :mod:`analysis.chapters.pretraining` (one row per model):

``points`` -- ``name``, ``family``, ``gflops`` (GFLOPs of inference per example), ``glue``
    (GLUE score, points), ``release_date`` (datetime), ``on_frontier`` (bool), ``residual``
    (GLUE points above the log-linear trend), ``source`` (citation text) and ``value_kind``
    (``exact``/``approximate``).
``trend`` -- the fitted log-linear trend (:class:`analysis.fit.TrendResult`); the charts draw it
    and its bootstrap band.
``adjusted`` / ``band`` -- for the efficiency chart: per model ``glue_adjusted`` (GLUE moved
    along the compute slope to the reference compute) and the time trend ``release_date``,
    ``fit``, ``lower``, ``upper`` (:func:`analysis.chapters.pretraining.time_band`).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from analysis.charts.axes import auto_log_ticks
from analysis.charts.layers import (
    FRONTIER_RING_WIDTH,
    Axis,
    frontier_layer,
    label_layer,
    phone_label_rows,
    place_labels,
    radial_candidates,
    ranked_residual_bars,
    step_polyline,
    trend_band,
    trend_layers,
)
from analysis.charts.source import with_source
from analysis.charts.theme import CATEGORICAL, HEIGHT, INK, MUTED_OPACITY, SEQUENTIAL_SCHEME, SHAPES, WIDTH
from analysis.fit import TrendResult
from analysis.text import format_value

LABEL_POSITIONS = radial_candidates((10, 16, 24, 34, 46, 60, 76, 95), directions=24)
"""Where a model's name may go around its point, nearest first (every name is drawn when one fits)."""
GRID_MARGIN = 1.4
"""The trend's band is drawn from this factor below the cheapest model to this factor above the dearest."""

GFLOPS_TITLE = "Inference compute per example (GFLOPs, log scale)"
GLUE_TITLE = "GLUE score (dev/test average, points)"


def _model_tooltip() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("name:N", title="Model"),
        alt.Tooltip("gflops:Q", title="GFLOPs per example", format=",.3~g"),
        alt.Tooltip("glue:Q", title="GLUE score", format=".1~f"),
        alt.Tooltip("release_date:T", title="Released", format="%b %Y"),
        alt.Tooltip("residual:Q", title="Above trend (GLUE points)", format="+.1f"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("value_kind:N", title="Values"),
    ]


def _x_axis(points: pd.DataFrame) -> tuple[alt.X, Axis]:
    low, high = points["gflops"].min() / 2.2, points["gflops"].max() * 1.5  # room for names left of the cheapest
    x = alt.X(
        "gflops:Q",
        title=GFLOPS_TITLE,
        scale=alt.Scale(type="log", domain=[low, high], nice=False),
        axis=alt.Axis(values=auto_log_ticks([low, high]), labelExpr="format(datum.value, '~g')"),
    )
    return x, Axis((low, high), log=True)


def _date_colour(dates: pd.Series) -> alt.Color:
    """Release date as colour, the scale spanning whole years so the legend labels each year the
    models span (``2018``, ``2019``, ``2020`` at 1 January), the first one included."""
    first, last = int(dates.min().year), int(dates.max().year)
    return alt.Color(
        "release_date:T",
        title="Release date",
        scale=alt.Scale(scheme=SEQUENTIAL_SCHEME, domain=[f"{first}-01-01", f"{last}-12-31"]),
        legend=alt.Legend(format="%Y", values=[alt.DateTime(year=year) for year in range(first, last + 1)],
                          gradientLength=120),
    )


def _y_domain(values: pd.Series, pad: float = 1.0) -> tuple[float, float]:
    return float(values.min() - pad), float(values.max() + pad)


def glue_vs_compute(points: pd.DataFrame, trend: TrendResult, level: float = 0.95) -> alt.LayerChart:
    """GLUE score against inference GFLOPs (log x): models coloured by release date, shaped by
    family, with the Pareto frontier and the log-linear ``trend`` and its ``level`` band.

    Interactions: click a family in the shape legend to highlight it; drag to pan, scroll to zoom.
    """
    curve = trend_band(trend, points["gflops"], GRID_MARGIN, level).rename(columns={"x": "gflops"})
    x, x_axis = _x_axis(points)
    y_low, y_high = _y_domain(pd.concat([points["glue"], curve["lower"], curve["upper"]]))
    y_scale = alt.Scale(domain=[y_low, y_high], nice=False, zero=False)
    frontier_points = points[points["on_frontier"]].sort_values("gflops")
    lines = [(curve["gflops"], curve["fit"]), step_polyline(frontier_points["gflops"], frontier_points["glue"])]
    data = pd.concat(
        [points.reset_index(drop=True),
         place_labels(points["gflops"], points["glue"], points["name"], x_axis, Axis((y_low, y_high)), lines=lines,
                      candidates=LABEL_POSITIONS, nearest=True,
                      rings=points["on_frontier"].to_numpy() * FRONTIER_RING_WIDTH)],
        axis=1,
    )
    family = alt.selection_point(fields=["family"], bind="legend", name="family_pick")
    zoom = alt.selection_interval(bind="scales", name="zoom")
    opacity = alt.condition(family, alt.value(1.0), alt.value(MUTED_OPACITY))
    base = alt.Chart(data).encode(x=x, y=alt.Y("glue:Q", title=GLUE_TITLE, scale=y_scale))
    dots = base.mark_point(filled=True, size=90, stroke=INK, strokeWidth=0.5).encode(
        color=_date_colour(points["release_date"]),
        shape=alt.Shape("family:N", title="Family (click to highlight)", scale=alt.Scale(range=list(SHAPES))),
        opacity=opacity,
        tooltip=_model_tooltip(),
    ).add_params(family, zoom)
    labels = label_layer(base, _model_tooltip(), opacity)
    y_axis = Axis((y_low, y_high))
    phone = phone_label_rows(points, points["on_frontier"], points["gflops"], points["glue"], points["name"], x_axis,
                             y_axis, lines=lines, candidates=LABEL_POSITIONS, nearest=True,
                             rings=points["on_frontier"].to_numpy() * FRONTIER_RING_WIDTH)
    phone_labels = label_layer(alt.Chart(phone).encode(x=x, y=alt.Y("glue:Q", scale=y_scale)), _model_tooltip(),
                               opacity)
    frontier = frontier_layer(
        data[data["on_frontier"]].sort_values("gflops"),
        x,
        alt.Y("glue:Q", scale=y_scale),
        [alt.Tooltip("name:N", title="Pareto-optimal model"), *_model_tooltip()[1:3], alt.Tooltip("source:N", title="Source")],
        point_size=90,
    )
    fit_tooltip = [
        alt.Tooltip("gflops:Q", title="GFLOPs per example", format=",.3~g"),
        alt.Tooltip("fit:Q", title="Trend GLUE", format=".1f"),
        alt.Tooltip("lower:Q", title=f"{level:.0%} band, low", format=".1f"),
        alt.Tooltip("upper:Q", title=f"{level:.0%} band, high", format=".1f"),
        alt.Tooltip("what:N", title="Line"),
    ]
    trend_marks = trend_layers(curve.assign(what="log-linear trend fitted here (bootstrap band)"), x, GLUE_TITLE,
                               fit_tooltip, level)
    chart = (
        alt.layer(trend_marks, frontier, dots, labels)
        .resolve_scale(color="independent", shape="independent")
        .properties(
            width=WIDTH,
            height=HEIGHT,
            description=(
                f"Scatter plot of GLUE score against inference compute per example for {len(points)} language models, "
                "log-scaled compute axis, points coloured by release date, shaped by family and labelled by name. A "
                f"dashed grey line with a shaded {level:.0%} band shows the log-linear trend; a vermilion step line "
                f"connects the {int(points['on_frontier'].sum())} Pareto-optimal models, each ringed in black."
            ),
        )
    )
    # on a phone only the Pareto-optimal models keep their names
    return with_source(chart, points, fits="this book", narrow={"labels": "hide", "phone_labels": phone_labels})


def residuals_by_model(points: pd.DataFrame) -> alt.LayerChart:
    """Each model's GLUE residual from the log-linear trend, ranked, coloured by release date."""
    order = points.sort_values("residual", ascending=False)["name"].tolist()
    chart = ranked_residual_bars(
        points,
        alt.X("residual:Q", title="GLUE points above (+) or below (−) the trend"),
        _date_colour(points["release_date"]),
        _model_tooltip(),
        bar_height=14,
        width=WIDTH - 140,
        step=20,
        description=(
            f"Bar chart ranking {len(points)} models by how many GLUE points they score above or below the log-linear "
            f"trend at their compute; the highest is {order[0]} and the lowest {order[-1]}."
        ),
    )
    return with_source(chart, points, fits="this book")


NAMED_IN_TEXT = ("ELMo", "GPT-1", "BERT-Base", "MobileBERT", "SqueezeBERT", "ELECTRA-Large")
"""The models chapter 1's text names around Figure 1.3 (its oldest and its compact and best models of 2020): the
names the figure keeps on a phone."""


def efficiency_over_time(
    adjusted: pd.DataFrame, band: pd.DataFrame, reference_gflops: float, level: float = 0.95,
    key_models: Sequence[str] = NAMED_IN_TEXT,
) -> alt.LayerChart:
    """GLUE at a fixed compute (each model moved along the fitted compute slope to
    ``reference_gflops``) against release date, labelled by name, with the fitted time trend
    ``band`` (``release_date``, ``fit``, ``lower``, ``upper``: a straight line in time). On a phone
    only the ``key_models`` (names) keep their labels."""
    first, last = adjusted["release_date"].min(), adjusted["release_date"].max()
    pad = (last - first) * 0.08 + pd.Timedelta(days=30)
    date_domain = (first - pad, last + 2.5 * pad)  # room for names right of the newest models
    x = alt.X(
        "release_date:T",
        title="Release date",
        # milliseconds since 1970: a domain every layer reads alike (the leaders' x2 would keep date strings unparsed)
        scale=alt.Scale(domain=[d.value // 1_000_000 for d in date_domain], nice=False),
        axis=alt.Axis(format="%Y", tickCount="year"),
    )
    reference = format_value(reference_gflops, 2)
    title = f"GLUE at {reference} GFLOPs per example (adjusted)"
    y_low, y_high = _y_domain(pd.concat([adjusted["glue_adjusted"], band["lower"], band["upper"]]))
    y = alt.Y("glue_adjusted:Q", title=title, scale=alt.Scale(domain=[y_low, y_high], nice=False, zero=False))
    tooltip = [
        alt.Tooltip("name:N", title="Model"),
        alt.Tooltip("release_date:T", title="Released", format="%b %Y"),
        alt.Tooltip("glue:Q", title="GLUE score (measured)", format=".1~f"),
        alt.Tooltip("gflops:Q", title="GFLOPs per example", format=",.3~g"),
        alt.Tooltip("glue_adjusted:Q", title=f"GLUE at {reference} GFLOPs", format=".1f"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("value_kind:N", title="Values"),
    ]
    data = adjusted.reset_index(drop=True)
    days = (data["release_date"] - date_domain[0]) / pd.Timedelta(days=1)
    date_axis = Axis((0.0, (date_domain[1] - date_domain[0]) / pd.Timedelta(days=1)))
    height = HEIGHT
    band_line = ((band["release_date"] - date_domain[0]) / pd.Timedelta(days=1), band["fit"])
    data = pd.concat(
        [data, place_labels(days, data["glue_adjusted"], data["name"], date_axis, Axis((y_low, y_high)), height=height,
                            lines=[band_line], candidates=LABEL_POSITIONS, nearest=True)],
        axis=1,
    )
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, size=80, color=CATEGORICAL[0])
        .encode(x=x, y=y, tooltip=tooltip)
    )
    labels = label_layer(alt.Chart(data).encode(x=x, y=y), tooltip)
    phone = phone_label_rows(adjusted, adjusted["name"].isin(key_models).to_numpy(), days, adjusted["glue_adjusted"],
                             adjusted["name"], date_axis, Axis((y_low, y_high)), height=height, lines=[band_line],
                             candidates=LABEL_POSITIONS, nearest=True)
    phone_labels = label_layer(alt.Chart(phone).encode(x=x, y=y), tooltip)
    curve_tooltip = [
        alt.Tooltip("release_date:T", title="Date", format="%b %Y"),
        alt.Tooltip("fit:Q", title="Trend GLUE", format=".1f"),
        alt.Tooltip("lower:Q", title=f"{level:.0%} band, low", format=".1f"),
        alt.Tooltip("upper:Q", title=f"{level:.0%} band, high", format=".1f"),
    ]
    trend = trend_layers(band[["release_date", "fit", "lower", "upper"]], x, title, curve_tooltip, level)
    chart = alt.layer(trend, dots, labels).properties(
        width=WIDTH,
        height=height,
        description=(
            f"Scatter plot of GLUE score adjusted to {reference} GFLOPs per example against release date for "
            f"{len(adjusted)} models, labelled by name, with a fitted linear time trend and its {level:.0%} bootstrap band."
        ),
    )
    return with_source(chart, adjusted, fits="this book", narrow={"labels": "hide", "phone_labels": phone_labels})
