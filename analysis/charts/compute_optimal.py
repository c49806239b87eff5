"""Charts of chapter 4: compute-optimal model size against training compute.

The chapter's figure redraws Figure 1 of Hoffmann et al. (2022): the compute-optimal model size
``N_opt`` (parameters) as a function of the training budget ``C`` (FLOP) according to several
scaling laws, with large models placed at their real size and budget. Every law here is a
power law ``N_opt(C) = n_ref * (C / c_ref) ** a``, so one table row describes it completely and
the same row drives the lines, the budget read-out and the tooltips.

Inputs are plain tables so the charts work for any set of laws:

``laws`` -- one row per law, columns
    ``approach`` (family shown by colour, e.g. ``"Approach 2"``), ``variant`` (``"published"``,
    ``"published, rounded"`` or ``"fitted here"``, shown by dash), ``law`` (display label), ``a``
    (exponent of ``N_opt`` in ``C``), ``c_ref`` (FLOP), ``n_ref`` (parameters at ``c_ref``),
    ``source`` (citation text), ``value_kind`` and ``note`` (how the law was obtained).
``bands`` -- bootstrap bands, columns ``law``, ``approach``, ``C`` (FLOP), ``N_lo``, ``N_hi``
    (parameters), ``level`` (e.g. 0.95).
``models`` -- named models, columns ``name``, ``N`` (parameters), ``D`` (tokens), ``C`` (FLOP),
    ``source`` and ``value_kind``; optionally ``label`` (a shorter name to write beside the star)
    and ``stated_C`` (FLOP, the budget the paper states).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from analysis.charts import axes
from analysis.charts.layers import Axis, place_labels
from analysis.charts.parametric_loss import STAR
from analysis.charts.source import with_source
from analysis.charts.theme import CATEGORICAL, GUIDE_COLOR, HEIGHT, INK, MUTED_OPACITY, NAMED_MODEL_COLOR, PHONE_WIDTH
from analysis.fit.laws import FLOP_PER_PARAMETER_TOKEN, PowerLaw
from analysis.text import format_si, number, power_of_ten, with_unit

BUDGET_PARAM = "budget"
"""Name of the Vega parameter holding the selected compute budget (FLOP)."""

VARIANT_DASH = {"published": [7, 4], "published, rounded": [2, 3], "fitted here": [1, 0]}

CHART_WIDTH = 440
"""Plot width (px): with the axis and the legends to its right the figure fits the 768 px text column unscaled."""
RATIO_HEIGHT = 130
"""Height (px) of the panel of each law relative to the reference law."""
RATIO_RANGE = (0.1, 30.0)
"""Vertical range of that panel (ratio of compute-optimal sizes)."""
AXIS_GAP = 60
"""Vertical room (px) an x axis with its title takes below a plot."""

LAW_COLUMNS = ("approach", "variant", "law", "a", "c_ref", "n_ref", "source", "value_kind", "note")


def approach_colours(approaches: Sequence[str]) -> alt.Scale:
    """Okabe-Ito colours: Approach 1, 2, 3 blue, orange, green; Kaplan black; others in order."""
    spare = iter(CATEGORICAL[3:-1])
    colours = []
    for name in approaches:
        numbered = [k for k in (1, 2, 3) if f"Approach {k}" in name]
        if "Kaplan" in name:
            colours.append(CATEGORICAL[-1])
        else:
            colours.append(CATEGORICAL[numbered[0] - 1] if numbered else next(spare))
    return alt.Scale(domain=list(approaches), range=colours)


def flop_text(C: float, digits: int = 3) -> str:
    """A budget as ``5.76 × 10²³ FLOP`` (``digits`` significant figures; ``10²¹ FLOP`` for an exact power of ten)."""
    exact = math.isclose(C, 10.0 ** round(math.log10(C)), rel_tol=1e-9)
    return with_unit(power_of_ten(C) if exact else number(C, digits), "FLOP")


def law_lines(laws: pd.DataFrame, c_range: tuple[float, float], points: int = 40,
              reference: str | None = None) -> pd.DataFrame:
    """Evaluate every law on a log grid of budgets: one row per (law, C) with ``N`` in parameters and,
    when ``reference`` names a law, ``ratio = N / N_reference``."""
    missing = [column for column in LAW_COLUMNS if column not in laws.columns]
    if missing:
        raise ValueError(f"laws table lacks columns {missing}")
    budgets = np.geomspace(c_range[0], c_range[1], points)
    reference_n = _reference_law(laws, reference)(budgets) if reference else np.ones_like(budgets)
    rows = []
    for law in laws.itertuples(index=False):
        n_opt = PowerLaw(law.a, law.c_ref, law.n_ref)(budgets)
        rows.append(pd.DataFrame({
            "approach": law.approach, "variant": law.variant, "law": law.law, "C": budgets, "N": n_opt,
            "ratio": n_opt / reference_n, "C_label": [flop_text(c) for c in budgets],
            "N_label": [format_si(n) for n in n_opt], "ratio_label": [f"{r:.2f}×" for r in n_opt / reference_n],
            "a": law.a, "source": law.source, "value_kind": law.value_kind, "note": law.note,
        }))
    return pd.concat(rows, ignore_index=True)


def _reference_law(laws: pd.DataFrame, name: str) -> PowerLaw:
    row = laws[laws["law"] == name]
    if row.empty:
        raise ValueError(f"no law {name!r} to draw the others against")
    return PowerLaw(float(row["a"].iloc[0]), float(row["c_ref"].iloc[0]), float(row["n_ref"].iloc[0]))


MODEL_LABEL_SIZE = 12
"""Font size (px) of the models' names."""


