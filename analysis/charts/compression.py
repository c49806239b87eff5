"""Charts of chapter 2: compressed BERT-type models, average GLUE over 8 tasks vs size.

Inputs are frames prepared by :mod:`analysis.chapters.compression` (one row per compressed model):

``points`` -- ``method`` (e.g. ``"XTC-BERT*"``), ``method_family`` (the method without the
    figure's asterisk: the colour), ``label`` (configuration, e.g. ``"L=12 (2-bit)"``), ``tag``
    (one name per row, with the size), ``technique`` (``"quantization"`` or ``"layer reduction"``),
    ``size_mb`` (model size in MB), ``glue`` (average GLUE over 8 tasks, points), ``on_frontier``
    (bool), ``compression_ratio`` (reference size / size), ``glue_per_mb`` (GLUE points per MB),
    ``source`` and ``value_kind``.
``baseline_size_mb`` -- the uncompressed reference size the ratios are taken against (MB).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from analysis.charts.axes import auto_log_ticks, log_ticks
from analysis.charts.layers import (
    FRONTIER_RING_WIDTH,
    Axis,
    frontier_layer,
    label_layer,
    phone_label_rows,
    place_labels,
    radial_candidates,
    step_polyline,
)
from analysis.charts.source import with_source
from analysis.charts.theme import (
    CATEGORICAL,
    DARK_YELLOW,
    FIT_COLOR,
    FRONTIER_COLOR,
    HEIGHT,
    INK,
    MUTED_OPACITY,
    SHAPES,
    WIDTH,
    YELLOW,
)
from analysis.text import with_unit

SIZE_TITLE = "Model size (MB, log scale)"
GLUE_TITLE = "Average GLUE score over 8 tasks"
LABEL_POSITIONS = radial_candidates((8, 16, 24), directions=8)
"""Where a configuration label may go, nearest first: beside, above or below its point, then diagonally, then
further out along the same lines (with a leader), so a label of two stacked points sits level with its own."""
TECHNIQUE_SHAPES = alt.Scale(domain=["quantization", "layer reduction"], range=[SHAPES[0], SHAPES[2]])


def _tooltip() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("method:N", title="Method"),
        alt.Tooltip("label:N", title="Configuration"),
        alt.Tooltip("technique:N", title="Technique"),
        alt.Tooltip("size_mb:Q", title="Size (MB)", format=",.4~g"),
        alt.Tooltip("glue:Q", title="Average GLUE (8 tasks)", format=".1f"),
        alt.Tooltip("compression_ratio:Q", title="Compression vs 32-bit BERT-Base (×)", format=".3~g"),
        alt.Tooltip("glue_per_mb:Q", title="GLUE points per MB", format=".3~g"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("value_kind:N", title="Values"),
    ]


METHOD_PALETTE = tuple(DARK_YELLOW if c == YELLOW else c for c in CATEGORICAL if c != FRONTIER_COLOR)
"""Method colours: the book's categorical palette without the frontier's vermilion, so the frontier's
line never reads as a method (its rings are near-black behind a white halo, apart from every method colour),
and with its yellow darkened (a lone yellow triangle hardly shows on white)."""


def _method_colour(methods: list[str]) -> alt.Color:
    """Colour by method family (XTC's quantized ``XTC-BERT*`` and layer-reduced models share one)."""
    return alt.Color("method_family:N", title="Method (click to highlight)",
                     scale=alt.Scale(domain=methods, range=list(METHOD_PALETTE[: len(methods)])))


def size_vs_score(points: pd.DataFrame, baseline_size_mb: float, baseline_name: str = "BERT-Base, 32-bit",
                  baseline_source: str = "") -> alt.LayerChart:
    """Average GLUE against size (log x): colour = method, shape = technique, the configuration
    labels the original figure prints (layers and bits), the Pareto frontier, and a rule at the
    uncompressed reference size (``baseline_source``: where its parameter count comes from).

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
    y = alt.Y("glue:Q", title=GLUE_TITLE, scale=y_scale, axis=alt.Axis(format=".1f"))
    labelled = points.reset_index(drop=True)
    frontier_points = labelled[labelled["on_frontier"]].sort_values("size_mb")
    data = pd.concat(
        [labelled, place_labels(labelled["size_mb"], labelled["glue"], labelled["label"].fillna(""),
                                Axis((low, high), log=True), Axis((y_low, y_high)),
                                lines=[step_polyline(frontier_points["size_mb"], frontier_points["glue"])],
                                candidates=LABEL_POSITIONS, nearest=True,
                                rings=labelled["on_frontier"].to_numpy() * FRONTIER_RING_WIDTH)],
        axis=1,
    )
    methods = list(dict.fromkeys(points["method_family"]))
    pick = alt.selection_point(fields=["method_family"], bind="legend", name="method_pick")
    zoom = alt.selection_interval(bind="scales", name="zoom")
    opacity = alt.condition(pick, alt.value(1.0), alt.value(MUTED_OPACITY))
    base = alt.Chart(data).encode(x=x, y=y)
    dots = base.mark_point(filled=True, size=100, stroke=INK, strokeWidth=0.5).encode(
        color=_method_colour(methods),
        shape=alt.Shape("technique:N", title="Technique", scale=TECHNIQUE_SHAPES),
        opacity=opacity,
        tooltip=_tooltip(),
    ).add_params(pick, zoom)
    labels = label_layer(base, _tooltip(), opacity)
    phone = phone_label_rows(labelled, labelled["on_frontier"], labelled["size_mb"], labelled["glue"],
                             labelled["label"].fillna(""), Axis((low, high), log=True), Axis((y_low, y_high)),
                             lines=[step_polyline(frontier_points["size_mb"], frontier_points["glue"])],
                             candidates=LABEL_POSITIONS, nearest=True,
                             rings=labelled["on_frontier"].to_numpy() * FRONTIER_RING_WIDTH)
    phone_labels = label_layer(alt.Chart(phone).encode(x=x, y=y), _tooltip(), opacity)
    frontier = frontier_layer(
        data[data["on_frontier"]].sort_values("size_mb"),
        x,
        y,
        [alt.Tooltip("tag:N", title="Pareto-optimal model"), *_tooltip()[3:5], alt.Tooltip("source:N", title="Source")],
    )
    reference = pd.DataFrame({
        "size_mb": [baseline_size_mb],
        "what": [f"{baseline_name}: {with_unit(f'{baseline_size_mb:,.0f}', 'MB')} (uncompressed reference)"],
        "source": [baseline_source or "BERT-Base's published parameter count at 4 bytes each"],
    })
    baseline_rule = (
        alt.Chart(reference)
        .mark_rule(color=FIT_COLOR, strokeDash=[2, 3])
        .encode(x=x, tooltip=[alt.Tooltip("what:N", title="Reference"), alt.Tooltip("source:N", title="Parameters")])
    )
    baseline_label = baseline_rule.mark_text(align="right", baseline="top", dx=-4, dy=4, fontSize=11, color=FIT_COLOR).encode(
        y=alt.value(0), text=alt.value(baseline_name)
    )
    chart = alt.layer(baseline_rule, baseline_label, frontier, dots, labels).properties(
        width=WIDTH,
        height=HEIGHT,
        description=(
            f"Scatter plot of average GLUE score over 8 tasks against model size in megabytes (log scale) for "
            f"{len(points)} compressed BERT-type models from {len(methods)} methods; colour shows the method, shape the "
            "technique (quantization or layer reduction), labels the layers and bits the original figure prints. An "
            "vermilion step line and black rings mark the "
            f"Pareto frontier and a dotted vertical line the uncompressed reference size ({baseline_size_mb:,.0f} MB)."
        ),
    )
    # on a phone only the Pareto-optimal points keep their labels
    return with_source(chart, points, fits="this book", narrow={"labels": "hide", "phone_labels": phone_labels})


SUMMARY_WIDTHS = (180, 150)
"""Plot widths (px) of the two dot plots: beside the row names and the legend they fit a 690 px column
(a 1024 px screen beside the sidebar)."""


def _summary_ticks(values: pd.Series) -> list[float]:
    """1-3-10 ticks over ``values`` (widened by 1.2 each side): few enough for a narrow dot plot."""
    return log_ticks(float(values.min()) / 1.2, float(values.max()) * 1.2, (1, 3))


def compression_summary(points: pd.DataFrame) -> alt.HConcatChart:
    """Two aligned dot plots, one row per model (method, configuration and size): compression
    ratio against the 32-bit reference (×, log x) and GLUE points per MB (log x); rows from the
    most to the least compressed (ties: higher score first)."""
    ordered = points.sort_values(["compression_ratio", "glue"], ascending=[False, False])
    methods = list(dict.fromkeys(points["method_family"]))
    pick = alt.selection_point(fields=["method_family"], bind="legend", name="method_pick_summary")
    # A row's size leads its label ("8 MB · BinaryBERT (TWN)"), so rows that differ only in size stay
    # distinct where a phone cuts the label short.
    ordered = ordered.assign(row=[" · ".join(reversed(tag.rsplit(", ", 1))) for tag in ordered["tag"]])
    y = alt.Y("row:N", sort=ordered["row"].tolist(), title=None, axis=alt.Axis(labelLimit=280))
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
                title=["Compression vs 32-bit", "BERT-Base (×, log)"],
                scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr="format(datum.value, '~g') + '×'",
                              values=_summary_ticks(ordered["compression_ratio"])),
            )
        )
        .add_params(pick)
        .properties(width=SUMMARY_WIDTHS[0], height=alt.Step(18))
    )
    per_mb = (
        base.mark_point(**dot)
        .encode(
            x=alt.X(
                "glue_per_mb:Q",
                title="GLUE points/MB (log)",
                scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr="format(datum.value, '~g')", values=_summary_ticks(ordered["glue_per_mb"])),
            ),
            y=alt.Y("row:N", sort=ordered["row"].tolist(), title=None, axis=None),
        )
        .properties(width=SUMMARY_WIDTHS[1], height=alt.Step(18))
    )
    chart = alt.hconcat(ratio, per_mb, spacing=12).properties(
        description=(
            f"Two aligned dot plots with one row for each of {len(points)} compressed models, from the most to the least "
            "compressed: left, how many times smaller than 32-bit BERT-Base each model is; right, average GLUE points "
            "per megabyte."
        )
    )
    return with_source(chart, points, fits="this book", narrow={"legend_columns": 1, "row_label_limit": 190})
