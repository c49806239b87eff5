"""Charts of chapter 4: compute-optimal model size against training compute.

The chapter's figure redraws Figure 1 of Hoffmann et al. (2022): the compute-optimal model size
``N_opt`` (parameters) as a function of the training budget ``C`` (FLOP) according to several
scaling laws, with large models placed at their real size and budget. Every law here is a
power law ``N_opt(C) = n_ref * (C / c_ref) ** a``, so one table row describes it completely and
the same row drives the lines, the slider read-out and the tooltips.

Inputs are plain tables so the charts work for any set of laws:

``laws`` -- one row per law, columns
    ``approach`` (family shown by colour, e.g. ``"Approach 2"``), ``variant`` (``"published"`` or
    ``"fitted here"``, shown by dash), ``law`` (display label), ``a`` (exponent of ``N_opt`` in
    ``C``), ``c_ref`` (FLOP), ``n_ref`` (parameters at ``c_ref``), ``source`` (citation text),
    ``value_kind`` (``exact``/``approximate``/``fitted``) and ``note`` (how the law was obtained).
``bands`` -- bootstrap bands, columns ``law``, ``approach``, ``C`` (FLOP), ``N_lo``, ``N_hi``
    (parameters), ``level`` (e.g. 0.95).
``models`` -- named models, columns ``name``, ``N`` (parameters), ``D`` (tokens), ``C`` (FLOP),
    ``source`` and ``value_kind``.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from analysis.charts import axes
from analysis.charts.layers import Axis, place_labels, radial_candidates
from analysis.charts.parametric_loss import STAR
from analysis.charts.theme import CATEGORICAL, GUIDE_COLOR, HEIGHT, INK, MUTED_OPACITY, NAMED_MODEL_COLOR
from analysis.fit.laws import FLOP_PER_PARAMETER_TOKEN, PowerLaw
from analysis.text import format_power, format_si

BUDGET_PARAM = "log_budget"
"""Name of the Vega parameter holding log10 of the selected compute budget (FLOP)."""

VARIANT_DASH = {"published": [7, 4], "fitted here": [1, 0]}

CHART_WIDTH = 440
"""Plot width (px): with the axis and the legends to its right the figure fits the 768 px text column unscaled."""

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


def law_lines(laws: pd.DataFrame, c_range: tuple[float, float], points: int = 40) -> pd.DataFrame:
    """Evaluate every law on a log grid of budgets: one row per (law, C) with ``N`` in parameters."""
    missing = [column for column in LAW_COLUMNS if column not in laws.columns]
    if missing:
        raise ValueError(f"laws table lacks columns {missing}")
    budgets = np.geomspace(c_range[0], c_range[1], points)
    rows = []
    for law in laws.itertuples(index=False):
        n_opt = PowerLaw(law.a, law.c_ref, law.n_ref)(budgets)
        rows.append(
            pd.DataFrame(
                {
                    "approach": law.approach,
                    "variant": law.variant,
                    "law": law.law,
                    "C": budgets,
                    "N": n_opt,
                    "C_label": [_flop_label(c) for c in budgets],
                    "N_label": [format_si(n) for n in n_opt],
                    "a": law.a,
                    "source": law.source,
                    "value_kind": law.value_kind,
                    "note": law.note,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _flop_label(C: float) -> str:
    return format_power(float(C), 3, unit="FLOP")


MODEL_LABEL_SIZE = 12
"""Font size (px) of the models' names."""


def model_label_positions(
    models: pd.DataFrame,
    lines: Sequence[tuple[Sequence[float], Sequence[float]]],
    c_range: tuple[float, float],
    n_range: tuple[float, float],
    width: float = CHART_WIDTH,
    height: float = HEIGHT - 20,
) -> pd.DataFrame:
    """Where to write each model's name: clear of the other stars, the law ``lines`` (``(C, N)``
    vertex sequences) and the other names, as near its star as that allows.

    Returns a frame aligned with ``models``: ``label_C`` (FLOP) and ``label_N`` (parameters) of
    the text anchor, ``label_align``, ``label_baseline``, and for a name set away from its
    star a leader line (``leader`` true) from the star to ``leader_C``, ``leader_N``, just short
    of the text. Positions are in data units so names and leaders follow zoom and pan.
    """
    c_axis, n_axis = Axis(c_range, log=True), Axis(n_range, log=True)
    placed = place_labels(models["C"], models["N"], models["name"], c_axis, n_axis, width, height, lines,
                          candidates=radial_candidates((16, 26, 38, 52, 68, 86, 106)),
                          font_size=MODEL_LABEL_SIZE, point_radius=9)
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