MODEL_LABEL_POSITIONS = [(dx, dy, "left" if dx > 0 else "right", "middle") for dx, dy in (
    (13, 0), (-13, 0), (13, 6), (13, -6), (-13, 6), (-13, -6), (18, 0), (-18, 0))] + [
    (0.0, dy, "center", "bottom" if dy < 0 else "top") for dy in (-13, 13)]
"""Where a model's name may go: level with its star on either side, else above or below it (the stars lie
close together between the law lines, and a name set off diagonally reads as a neighbour's)."""


def model_label_positions(
    models: pd.DataFrame,
    lines: Sequence[tuple[Sequence[float], Sequence[float]]],
    c_range: tuple[float, float],
    n_range: tuple[float, float],
    width: float = CHART_WIDTH,
    height: float = HEIGHT - 20,
) -> pd.DataFrame:
    """Where to write each model's name: level with its star (or just above or below it, see
    :data:`MODEL_LABEL_POSITIONS`), clear of the other stars and names, and clear of the law
    ``lines`` (``(C, N)`` vertex sequences) where a position beside the star allows.

    Returns a frame aligned with ``models``: ``label_C`` (FLOP) and ``label_N`` (parameters) of
    the text anchor, ``label_align``, ``label_baseline``, and for a name set away from its
    star a leader line (``leader`` true) from the star to ``leader_C``, ``leader_N``, just short
    of the text. Positions are in data units so names and leaders follow zoom and pan.
    """
    c_axis, n_axis = Axis(c_range, log=True), Axis(n_range, log=True)
    placed = place_labels(models["C"], models["N"], models["label"], c_axis, n_axis, width, height, lines,
                          candidates=MODEL_LABEL_POSITIONS,
                          font_size=MODEL_LABEL_SIZE, point_radius=9, lines_soft=True)
    x_decade = width / np.log10(c_range[1] / c_range[0])
    y_decade = height / np.log10(n_range[1] / n_range[0])
    dx, dy = placed["label_dx"].to_numpy(dtype=float), placed["label_dy"].to_numpy(dtype=float)
    distance = np.hypot(dx, dy)
    short = np.clip(distance - 3, 0, None) / np.where(distance > 0, distance, 1)  # stop 3 px before the text
    log_c, log_n = np.log10(models["C"].to_numpy(dtype=float)), np.log10(models["N"].to_numpy(dtype=float))
    return pd.DataFrame({
        "label_C": 10 ** (log_c + dx / x_decade),
        "label_N": 10 ** (log_n - dy / y_decade),
        "label_align": placed["label_align"],
        "label_baseline": placed["label_baseline"],
        "leader": distance > 20,
        "leader_C": 10 ** (log_c + short * dx / x_decade),
        "leader_N": 10 ** (log_n - short * dy / y_decade),
    })


def _approach_order(laws: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(laws["approach"]))


def _n_opt_expr(budget_expr: str) -> str:
    return f"datum.n_ref * pow(({budget_expr}) / datum.c_ref, datum.a)"


