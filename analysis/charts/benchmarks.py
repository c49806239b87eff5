"""Charts of chapter 3: average benchmark score against non-embedding parameters.

Inputs are frames prepared by :mod:`analysis.chapters.benchmarks` (one row per model):

``points`` -- ``name``, ``family``, ``family_group`` (the colour: the paper's own model, families
    with several models, :data:`OTHER_FAMILIES`), ``featured`` (the paper's own model), ``organisation``, ``parameters`` (non-embedding
    parameters, count), ``score`` (average benchmark score, points), ``residual`` (points above
    the trend), ``effective_text`` (the size the trend needs for the model's score, or why it is
    not determined), ``source`` and ``value_kind``.
``trend`` -- the fitted log-linear trend (:class:`analysis.fit.TrendResult`), drawn with its band.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analysis.charts.axes import auto_log_ticks, count_label_expr, si_label_expr
from analysis.charts.layers import Axis, label_layer, phone_label_rows, place_labels, ranked_residual_bars, trend_band, trend_layers
from analysis.charts.source import with_source
from analysis.charts.theme import CATEGORICAL, FIT_COLOR, HEIGHT, INK, MUTED_OPACITY, OTHER_COLOR, WIDTH
from analysis.fit import TrendResult
from analysis.text import count, format_count, format_si, format_value

OTHER_FAMILIES = "other families"
"""The colour group of models whose family has only one model in the figure (grey)."""
FEATURED_COLOR = CATEGORICAL[5]
"""The paper's own model (vermilion), in the scatter, the residuals and the effective-size chart."""
FAMILY_PALETTE = tuple(c for c in CATEGORICAL[:-1] if c not in (FEATURED_COLOR, CATEGORICAL[1]))
"""Colours of the families with several models: neither the featured vermilion nor the orange
next to it, and not black (kept for fits)."""
GRID_MARGIN = 1.3
"""The trend's band is drawn from this factor below the smallest model to this factor above the largest."""

PARAMS_TITLE = "Non-embedding parameters (log scale)"
SCORE_TITLE = "Average benchmark score (points)"


def _tooltip() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("name:N", title="Model"),
        alt.Tooltip("family:N", title="Family"),
        alt.Tooltip("organisation:N", title="Organisation"),
        alt.Tooltip("parameters_text:N", title="Non-embedding parameters"),
        alt.Tooltip("score:Q", title="Average benchmark score", format=".2f"),
        alt.Tooltip("residual:Q", title="Above trend (points)", format="+.1f"),
        alt.Tooltip("effective_text:N", title="Effective size (95% interval)"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("value_kind:N", title="Values"),
    ]


def _family_colour(points: pd.DataFrame, title: str = "Family (click to highlight)") -> alt.Color:
    """The paper's own model first in its own colour, then the families with several models, the rest grey."""
    featured = list(dict.fromkeys(points.loc[points["featured"], "family_group"]))
    groups = sorted(g for g in points["family_group"].unique() if g not in (OTHER_FAMILIES, *featured))
    domain = [*featured, *groups, OTHER_FAMILIES]
    palette = [FEATURED_COLOR] * len(featured) + list(FAMILY_PALETTE[: len(groups)]) + [OTHER_COLOR]
    return alt.Color("family_group:N", title=title, scale=alt.Scale(domain=domain, range=palette))


def _log_x(field: str, values: pd.Series, title: str = PARAMS_TITLE, pad: float = 1.4) -> tuple[alt.X, Axis]:
    low, high = float(values.min()) / pad, float(values.max()) * pad
    ticks = auto_log_ticks([low, high])
    x = alt.X(
        f"{field}:Q",
        title=title,
        scale=alt.Scale(type="log", domain=[low, high], nice=False),
        axis=alt.Axis(values=ticks, labelExpr=si_label_expr()),
    )
    return x, Axis((low, high), log=True)