def _band_layer(bands: pd.DataFrame, x: alt.X, n_range: tuple[float, float], colour: alt.Color,
                family: alt.Parameter) -> alt.Chart:
    band_frame = bands.assign(
        C_label=[_flop_label(c) for c in bands["C"]],
        interval=[f"{format_si(lo)} to {format_si(hi)}" for lo, hi in zip(bands["N_lo"], bands["N_hi"], strict=True)],
    )
    return (
        alt.Chart(band_frame)
        .mark_area(clip=True)
        .encode(
            x=x, y=alt.Y("N_lo:Q", scale=alt.Scale(type="log", domain=list(n_range))), y2="N_hi:Q",
            color=colour,
            detail="law:N",
            opacity=alt.condition(family, alt.value(0.13), alt.value(0.03)),
            tooltip=[
                alt.Tooltip("law:N", title="Law"),
                alt.Tooltip("C_label:N", title="Budget"),
                alt.Tooltip("interval:N", title="Bootstrap interval"),
                alt.Tooltip("level:Q", title="Level", format=".0%"),
            ],
        )
    )


def _law_line_layer(lines_frame: pd.DataFrame, x: alt.X, y: alt.Y, colour: alt.Color,
                    family: alt.Parameter) -> alt.Chart:
    zoom = alt.selection_interval(bind="scales", name="zoom_compute_optimal")
    return (
        alt.Chart(lines_frame)
        .mark_line(clip=True)
        .encode(
            x=x, y=y, color=colour, detail="law:N", opacity=alt.condition(family, alt.value(1.0), alt.value(MUTED_OPACITY)),
            strokeDash=alt.StrokeDash("variant:N", title="Line", scale=alt.Scale(
                domain=list(VARIANT_DASH), range=list(VARIANT_DASH.values())),
                legend=alt.Legend(orient="none", legendX=CHART_WIDTH + 14, legendY=100, symbolType="stroke",
                                  symbolSize=500, symbolStrokeWidth=2, symbolStrokeColor=INK)),
            tooltip=[
                alt.Tooltip("law:N", title="Law"),
                alt.Tooltip("C_label:N", title="Budget"),
                alt.Tooltip("N_label:N", title="Compute-optimal size"),
                alt.Tooltip("a:Q", title="Exponent a (N ∝ Cᵃ)", format=".3f"),
                alt.Tooltip("source:N", title="Source"),
                alt.Tooltip("value_kind:N", title="Value kind"),
                alt.Tooltip("note:N", title="How obtained"),
            ],
        )
        .add_params(family, zoom)
    )