def _dash(legend: alt.Legend | None) -> alt.StrokeDash:
    return alt.StrokeDash("variant:N", title="Line", legend=legend,
                          scale=alt.Scale(domain=list(VARIANT_DASH), range=list(VARIANT_DASH.values())))


def _line_tooltip(value_field: str, value_title: str) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("law:N", title="Law"),
        alt.Tooltip("C_label:N", title="Budget"),
        alt.Tooltip(value_field, title=value_title),
        alt.Tooltip("a:Q", title="Exponent a (N ∝ Cᵃ)", format=".3f"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("value_kind:N", title="Value kind"),
        alt.Tooltip("note:N", title="How obtained"),
    ]


def _band_layer(bands: pd.DataFrame, x: alt.X, y_low: alt.Y, y_high: str, colour: alt.Color,
                family: alt.Parameter) -> alt.Chart:
    band_frame = bands.assign(
        C_label=[flop_text(c) for c in bands["C"]],
        interval=[f"{format_si(lo)} to {format_si(hi)}" for lo, hi in zip(bands["N_lo"], bands["N_hi"], strict=True)],
    )
    return (
        alt.Chart(band_frame)
        .mark_area(clip=True)
        .encode(
            x=x, y=y_low, y2=y_high, color=colour, detail="law:N",
            opacity=alt.condition(family, alt.value(0.16), alt.value(0.03)),
            tooltip=[
                alt.Tooltip("law:N", title="Law"),
                alt.Tooltip("C_label:N", title="Budget"),
                alt.Tooltip("interval:N", title="Bootstrap interval of N_opt"),
                alt.Tooltip("level:Q", title="Level", format=".0%"),
            ],
        )
    )


def _law_line_layer(lines_frame: pd.DataFrame, x: alt.X, y: alt.Y, colour: alt.Color,
                    family: alt.Parameter, dash: alt.StrokeDash, tooltip: list[alt.Tooltip]) -> alt.Chart:
    return (
        alt.Chart(lines_frame)
        .mark_line(clip=True, strokeWidth=1.8)
        .encode(x=x, y=y, color=colour, detail="law:N", strokeDash=dash, tooltip=tooltip,
                opacity=alt.condition(family, alt.value(1.0), alt.value(MUTED_OPACITY)))
    )