def score_vs_parameters(points: pd.DataFrame, trend: TrendResult, level: float = 0.95) -> alt.LayerChart:
    """Average benchmark score against non-embedding parameters (log x) with the log-linear
    ``trend`` and its ``level`` band; colour = family, the paper's own model apart (click the
    legend to highlight one); drag to pan, scroll to zoom."""
    curve = trend_band(trend, points["parameters"], GRID_MARGIN, level).rename(columns={"x": "parameters"})
    curve["parameters_text"] = [count(v, 2) for v in curve["parameters"]]
    x, x_axis = _log_x("parameters", pd.concat([points["parameters"], curve["parameters"]]), pad=1.0)
    values = pd.concat([points["score"], curve["lower"], curve["upper"]])
    y_low, y_high = float(values.min() - 2), float(values.max() + 2)
    y = alt.Y("score:Q", title=SCORE_TITLE, scale=alt.Scale(domain=[y_low, y_high], nice=False, zero=False))
    data = points.reset_index(drop=True)
    data = pd.concat([data, place_labels(data["parameters"], data["score"], data["name"], x_axis, Axis((y_low, y_high)),
                                          height=HEIGHT + 40, lines=[(curve["parameters"], curve["fit"])],
                                          nearest=True)], axis=1)
    pick = alt.selection_point(fields=["family_group"], bind="legend", name="family_pick")
    zoom = alt.selection_interval(bind="scales", name="zoom")
    opacity = alt.condition(pick, alt.value(1.0), alt.value(MUTED_OPACITY))
    base = alt.Chart(data).encode(x=x, y=y)
    dots = base.mark_point(filled=True, size=90, stroke=INK, strokeWidth=0.5).encode(
        color=_family_colour(points),
        opacity=opacity,
        tooltip=_tooltip(),
    ).add_params(pick, zoom)
    labels = label_layer(base, _tooltip(), opacity)
    phone = phone_label_rows(points, points["featured"].to_numpy(dtype=bool), points["parameters"], points["score"],
                             points["name"], x_axis, Axis((y_low, y_high)), height=HEIGHT + 40,
                             lines=[(curve["parameters"], curve["fit"])], nearest=True)
    phone_labels = label_layer(alt.Chart(phone).encode(x=x, y=y), _tooltip(), opacity)
    fit_tooltip = [
        alt.Tooltip("parameters_text:N", title="Non-embedding parameters"),
        alt.Tooltip("fit:Q", title="Trend score", format=".1f"),
        alt.Tooltip("lower:Q", title=f"{level:.0%} band, low", format=".1f"),
        alt.Tooltip("upper:Q", title=f"{level:.0%} band, high", format=".1f"),
        alt.Tooltip("what:N", title="Line"),
    ]
    trend_marks = trend_layers(curve.assign(what="log-linear trend fitted here (bootstrap band)"), x, SCORE_TITLE,
                               fit_tooltip, level)
    chart = alt.layer(trend_marks, dots, labels).properties(
        width=WIDTH,
        height=HEIGHT + 40,
        description=(
            f"Scatter plot of average benchmark score against non-embedding parameters (log scale) for {len(points)} "
            f"language models, coloured by family (the paper's own model in vermilion) and labelled by name, with a "
            f"log-linear trend line and its {level:.0%} band."
        ),
    )
    # one legend column on a phone: "Memory³-2B-SFT (Yang et al.)" is cut in two; only the paper's own model keeps its name
    return with_source(chart, points, fits="this book",
                       narrow={"labels": "hide", "phone_labels": phone_labels, "legend_columns": 1})


def residuals_ranked(points: pd.DataFrame) -> alt.LayerChart:
    """Each model's distance from the trend in benchmark points, ranked from best to worst; click
    a family in the legend to highlight its bars."""
    order = points.sort_values("residual", ascending=False)["name"].tolist()
    pick = alt.selection_point(fields=["family_group"], bind="legend", name="family_pick_residuals")
    chart = ranked_residual_bars(
        points,
        alt.X("residual:Q", title="Points above (+) or below (−) the trend at the model’s size",
              axis=alt.Axis(tickCount=6, labelOverlap=True)),
        _family_colour(points),
        _tooltip(),
        highlight=pick,
        bar_height=13,
        width=WIDTH - 160,
        step=18,
        description=(
            f"Bar chart ranking {len(points)} models by their benchmark score above or below the log-linear trend; "
            f"{order[0]} is furthest above and {order[-1]} furthest below."
        ),
    )
    return with_source(chart, points, fits="this book", narrow={"legend_columns": 1})


def _slope_band_layers(interval: tuple[float, float], level: float, slope_estimate: float, x_high: float,
                       x_scale: alt.Scale, x_title: str) -> tuple[alt.Chart, alt.Chart]:
    """The slope's bootstrap interval as a shaded band (its part above zero) and its label."""
    low, high = interval
    interval_text = f"{level:.0%} bootstrap interval of the slope: {low:.1f} to {high:.1f} points per tenfold"
    band_frame = pd.DataFrame({
        "from": [max(low, 0.0)], "to": [min(high, x_high)], "what": [interval_text],
        "note": ["continues below zero, where no size reaches the score" if low <= 0 else "entirely above zero"],
        "label": [f"{level:.0%} interval of the slope" + (f" (continues to {low:.1f})".replace("-", "−") if low <= 0 else "")],
    })
    band = alt.Chart(band_frame).mark_rect(color=FIT_COLOR, opacity=0.12).encode(
        x=alt.X("from:Q", scale=x_scale, title=x_title), x2="to:Q",
        tooltip=[alt.Tooltip("what:N", title="Shaded"), alt.Tooltip("note:N", title="Lower end")],
    )
    band_label = alt.Chart(band_frame.assign(at=slope_estimate)).mark_text(
        align="left", baseline="bottom", dx=8, color=INK, fontSize=12
    ).encode(
        x=alt.X("at:Q", scale=x_scale, title=x_title),
        y=alt.value(HEIGHT - 40),
        text="label:N",
        tooltip=[alt.Tooltip("what:N", title="Shaded"), alt.Tooltip("note:N", title="Lower end")],
    )
    return band, band_label