def _model_layers(models: pd.DataFrame, obstacles: list, c_range: tuple[float, float], n_range: tuple[float, float],
                  x: alt.X, y: alt.Y) -> list[alt.Chart]:
    """Stars at the models' size and budget, their names placed clear of the lines, and leader lines."""
    model_frame = models.assign(
        N_label=[format_si(n) + " parameters" for n in models["N"]],
        D_label=[format_si(d) + " tokens" for d in models["D"]],
        C_label=[_flop_label(c) for c in models["C"]],
    )
    model_tooltip = [
        alt.Tooltip("name:N", title="Model"),
        alt.Tooltip("N_label:N", title="Size"),
        alt.Tooltip("D_label:N", title="Training tokens"),
        alt.Tooltip("C_label:N", title="Budget (6ND)"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("value_kind:N", title="Value kind"),
    ]
    model_frame = pd.concat([model_frame.reset_index(drop=True),
                             model_label_positions(model_frame, obstacles, c_range, n_range)], axis=1)
    model_base = alt.Chart(model_frame).encode(x=x, y=y, tooltip=model_tooltip)
    leaders = model_base.transform_filter("datum.leader").mark_rule(color=GUIDE_COLOR, strokeWidth=0.8).encode(
        x2="leader_C:Q", y2="leader_N:Q")
    label_base = alt.Chart(model_frame).encode(
        x=alt.X("label_C:Q", scale=alt.Scale(type="log", domain=list(c_range))),
        y=alt.Y("label_N:Q", scale=alt.Scale(type="log", domain=list(n_range))), text="name:N", tooltip=model_tooltip)
    label = {"fontSize": MODEL_LABEL_SIZE, "align": alt.ExprRef("datum.label_align"),
             "baseline": alt.ExprRef("datum.label_baseline")}
    return [
        leaders,
        model_base.mark_point(shape=STAR, size=260, filled=True, color=NAMED_MODEL_COLOR, opacity=1),
        label_base.mark_text(**label, stroke="white", strokeWidth=4, strokeJoin="round"),
        label_base.mark_text(**label),
    ]


def _budget_layers(laws: pd.DataFrame, x: alt.X, y: alt.Y, colour: alt.Color) -> list[alt.Chart]:
    """A rule at the budget the slider holds and a marker per law at its compute-optimal size there."""
    budget = f"pow(10, {BUDGET_PARAM})"
    rule_data = pd.DataFrame({"what": ["selected budget"]})
    rule = (
        alt.Chart(rule_data)
        .transform_calculate(C=budget, C_text=axes.flop_expr("datum.C"))
        .mark_rule(color=GUIDE_COLOR, strokeDash=[2, 2])
        .encode(x=x, tooltip=[alt.Tooltip("what:N", title="Rule"), alt.Tooltip("C_text:N", title="Budget")])
    )
    markers = (
        alt.Chart(laws[list(LAW_COLUMNS)])
        .transform_calculate(C=budget, N=_n_opt_expr("datum.C"))
        .transform_calculate(N_text=axes.count_expr("datum.N"), C_text=axes.flop_expr("datum.C"))
        .mark_point(filled=True, size=55, opacity=1, clip=True)
        .encode(
            x=x, y=y, color=colour,
            shape=alt.Shape("variant:N", title="Line", scale=alt.Scale(domain=list(VARIANT_DASH),
                            range=["circle", "diamond"]), legend=None),
            tooltip=[alt.Tooltip("law:N", title="Law"), alt.Tooltip("C_text:N", title="Budget"),
                     alt.Tooltip("N_text:N", title="Compute-optimal size"),
                     alt.Tooltip("source:N", title="Source")],
        )
    )
    return [rule, markers]


def optimal_size_chart(
    laws: pd.DataFrame,
    bands: pd.DataFrame,
    models: pd.DataFrame,
    *,
    c_range: tuple[float, float] = (1e17, 1e26),
    n_range: tuple[float, float] = (1e7, 1e13),
    initial_budget: float | None = None,
) -> alt.LayerChart:
    """Compute-optimal parameters against training FLOP: laws as lines, bands, named models.

    Args:
        laws: one row per power law (see the module docstring).
        bands: bootstrap bands of the fitted laws (parameters at each budget), may be empty.
        models: named models at their real size ``N`` and budget ``C = 6 N D``.
        c_range: budget axis range in FLOP.
        n_range: parameter axis range.
        initial_budget: when given, a vertical rule and a marker per law show ``N_opt`` at the
            budget held by the Vega parameter :data:`BUDGET_PARAM` (which the slider of
            :func:`budget_readout_chart` sets); the parameter is declared by that chart.
    """
    colour = alt.Color("approach:N", title="Scaling law", scale=approach_colours(_approach_order(laws)),
                       legend=alt.Legend(orient="none", legendX=CHART_WIDTH + 14, legendY=0, symbolType="stroke",
                                         symbolOpacity=1, symbolStrokeWidth=3))
    family = alt.selection_point(fields=["approach"], bind="legend", name="family")
    x = alt.X("C:Q", title="Training compute (FLOP)", scale=alt.Scale(type="log", domain=list(c_range)),
              axis=axes.flop_axis(c_range, label_every=2))
    y = alt.Y("N:Q", title="Parameters", scale=alt.Scale(type="log", domain=list(n_range)),
              axis=axes.count_axis(n_range))
    lines_frame = law_lines(laws, c_range)
    layers: list[alt.Chart] = []
    if len(bands):
        layers.append(_band_layer(bands, x, n_range, colour, family))
    layers.append(_law_line_layer(lines_frame, x, y, colour, family))
    obstacles = [(group["C"], group["N"]) for _, group in lines_frame.groupby("law")]
    if initial_budget is not None:
        obstacles.append(([initial_budget, initial_budget], list(n_range)))
    layers += _model_layers(models, obstacles, c_range, n_range, x, y)
    if initial_budget is not None:
        layers += _budget_layers(laws, x, y, colour)
    description = (
        "Log-log chart of compute-optimal model size (parameters) against training compute (FLOP). "
        f"Lines: {', '.join(laws['law'])}. Shaded bands: bootstrap intervals of the laws fitted here. "
        f"Stars: {', '.join(models['name'])} at their actual size and training budget (C = 6ND)."
    )
    return alt.layer(*layers).properties(width=CHART_WIDTH, height=HEIGHT - 20, description=description)


def budget_readout_chart(laws: pd.DataFrame, initial_budget: float,
                         c_range: tuple[float, float] = (1e17, 1e26)) -> alt.Chart:
    """A table, driven by a compute-budget slider, of N_opt, D_opt and tokens per parameter per law.

    The slider sets the Vega parameter :data:`BUDGET_PARAM` (log10 of the budget in FLOP, steps
    of 0.001, so ``initial_budget`` is shown to three significant figures); ``D_opt = C / (6 N_opt)`` for every
    law, the convention ``C = 6 N D`` of the chapter.
    In the static (print) variant the slider is dropped and the table shows ``initial_budget``.
    """
    slider = alt.param(
        name=BUDGET_PARAM,
        value=round(float(np.log10(initial_budget)), 3),
        bind=alt.binding_range(min=np.log10(c_range[0]), max=np.log10(c_range[1]), step=0.001,
                               name="Compute budget (log10 FLOP) "),
    )
    columns = ["Parameters", "Tokens", "Tokens per parameter"]
    chart = (
        alt.Chart(laws[list(LAW_COLUMNS)])
        .add_params(slider)
        .transform_calculate(C=f"pow(10, {BUDGET_PARAM})")
        .transform_calculate(N_opt=_n_opt_expr("datum.C"))
        .transform_calculate(D_opt=f"datum.C / ({FLOP_PER_PARAMETER_TOKEN:g} * datum.N_opt)")
        .transform_calculate(
            **{
                columns[0]: axes.count_expr("datum.N_opt"),
                columns[1]: axes.count_expr("datum.D_opt"),
                columns[2]: "format(datum.D_opt / datum.N_opt, '.3~r')",
                "C_text": axes.flop_expr("datum.C"),
            }
        )
        .transform_fold(columns, as_=["quantity", "value"])
        .mark_text(align="center", baseline="middle", fontSize=12)
        .encode(
            x=alt.X("quantity:N", sort=columns, title=None,
                    axis=alt.Axis(orient="top", labelAngle=0, domain=False, ticks=False, labelFontWeight="bold",
                                  labelOverlap=False)),
            y=alt.Y("law:N", sort=list(laws["law"]), title=None,
                    axis=alt.Axis(domain=False, ticks=False, grid=False, labelLimit=320)),
            text="value:N",
            tooltip=[alt.Tooltip("law:N", title="Law"), alt.Tooltip("C_text:N", title="Budget"),
                     alt.Tooltip("quantity:N", title="Quantity"), alt.Tooltip("value:N", title="Value"),
                     alt.Tooltip("source:N", title="Source"), alt.Tooltip("value_kind:N", title="Value kind")],
        )
        .properties(
            width=CHART_WIDTH - 40,
            height=19 * len(laws),
            title=alt.TitleParams(
                text=alt.ExprRef(f"'Compute-optimal allocation at ' + {axes.flop_expr('pow(10, ' + BUDGET_PARAM + ')')}")),
            description=(
                "Table of compute-optimal parameters, tokens and tokens per parameter under each law "
                f"at the selected compute budget (initially {_flop_label(initial_budget)})."
            ),
        )
    )
    return chart


def compute_optimal_figure(
    laws: pd.DataFrame,
    bands: pd.DataFrame,
    models: pd.DataFrame,
    *,
    initial_budget: float,
    c_range: tuple[float, float] = (1e17, 1e26),
    n_range: tuple[float, float] = (1e7, 1e13),
) -> alt.VConcatChart:
    """The chapter's figure: :func:`optimal_size_chart` above :func:`budget_readout_chart`."""
    top = optimal_size_chart(laws, bands, models, c_range=c_range, n_range=n_range, initial_budget=initial_budget)
    bottom = budget_readout_chart(laws, initial_budget, c_range=c_range)
    return alt.vconcat(top, bottom, spacing=28).resolve_scale(color="independent", shape="independent").properties(
        description=f"{top.description} Below it, {bottom.description[0].lower()}{bottom.description[1:]}"
    )