def _model_frame(models: pd.DataFrame) -> tuple[pd.DataFrame, list[alt.Tooltip]]:
    """The named models with their tooltip's texts (size, tokens, budgets), and that tooltip."""
    stated = models["stated_C"] if "stated_C" in models else pd.Series(np.nan, index=models.index)
    model_frame = models.assign(
        label=models["label"] if "label" in models else models["name"],
        N_label=[format_si(n) + " parameters" for n in models["N"]],
        D_label=[format_si(d) + " tokens" for d in models["D"]],
        C_label=[flop_text(c) for c in models["C"]],
        stated_label=[flop_text(c) if np.isfinite(c) else "none" for c in stated.astype(float)],
    )
    model_tooltip = [
        alt.Tooltip("name:N", title="Model"),
        alt.Tooltip("N_label:N", title="Size"),
        alt.Tooltip("D_label:N", title="Training tokens"),
        alt.Tooltip("C_label:N", title="Budget (6ND)"),
        alt.Tooltip("stated_label:N", title="Budget Hoffmann et al. state"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("value_kind:N", title="Value kind"),
    ]
    return model_frame.reset_index(drop=True), model_tooltip


def _model_layers(models: pd.DataFrame, obstacles: list, c_range: tuple[float, float], n_range: tuple[float, float],
                  x: alt.X, y: alt.Y) -> list[alt.Chart]:
    """Stars at the models' size and budget (white-edged, drawn last), their names placed clear of the
    lines, and leader lines that cross none."""
    model_frame, model_tooltip = _model_frame(models)
    leaders, halo, names = _model_name_layers(
        pd.concat([model_frame, model_label_positions(model_frame, obstacles, c_range, n_range)], axis=1),
        model_tooltip, c_range, n_range, x, y)
    star = alt.Chart(model_frame).encode(x=x, y=y, tooltip=model_tooltip).mark_point(
        shape=STAR, size=280, filled=True, color=NAMED_MODEL_COLOR, opacity=1, stroke="white", strokeWidth=1.2)
    return [leaders, star, halo, names]


def phone_model_names(models: pd.DataFrame, obstacles: list, c_range: tuple[float, float],
                      n_range: tuple[float, float], x: alt.X, y: alt.Y) -> alt.LayerChart:
    """The models' names and leaders of :func:`_model_layers`, placed for a phone's plot
    (:data:`~analysis.charts.theme.PHONE_WIDTH` wide): every star keeps its name there."""
    model_frame, model_tooltip = _model_frame(models)
    placed = model_label_positions(model_frame, obstacles, c_range, n_range, width=PHONE_WIDTH)
    return alt.layer(*_model_name_layers(pd.concat([model_frame, placed], axis=1), model_tooltip, c_range, n_range, x, y))


def _model_name_layers(model_frame: pd.DataFrame, model_tooltip: list[alt.Tooltip], c_range: tuple[float, float],
                       n_range: tuple[float, float], x: alt.X, y: alt.Y) -> tuple[alt.Chart, alt.Chart, alt.Chart]:
    """Leader lines, white halos and the names of :func:`model_label_positions`' frame ``model_frame``."""
    leaders = alt.Chart(model_frame).encode(x=x, y=y, tooltip=model_tooltip).transform_filter("datum.leader").mark_rule(
        color=GUIDE_COLOR, strokeWidth=0.8).encode(x2="leader_C:Q", y2="leader_N:Q")
    label_base = alt.Chart(model_frame).encode(
        x=alt.X("label_C:Q", scale=alt.Scale(type="log", domain=list(c_range))),
        y=alt.Y("label_N:Q", scale=alt.Scale(type="log", domain=list(n_range))), text="label:N", tooltip=model_tooltip)
    label = {"fontSize": MODEL_LABEL_SIZE, "align": alt.ExprRef("datum.label_align"),
             "baseline": alt.ExprRef("datum.label_baseline")}
    return (leaders, label_base.mark_text(**label, stroke="white", strokeWidth=4, strokeJoin="round"),
            label_base.mark_text(**label))


def _budget_layers(laws: pd.DataFrame, x: alt.X, y: alt.Y, colour: alt.Color) -> list[alt.Chart]:
    """A rule at the budget the selector holds and a marker per law at its compute-optimal size there."""
    rule_data = pd.DataFrame({"what": ["selected budget"]})
    rule = (
        alt.Chart(rule_data)
        .transform_calculate(C=BUDGET_PARAM, C_text=axes.flop_expr("datum.C"))
        .mark_rule(color=GUIDE_COLOR, strokeDash=[2, 3], strokeWidth=1, opacity=0.8)
        .encode(x=x, tooltip=[alt.Tooltip("what:N", title="Rule"), alt.Tooltip("C_text:N", title="Budget")])
    )
    markers = (
        alt.Chart(laws[list(LAW_COLUMNS)])
        .transform_calculate(C=BUDGET_PARAM, N=_n_opt_expr("datum.C"))
        .transform_calculate(N_text=axes.count_expr("datum.N"), C_text=axes.flop_expr("datum.C"))
        .mark_point(filled=True, size=45, opacity=1, clip=True)
        .encode(
            x=x, y=y, color=colour,
            tooltip=[alt.Tooltip("law:N", title="Law"), alt.Tooltip("C_text:N", title="Budget"),
                     alt.Tooltip("N_text:N", title="Compute-optimal size"),
                     alt.Tooltip("source:N", title="Source")],
        )
    )
    return [rule, markers]


def _size_axes(c_range: tuple[float, float], n_range: tuple[float, float]) -> tuple[alt.X, alt.Y]:
    """The log axes of :func:`optimal_size_chart`: training compute (FLOP) and parameters."""
    x = alt.X("C:Q", title="Training compute (FLOP)", scale=alt.Scale(type="log", domain=list(c_range)),
              axis=axes.flop_axis(c_range, label_every=2))
    y = alt.Y("N:Q", title="Parameters", scale=alt.Scale(type="log", domain=list(n_range)),
              axis=axes.count_axis(n_range))
    return x, y


def _name_obstacles(lines_frame: pd.DataFrame, n_range: tuple[float, float],
                    initial_budget: float | None) -> list[tuple[Sequence[float], Sequence[float]]]:
    """What the models' names keep clear of: the law lines of :func:`law_lines`' ``lines_frame`` and the
    selected budget's rule, as ``(C, N)`` vertex sequences."""
    obstacles: list[tuple[Sequence[float], Sequence[float]]] = [
        (group["C"], group["N"]) for _, group in lines_frame.groupby("law")]
    if initial_budget is not None:
        obstacles.append(([initial_budget, initial_budget], list(n_range)))
    return obstacles


def optimal_size_chart(
    laws: pd.DataFrame,
    bands: pd.DataFrame,
    models: pd.DataFrame,
    *,
    c_range: tuple[float, float] = (1e17, 1e26),
    n_range: tuple[float, float] = (1e7, 1e13),
    initial_budget: float | None = None,
    family: alt.Parameter | None = None,
) -> alt.LayerChart:
    """Compute-optimal parameters against training FLOP: laws as lines, bands, named models.

    Args:
        laws: one row per power law (see the module docstring).
        bands: bootstrap bands of the fitted laws (parameters at each budget), may be empty.
        models: named models at their real size ``N`` and budget ``C = 6 N D``.
        c_range: budget axis range in FLOP.
        n_range: parameter axis range.
        initial_budget: when given, a vertical rule and a marker per law show ``N_opt`` at the
            budget held by the Vega parameter :data:`BUDGET_PARAM` (which the selector of
            :func:`budget_readout_chart` sets); the parameter is declared by that chart.
        family: the legend selection of a law family, when a figure shares it between panels.
    """
    colour = alt.Color("approach:N", title="Scaling law", scale=approach_colours(_approach_order(laws)),
                       legend=alt.Legend(orient="none", legendX=CHART_WIDTH + 14, legendY=0, symbolType="stroke",
                                         symbolOpacity=1, symbolStrokeWidth=3))
    dash = _dash(alt.Legend(orient="none", legendX=CHART_WIDTH + 14, legendY=100, symbolType="stroke",
                            symbolSize=500, symbolStrokeWidth=2, symbolStrokeColor=INK))
    family = family or alt.selection_point(fields=["approach"], bind="legend", name="family")
    x, y = _size_axes(c_range, n_range)
    lines_frame = law_lines(laws, c_range)
    layers: list[alt.Chart] = []
    if len(bands):
        layers.append(_band_layer(bands, x, alt.Y("N_lo:Q", scale=alt.Scale(type="log", domain=list(n_range))),
                                  "N_hi:Q", colour, family))
    lines = _law_line_layer(lines_frame, x, y, colour, family, dash,
                            _line_tooltip("N_label:N", "Compute-optimal size"))
    layers.append(lines.add_params(family, alt.selection_interval(bind="scales", name="zoom_compute_optimal")))
    if initial_budget is not None:
        layers += _budget_layers(laws, x, y, colour)
    layers += _model_layers(models, _name_obstacles(lines_frame, n_range, initial_budget), c_range, n_range, x, y)
    description = (
        "Log-log chart of compute-optimal model size (parameters) against training compute (FLOP). "
        f"Lines: {', '.join(laws['law'])}. Shaded bands: bootstrap intervals of the laws fitted here. "
        f"Stars: {', '.join(models['name'])} at their actual size and training budget (C = 6ND)."
    )
    return alt.layer(*layers).properties(width=CHART_WIDTH, height=HEIGHT - 20, description=description)


def relative_size_chart(
    laws: pd.DataFrame,
    bands: pd.DataFrame,
    reference: str,
    *,
    c_range: tuple[float, float] = (1e17, 1e26),
    ratio_range: tuple[float, float] = RATIO_RANGE,
    family: alt.Parameter | None = None,
) -> alt.LayerChart:
    """Every law's compute-optimal size divided by that of the law ``reference``, against the budget:
    where the lines of :func:`optimal_size_chart` lie on top of each other, this separates them."""
    colour = alt.Color("approach:N", scale=approach_colours(_approach_order(laws)), legend=None)
    shared = family
    family = family or alt.selection_point(fields=["approach"], bind="legend", name="family")
    x = alt.X("C:Q", title="Training compute (FLOP)", scale=alt.Scale(type="log", domain=list(c_range)),
              axis=axes.flop_axis(c_range, label_every=2))
    ratio_scale = alt.Scale(type="log", domain=list(ratio_range))
    y = alt.Y("ratio:Q", title=["Relative to", reference], scale=ratio_scale,
              axis=alt.Axis(values=[0.1, 0.3, 1, 3, 10, 30], format="~g", labelExpr="datum.label + '×'"))
    lines_frame = law_lines(laws, c_range, reference=reference)
    layers: list[alt.Chart] = []
    if len(bands):
        base = _reference_law(laws, reference)(bands["C"].to_numpy(float))
        relative = bands.assign(ratio_lo=bands["N_lo"] / base, ratio_hi=bands["N_hi"] / base,
                                N_lo=bands["N_lo"], N_hi=bands["N_hi"])
        layers.append(_band_layer(relative, x, alt.Y("ratio_lo:Q", scale=ratio_scale), "ratio_hi:Q", colour, family))
    lines = _law_line_layer(lines_frame, x, y, colour, family, _dash(None),
                            _line_tooltip("ratio_label:N", f"Relative to {reference}"))
    layers.append(lines if shared is not None else lines.add_params(family))
    description = (f"Log-log chart of each law's compute-optimal size divided by that of {reference}, against "
                   "training compute, so lines that coincide in the chart above are told apart.")
    return alt.layer(*layers).properties(width=CHART_WIDTH, height=RATIO_HEIGHT, description=description)


def budget_options(named_budgets: Mapping[str, float], c_range: tuple[float, float]) -> list[tuple[float, str]]:
    """The budgets the selector offers, in FLOP with their labels: 1 and 3 times each power of ten in
    ``c_range`` and the ``named_budgets`` (label -> FLOP), sorted by budget."""
    options = {value: flop_text(value, 1) for value in axes.log_ticks(*c_range, mantissas=(1, 3))}
    for name, value in named_budgets.items():
        options[float(value)] = f"{flop_text(float(value))}: {name}"
    return sorted(options.items())


TABLE_COLUMNS = (("Parameters", 300), ("Tokens", 365), ("Tokens per parameter", 470))
"""The read-out's value columns and the x (px) their text ends at; the law names start at 0."""
TABLE_ROW = 19
"""Height (px) of a row of the read-out."""
READOUT_VIEW = "budget_readout"
"""Name of the read-out's view in :func:`compute_optimal_figure` (its phone layout replaces it there)."""
PHONE_COLUMNS = (-137, -80, 0)
"""Where the phone read-out's value columns end, in px from its right edge (its text follows the view's width;
the columns take 205 px, so a table 214 px wide, beside the axes of a 320 px phone, still holds them)."""
PHONE_LAW = 36
"""Height (px) of a law in the phone read-out: its name on one line, its three values on the next."""
PHONE_FIRST_LAW = 82
"""Top (px) of the first law in the phone read-out, below the title's and the header's two lines."""


def budget_readout_chart(laws: pd.DataFrame, initial_budget: float, named_budgets: Mapping[str, float] | None = None,
                         c_range: tuple[float, float] = (1e17, 1e26)) -> alt.LayerChart:
    """A table, driven by a budget selector, of N_opt, D_opt and tokens per parameter per law.

    The selector sets the Vega parameter :data:`BUDGET_PARAM` (FLOP) to one of :func:`budget_options`,
    each labelled in FLOP; ``initial_budget`` must be one of them. ``D_opt = C / (6 N_opt)`` for
    every law, the convention ``C = 6 N D`` of the chapter. The table is drawn with text marks
    (title, header and rows) starting at the left edge of its view, so in :func:`compute_optimal_figure`
    it lines up with the plots above. In the static (print) variant the selector is dropped and
    the table shows ``initial_budget``.
    """
    options = budget_options(named_budgets or {}, c_range)
    if not any(math.isclose(value, initial_budget, rel_tol=1e-12) for value, _ in options):
        raise ValueError(f"initial budget {initial_budget:g} FLOP is not among the selector's options")
    selector = alt.param(
        name=BUDGET_PARAM,
        value=initial_budget,
        bind=alt.binding_select(options=[value for value, _ in options], labels=[label for _, label in options],
                                name="Compute budget "),
    )
    rows = laws[list(LAW_COLUMNS)].assign(row=[str(k) for k in range(len(laws))])
    order = ["title", "gap", "header", *rows["row"]]  # the header's two lines take the gap's room
    y = alt.Y("row:N", axis=None, scale=alt.Scale(domain=order, padding=0))
    title = _readout_title(f"'Compute-optimal allocation at ' + {axes.flop_expr(BUDGET_PARAM)}").encode(
        x=alt.value(0), y=y)
    header = (
        alt.Chart(pd.DataFrame({"row": "header", "text": [name.replace(" per ", " per\n") for name, _ in TABLE_COLUMNS],
                                "x": [end for _, end in TABLE_COLUMNS]}))
        .mark_text(align="right", baseline="top", fontSize=12, fontWeight="bold", lineBreak="\n", lineHeight=14,
                   dy=-21)
        .encode(x=alt.X("x:Q", scale=None), y=y, text="text:N", tooltip=[alt.Tooltip("text:N", title="Column")])
    )
    base = alt.Chart(rows).encode(y=y)
    names = _readout_names(base, laws).encode(x=alt.value(0))
    cells = [layer.encode(x=alt.value(end))
             for layer, (_, end) in zip(_readout_values(base), TABLE_COLUMNS, strict=True)]
    return (
        alt.layer(title, header, names, *cells)
        .add_params(selector)
        .properties(
            width=TABLE_COLUMNS[-1][1], height=TABLE_ROW * len(order),
            description=_readout_description(initial_budget),
        )
    )


def _readout_description(initial_budget: float) -> str:
    return ("Table of compute-optimal parameters, tokens and tokens per parameter under each law "
            f"at the selected compute budget (initially {flop_text(initial_budget)}).")


def _readout_title(text_expr: str) -> alt.Chart:
    """The read-out's title (in the row ``"title"``), its text the Vega expression ``text_expr`` (lines broken at ``\\n``)."""
    return (
        alt.Chart(pd.DataFrame({"row": ["title"], "what": ["read-out of the selected budget"]}))
        .transform_calculate(text=text_expr)
        .mark_text(align="left", baseline="middle", fontSize=13, fontWeight="bold", lineBreak="\n", lineHeight=16)
        .encode(text="text:N", tooltip=[alt.Tooltip("what:N", title="Table")])
    )


def _readout_names(base: alt.Chart, laws: pd.DataFrame) -> alt.Chart:
    """The laws' names, in their approach's colour (``base``: the rows, placed vertically)."""
    return base.mark_text(align="left", baseline="middle", fontSize=12).encode(
        text="law:N", color=alt.Color("approach:N", scale=approach_colours(_approach_order(laws)), legend=None),
        tooltip=[alt.Tooltip("law:N", title="Law"), alt.Tooltip("source:N", title="Source"),
                 alt.Tooltip("note:N", title="How obtained")])


def _readout_values(base: alt.Chart, offsets: Sequence[float] | None = None) -> list[alt.Chart]:
    """Per value column of :data:`TABLE_COLUMNS`, the laws' values at the selected budget, right-aligned
    (``base``: the rows, placed vertically; ``offsets``: each column's ``dx`` in px from where it is placed)."""
    computed = (
        base.transform_calculate(C=BUDGET_PARAM)
        .transform_calculate(N_opt=_n_opt_expr("datum.C"))
        .transform_calculate(D_opt=f"datum.C / ({FLOP_PER_PARAMETER_TOKEN:g} * datum.N_opt)")
        .transform_calculate(C_text=axes.flop_expr("datum.C"))
    )
    expressions = (axes.count_expr("datum.N_opt"), axes.count_expr("datum.D_opt"),
                   "format(datum.D_opt / datum.N_opt, '.3~r')")
    shifts = [{"dx": dx} for dx in offsets] if offsets is not None else [{}] * len(TABLE_COLUMNS)
    return [
        computed.transform_calculate(value=expr)
        .mark_text(align="right", baseline="middle", fontSize=12, **shift)
        .encode(text="value:N",
                tooltip=[alt.Tooltip("law:N", title="Law"), alt.Tooltip("C_text:N", title="Budget"),
                         alt.Tooltip("value:N", title=name), alt.Tooltip("source:N", title="Source"),
                         alt.Tooltip("value_kind:N", title="Value kind")])
        for (name, _), expr, shift in zip(TABLE_COLUMNS, expressions, shifts, strict=True)
    ]


def budget_readout_phone(laws: pd.DataFrame, initial_budget: float) -> alt.LayerChart:
    """The read-out of :func:`budget_readout_chart` for a phone's column: each law's name on one line and
    its three values on the next, the title on two lines, the value columns :data:`PHONE_COLUMNS` from the
    view's right edge (so the text keeps its size however wide the loader draws the view).

    It reads the parameter :data:`BUDGET_PARAM` and declares none: in :func:`compute_optimal_figure` it
    replaces the wide read-out (which declares the selector) on narrow screens.
    """
    right_edge = alt.X(datum=1, type="quantitative", scale=alt.Scale(domain=[0, 1], nice=False, zero=True), axis=None)
    rows = laws[list(LAW_COLUMNS)].reset_index(drop=True)
    rows = rows.assign(name_y=PHONE_FIRST_LAW + PHONE_LAW * rows.index.to_numpy(),
                       value_y=PHONE_FIRST_LAW + PHONE_LAW * rows.index.to_numpy() + 16)
    title = _readout_title(f"'Compute-optimal allocation\\nat ' + {axes.flop_expr(BUDGET_PARAM)}").encode(
        x=alt.value(0), y=alt.value(8))
    header = (
        alt.Chart(pd.DataFrame({"text": [name.replace(" per ", " per\n") for name, _ in TABLE_COLUMNS],
                                "dx": list(PHONE_COLUMNS)}))
        .mark_text(align="right", baseline="top", fontSize=12, fontWeight="bold", lineBreak="\n", lineHeight=14,
                   dx=alt.ExprRef("datum.dx"))
        .encode(x=right_edge, y=alt.value(PHONE_FIRST_LAW - 40), text="text:N",
                tooltip=[alt.Tooltip("text:N", title="Column")])
    )
    names = _readout_names(alt.Chart(rows), laws).encode(x=alt.value(0), y=alt.Y("name_y:Q", scale=None))
    values_base = alt.Chart(rows).encode(y=alt.Y("value_y:Q", scale=None))
    cells = [layer.encode(x=right_edge) for layer in _readout_values(values_base, PHONE_COLUMNS)]
    return alt.layer(title, header, names, *cells).properties(
        width=TABLE_COLUMNS[-1][1], height=PHONE_FIRST_LAW + PHONE_LAW * len(rows) - 10,
        description=_readout_description(initial_budget))


def compute_optimal_figure(
    laws: pd.DataFrame,
    bands: pd.DataFrame,
    models: pd.DataFrame,
    *,
    initial_budget: float,
    reference: str,
    named_budgets: Mapping[str, float] | None = None,
    c_range: tuple[float, float] = (1e17, 1e26),
    n_range: tuple[float, float] = (1e7, 1e13),
) -> alt.VConcatChart:
    """The chapter's figure: :func:`optimal_size_chart`, below it :func:`relative_size_chart` against the
    law ``reference``, and :func:`budget_readout_chart`; the plots and the table share their left edge."""
    family = alt.selection_point(fields=["approach"], bind="legend", name="family")
    top = optimal_size_chart(laws, bands, models, c_range=c_range, n_range=n_range, initial_budget=initial_budget,
                             family=family)
    middle = relative_size_chart(laws, bands, reference, c_range=c_range, family=family)
    bottom = budget_readout_chart(laws, initial_budget, named_budgets, c_range=c_range).properties(name=READOUT_VIEW)
    chart = (
        alt.vconcat(top, middle, bottom, spacing=AXIS_GAP, bounds="flush")
        .resolve_scale(color="independent", strokeDash="independent")
        .properties(description=f"{top.description} Below it, {middle.description[0].lower()}"
                                f"{middle.description[1:]} Below that, {bottom.description[0].lower()}"
                                f"{bottom.description[1:]}")
    )
    phone_names = phone_model_names(models, _name_obstacles(law_lines(laws, c_range), n_range, initial_budget),
                                    c_range, n_range, *_size_axes(c_range, n_range))
    law_sources = [re.sub(r"\s*\([^()]*\)$", "", str(text)) for text in laws["source"]]  # without the trailing detail
    rows = pd.concat([laws, models], ignore_index=True)
    return with_source(chart, models, sources=list(dict.fromkeys(law_sources)), fits="this book", data=rows,
                       narrow={"labels": "hide", "phone_labels": phone_names, "legend_columns": 1,
                               "replace": {READOUT_VIEW: budget_readout_phone(laws, initial_budget)}})
