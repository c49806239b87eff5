"""Charts of chapter 2: compressed BERT-type models, average GLUE over 8 tasks vs size (seed 001).

Inputs are frames prepared by :mod:`analysis.chapters.compression` (one row per compressed model):

``points`` -- ``method`` (e.g. ``"XTC-BERT"``), ``label`` (configuration, e.g. ``"L=12 (2-bit)"``),
    ``technique`` (``"quantization"`` or ``"layer reduction"``), ``size_mb`` (model size in MB),
    ``glue`` (average GLUE over 8 tasks, points), ``on_frontier`` (bool), ``compression_ratio``
    (reference size / size), ``glue_per_mb`` (GLUE points per MB), ``source`` and ``value_kind``.
``baseline_size_mb`` -- the uncompressed reference size the ratios are taken against (MB).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from analysis.charts.axes import auto_log_ticks
from analysis.charts.layers import Axis, frontier_layer, label_layer, place_labels
from analysis.charts.theme import FIT_COLOR, HEIGHT, INK, MUTED_OPACITY, SHAPES, WIDTH

SIZE_TITLE = "Model size (MB, log scale)"
GLUE_TITLE = "Average GLUE score over 8 tasks"
TECHNIQUE_SHAPES = alt.Scale(domain=["quantization", "layer reduction"], range=[SHAPES[0], SHAPES[2]])


def _tooltip() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("method:N", title="Method"),
        alt.Tooltip("label:N", title="Configuration"),
        alt.Tooltip("technique:N", title="Technique"),
        alt.Tooltip("size_mb:Q", title="Size (MB)", format=",.4~g"),
        alt.Tooltip("glue:Q", title="Average GLUE (8 tasks)", format=".2f"),
        alt.Tooltip("compression_ratio:Q", title="Compression vs 32-bit BERT-Base (×)", format=".3~g"),
        alt.Tooltip("glue_per_mb:Q", title="GLUE points per MB", format=".3~g"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("value_kind:N", title="Values"),
    ]


def _method_colour(methods: list[str]) -> alt.Color:
    return alt.Color("method:N", title="Method (click to highlight)", sort=methods)


def size_vs_score(points: pd.DataFrame, baseline_size_mb: float, baseline_name: str = "BERT-Base, 32-bit") -> alt.LayerChart:
    """Average GLUE against size (log x): colour = method, shape = technique, configuration labels,
    the Pareto frontier, and a rule at the uncompressed reference size.

    Interactions: click a method in the legend to highlight it; drag to pan, scroll to zoom.
    """
    sizes = pd.concat([points["size_mb"], pd.Series([baseline_size_mb])])
    low, high = sizes.min() / 1.6, sizes.max() * 1.6
    x = alt.X(
        "size_mb:Q",
        title=SIZE_TITLE,
        scale=alt.Scale(type="log", domain=[low, high], nice=False),
        axis=alt.Axis(values=auto_log_ticks([low, high]), labelExpr="format(datum.value, '~g')"),
    )
    scores = points["glue"]
    y_low, y_high = float(scores.min() - 0.4), float(scores.max() + 0.4)
    y_scale = alt.Scale(domain=[y_low, y_high], nice=False, zero=False)
    y = alt.Y("glue:Q", title=GLUE_TITLE, scale=y_scale)
    labelled = points.assign(tag=points["method"] + " " + points["label"].fillna("")).reset_index(drop=True)
    data = pd.concat(
        [labelled, place_labels(labelled["size_mb"], labelled["glue"], labelled["label"].fillna(""),
                                Axis((low, high), log=True), Axis((y_low, y_high)))],
        axis=1,
    )
    methods = list(dict.fromkeys(points["method"]))
    pick = alt.selection_point(fields=["method"], bind="legend", name="method_pick")
    zoom = alt.selection_interval(bind="scales", name="zoom")
    opacity = alt.condition(pick, alt.value(1.0), alt.value(MUTED_OPACITY))
    base = alt.Chart(data).encode(x=x, y=y)
    dots = base.mark_point(filled=True, size=100, stroke=INK, strokeWidth=0.5).encode(
        color=_method_colour(methods),
        shape=alt.Shape("technique:N", title="Technique", scale=TECHNIQUE_SHAPES),
        opacity=opacity,
        tooltip=_tooltip(),
    ).add_params(pick, zoom)
    labels = label_layer(base, "label", opacity).encode(tooltip=_tooltip())
    frontier = frontier_layer(
        data[data["on_frontier"]].sort_values("size_mb"),
        x,
        y,
        [alt.Tooltip("tag:N", title="Pareto-optimal model"), *_tooltip()[3:5], alt.Tooltip("source:N", title="Source")],
    )
    reference = pd.DataFrame(
        {"size_mb": [baseline_size_mb], "what": [f"{baseline_name}: {baseline_size_mb:,.0f} MB (uncompressed reference)"]}
    )
    baseline_rule = (
        alt.Chart(reference)
        .mark_rule(color=FIT_COLOR, strokeDash=[2, 3])
        .encode(x=x, tooltip=[alt.Tooltip("what:N", title="Reference")])
    )
    baseline_label = baseline_rule.mark_text(align="right", baseline="top", dx=-4, dy=4, fontSize=11, color=FIT_COLOR).encode(
        y=alt.value(0), text=alt.value(baseline_name)
    )
    return alt.layer(baseline_rule, baseline_label, frontier, dots, labels).properties(
        width=WIDTH,
        height=HEIGHT,
        description=(
            f"Scatter plot of average GLUE score over 8 tasks against model size in megabytes (log scale) for "
            f"{len(points)} compressed BERT-type models from {len(methods)} methods; colour shows the method, shape the "
            "technique (quantization or layer reduction), labels the configuration. An orange step line marks the "
            f"Pareto frontier and a dotted vertical line the uncompressed reference size ({baseline_size_mb:,.0f} MB)."
        ),
    )


def compression_summary(points: pd.DataFrame) -> alt.HConcatChart:
    """Two aligned dot plots per model: compression ratio against the 32-bit reference (×, log
    x) and GLUE points per MB (log x); rows sorted by compression ratio."""
    ordered = points.assign(tag=(points["method"] + " " + points["label"].fillna("")).str.strip()).sort_values(
        ["compression_ratio", "glue"], ascending=[False, False]
    )
    methods = list(dict.fromkeys(points["method"]))
    pick = alt.selection_point(fields=["method"], bind="legend", name="method_pick_summary")
    y = alt.Y("tag:N", sort=ordered["tag"].tolist(), title=None)
    tooltip = [alt.Tooltip("tag:N", title="Model"), *_tooltip()[2:]]
    base = alt.Chart(ordered).encode(
        y=y,
        color=_method_colour(methods),
        shape=alt.Shape("technique:N", title="Technique", scale=TECHNIQUE_SHAPES),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(MUTED_OPACITY)),
        tooltip=tooltip,
    )
    dot = {"filled": True, "size": 80, "stroke": INK, "strokeWidth": 0.5}
    ratio = (
        base.mark_point(**dot)
        .encode(
            x=alt.X(
                "compression_ratio:Q",
                title="Compression vs 32-bit BERT-Base (×, log)",
                scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr="format(datum.value, '~g') + '×'",
                              values=auto_log_ticks(ordered["compression_ratio"], pad=1.2)),
            )
        )
        .add_params(pick)
        .properties(width=230, height=alt.Step(18))
    )
    per_mb = (
        base.mark_point(**dot)
        .encode(
            x=alt.X(
                "glue_per_mb:Q",
                title="GLUE points per MB (log)",
                scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr="format(datum.value, '~g')", values=auto_log_ticks(ordered["glue_per_mb"], pad=1.2)),
            ),
            y=alt.Y("tag:N", sort=ordered["tag"].tolist(), title=None, axis=None),
        )
        .properties(width=200, height=alt.Step(18))
    )
    return alt.hconcat(ratio, per_mb, spacing=12).properties(
        description=(
            f"Two aligned dot plots for {len(points)} compressed models, sorted by compression ratio: left, how many "
            "times smaller than 32-bit BERT-Base each model is; right, average GLUE points per megabyte."
        )
    )