def _actual_size_layers(model_name: str, actual_parameters: float, y_scale: alt.Scale, y_title: str,
                        y_axis: alt.Axis, source: str = "") -> tuple[alt.Chart, alt.Chart]:
    """A horizontal rule at the model's actual size and its label at the right edge."""
    actual = pd.DataFrame({
        "size": [actual_parameters], "text": [f"{model_name}: {format_si(actual_parameters)} non-embedding parameters"],
        "what": [f"actual size ({source})" if source else "actual size"],
    })
    actual_rule = alt.Chart(actual).mark_rule(color=FEATURED_COLOR, strokeWidth=1.5).encode(
        y=alt.Y("size:Q", scale=y_scale, title=y_title, axis=y_axis),
        tooltip=[alt.Tooltip("text:N", title="Model"), alt.Tooltip("what:N", title="Line")],
    )
    actual_label = alt.Chart(actual).mark_text(
        align="right", baseline="bottom", dx=-4, dy=-3, color=FEATURED_COLOR, fontSize=12
    ).encode(
        x=alt.value(WIDTH - 4),
        y=alt.Y("size:Q", scale=y_scale, title=y_title, axis=y_axis),
        text="text:N",
        tooltip=[alt.Tooltip("text:N", title="Model"), alt.Tooltip("what:N", title="Line")],
    )
    return actual_rule, actual_label


def effective_size_by_slope(
    slopes: np.ndarray,
    sizes: np.ndarray,
    model_name: str,
    actual_parameters: float,
    slope_estimate: float,
    slope_interval: tuple[float, float],
    level: float = 0.95,
    actual_source: str = "",
) -> alt.LayerChart:
    """Effective size of one model against the slope assumed for the trend (log y).

    ``slopes`` (points per tenfold parameters, shape ``(m,)``, positive, increasing) and
    ``sizes`` (the size at which the best line with each slope reaches the model's score,
    parameters, shape ``(m,)``). The shaded band is the slope's ``level`` interval (its part
    above zero); the dashed rule is the fitted slope and the horizontal rule the model's actual
    non-embedding size (``actual_source``: where it comes from). The curve rises without bound
    as the slope approaches zero: that is why an interval reaching zero leaves the effective
    size undetermined.
    """
    low, high = slope_interval
    profile = pd.DataFrame({
        "slope": slopes, "effective_parameters": sizes,
        "slope_text": [f"{format_value(v, 2)} points per tenfold" for v in slopes],
        "effective_text": [format_count(v) for v in sizes],
        "what": "best-fitting line with this slope",
    })
    x_high = float(profile["slope"].max())
    y_low = min(float(profile["effective_parameters"].min()), actual_parameters) / 2
    y_high = float(profile["effective_parameters"].max())
    x_title = "Assumed slope of the trend (points per tenfold parameters)"
    x_scale = alt.Scale(domain=[0, x_high], nice=False)
    x = alt.X("slope:Q", title=x_title, scale=x_scale)
    y_scale = alt.Scale(type="log", domain=[y_low, y_high], nice=False)
    y_ticks = auto_log_ticks([y_low, y_high])
    y_axis = alt.Axis(values=y_ticks, labelExpr=count_label_expr(y_ticks))
    y_title = f"Effective size of {model_name} (log scale)"
    band, band_label = _slope_band_layers((low, high), level, slope_estimate, x_high, x_scale, x_title)
    curve = alt.Chart(profile).mark_line(color=CATEGORICAL[0], strokeWidth=2.2).encode(
        x=x,
        y=alt.Y("effective_parameters:Q", title=y_title, scale=y_scale, axis=y_axis),
        tooltip=[
            alt.Tooltip("slope_text:N", title="Assumed slope"),
            alt.Tooltip("effective_text:N", title="Effective size (parameters)"),
            alt.Tooltip("what:N", title="Line"),
        ],
    )
    marks = pd.DataFrame({
        "slope": [slope_estimate], "text": [f"fitted slope {slope_estimate:.1f}"],
        "what": ["slope of the least-squares trend"],
    })
    estimate = alt.Chart(marks).mark_rule(color=FIT_COLOR, strokeDash=[6, 3], strokeWidth=1.5).encode(
        x=alt.X("slope:Q", scale=x_scale, title=x_title),
        tooltip=[alt.Tooltip("text:N", title="Estimate"), alt.Tooltip("what:N", title="Line")],
    )
    actual_rule, actual_label = _actual_size_layers(model_name, actual_parameters, y_scale, y_title, y_axis, actual_source)
    chart = alt.layer(band, band_label, curve, estimate, actual_rule, actual_label).properties(
        width=WIDTH,
        height=HEIGHT,
        description=(
            f"Line chart of the size at which the benchmark trend reaches {model_name}'s score, against the slope "
            f"assumed for the trend. The size grows without bound as the slope approaches zero. A grey band marks the "
            f"slope's {level:.0%} bootstrap interval ({low:.1f} to {high:.1f} points per tenfold, shown above zero "
            f"only), a dashed rule the fitted slope ({slope_estimate:.1f}) and a vermilion rule the model's actual size "
            f"({format_si(actual_parameters)})."
        ),
    )
    return with_source(chart, fits="this book, from the trend of the chapter’s first figure", data=profile,
                       narrow={"labels": "hide"})
