"""Charts of chapter 5 (and of ``atlas report``): the parametric loss L(N, D) and its fit.

The chapter redraws Figure 4 of Hoffmann et al. (2022). The functions take generic inputs, so
they serve any set of training runs, not only the Chinchilla ones:

``runs`` -- one row per training run, columns ``N`` (parameters), ``D`` (tokens), ``C`` (FLOP),
    ``loss`` (nats per token) and, for the IsoFLOP charts, ``budget`` (the FLOP budget of the
    slice the run belongs to, NaN for runs in no slice).
``law`` -- a parametric loss ``L(N, D) = E + A / N**alpha + B / D**beta``: an
    :class:`analysis.fit.laws.ParametricLaw` (a fit's ``result.law``, or a published law).
``markers`` -- named models to mark, columns ``name``, ``N`` (parameters), ``C`` (FLOP),
    ``source`` and ``value_kind``.

With ``C = 6 N D`` the loss at a fixed budget is ``L(N, C / (6 N))``; the efficient frontier
is its minimum over N, ``N_opt(C) = G (C / 6) ** (beta / (alpha + beta))`` with
``G = (alpha A / (beta B)) ** (1 / (alpha + beta))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from analysis.charts.axes import count_axis, flop_axis, loss_axis, power_label_expr
from analysis.charts.source import with_source
from analysis.charts.theme import (
    CATEGORICAL,
    FIT_COLOR,
    FRONTIER_COLOR,
    GUIDE_COLOR,
    HEIGHT,
    INK,
    MUTED_OPACITY,
    NAMED_MODEL_COLOR,
    SEQUENTIAL_SCHEME,
)
from analysis.fit.laws import ParametricLaw, tokens_at_budget, training_flop
from analysis.text import format_power, format_si

STAR = "M0,-1L0.24,-0.32L0.95,-0.31L0.38,0.12L0.59,0.81L0,0.4L-0.59,0.81L-0.38,0.12L-0.95,-0.31L-0.24,-0.32Z"
"""A five-pointed star (SVG path in the unit square) marking named models."""

# ---------------------------------------------------------------------------------------------
# Curves of the law.


def isoloss_contours(
    law: ParametricLaw,
    levels: Sequence[float],
    n_range: tuple[float, float],
    c_range: tuple[float, float],
    points: int = 120,
) -> pd.DataFrame:
    """Curves of constant loss in the (C, N) plane: columns ``level``, ``N``, ``C``, ``D``.

    For a loss level L and size N the tokens solve ``B / D**beta = L - E - A / N**alpha``; sizes
    where the right side is not positive cannot reach L at any budget and are left out, as are
    points outside ``c_range``.
    """
    sizes = np.geomspace(n_range[0], n_range[1], points)
    rows = []
    for level in levels:
        all_tokens = law.isoloss_tokens(level, sizes)
        ok = np.isfinite(all_tokens)
        tokens = all_tokens[ok]
        budgets = training_flop(sizes[ok], tokens)
        inside = (budgets >= c_range[0]) & (budgets <= c_range[1])
        rows.append(pd.DataFrame({"level": level, "N": sizes[ok][inside], "D": tokens[inside], "C": budgets[inside]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["level", "N", "D", "C"])


# ---------------------------------------------------------------------------------------------
# Charts.

LOSS_TITLE = "Loss (nats/token)"
PANEL_WIDTH = 285
"""Width (px) of each Figure 4 panel: side by side they fit the 768 px text column unscaled."""
RUNS_READ_OFF_FIGURE = "approximate: read off a figure"
"""Default ``source_note`` of the runs in tooltips (the Chinchilla runs); ``None`` for measured runs."""
SLICE_SCHEME = alt.SchemeParams(name="plasma", extent=[0.0, 0.88])
"""Colours of the IsoFLOP slices by budget (log scale): a sequential scheme distinct from the loss colours."""
COLOUR_BAR_LENGTH = PANEL_WIDTH - 60
"""Length (px) of the colour bars under the panels."""


LOSS_TICKS = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0)
"""Tick values of the loss axis (nats/token) of the IsoFLOP panel, where they fall in its domain."""
LOSS_PAD = 1.05
"""The IsoFLOP panel's loss axis reaches this factor beyond the lowest and highest loss, so no point sits on the frame."""
LEVEL_MARGIN = 0.02
"""A contour level must exceed the irreducible loss E by this much (nats/token) to be drawn."""
CURVE_SPAN = 1.5
"""Each IsoFLOP curve extends this factor beyond the smallest and largest size of its slice."""


def _loss_levels(law: ParametricLaw, runs: pd.DataFrame, count: int = 8) -> list[float]:
    """Loss levels spread evenly in log(L - E) over the observed losses (lowest to the 95th
    percentile), kept above the irreducible loss E and rounded to 0.05 nats/token."""
    low, high = float(runs["loss"].min()), float(np.quantile(runs["loss"], 0.95))
    floor = float(law.E) + LEVEL_MARGIN
    if high <= floor:
        return []
    excess = np.geomspace(max(low, floor) - float(law.E), high - float(law.E), count)
    levels = np.round((float(law.E) + excess) * 20) / 20
    return sorted({float(level) for level in levels if level > floor})


def _loss_colour(levels: list[float], losses: pd.Series) -> tuple[alt.Fill, alt.Scale]:
    """Loss colour (viridis, low loss light, log scale) over every contour level and every run, with a
    colour bar; and the scale for the contours' ``stroke`` (see :func:`_stroke_twin`)."""
    domain = [min(min(levels, default=np.inf), float(losses.min())), float(losses.max())]
    scale = alt.Scale(type="log", scheme=SEQUENTIAL_SCHEME, domain=domain, reverse=True, nice=False)
    colour = alt.Fill("loss:Q", title=LOSS_TITLE, scale=scale,
                      legend=alt.Legend(type="gradient", orient="bottom", direction="horizontal", format=".1f",
                                        gradientLength=COLOUR_BAR_LENGTH, values=_loss_ticks(domain)))
    return colour, _stroke_twin(domain, scheme=SEQUENTIAL_SCHEME, reverse=True)


def _stroke_twin(domain: Sequence[float], **scheme: Any) -> alt.Scale:
    """A log scale for ``stroke`` that colours like the ``fill`` scale over ``domain`` but is not merged with it.

    Vega-Lite merges legends whose scales have equal domains into one legend, and Vega draws a legend
    shared by fill and stroke as symbols, not as a colour bar; an upper bound larger by one part in
    10⁹ keeps the two apart and changes no colour that can be seen.
    """
    return alt.Scale(type="log", domain=[float(domain[0]), float(domain[1]) * (1 + 1e-9)], nice=False, **scheme)


def _loss_ticks(domain: Sequence[float]) -> list[float]:
    """Round loss values (nats/token) to label a colour bar or axis spanning ``domain``."""
    return [t for t in (1.8, 2.0, 2.2, 2.5, 3.0, 3.5, 4.0, 5.0) if domain[0] <= t <= domain[1]]


def contour_label_points(contours: pd.DataFrame, c_range: tuple[float, float],
                         n_range: tuple[float, float]) -> pd.DataFrame:
    """Where to write each contour's loss: ``level``, ``C``, ``N``, one row per level.

    At the point nearest (in log units) to a spot near the right edge of the plot, two fifths of a
    decade in, where the contours run almost level and no runs are; a contour that leaves through
    the top before reaching it is labelled where it leaves, a tenth of the height below the edge.
    """
    target_c = math.log10(c_range[1]) - 0.4
    top = math.log10(n_range[1]) - 0.1 * math.log10(n_range[1] / n_range[0])
    rows = []
    for level, group in contours.groupby("level"):
        inside = group[(np.log10(group["N"]) <= top) & (group["C"] <= c_range[1])]
        if inside.empty:
            continue
        spot = inside.iloc[int(np.argmin(np.abs(np.log10(inside["C"].to_numpy(float)) - target_c)))]
        rows.append({"level": float(level), "C": float(spot["C"]), "N": float(spot["N"])})
    return pd.DataFrame(rows, columns=["level", "C", "N"])


def slice_selection() -> alt.Parameter:
    """The IsoFLOP-slice selection shared by both panels of :func:`isoloss_isoflop_figure`.

    A click on a slice's curve or run selects it; shift-click adds more; a double click clears.
    """
    return alt.selection_point(fields=["budget"], on="click", clear="dblclick", name="slice")


def _size_label(N: float) -> str:
    return format_si(float(N)) + " parameters"


def _flop_label(C: float) -> str:
    return format_power(float(C), 3, unit="FLOP")


def _slice_label(budget: float) -> str:
    return format_power(float(budget), 2, unit="FLOP")


def _decade_range(values: np.ndarray) -> tuple[float, float]:
    """The whole powers of ten around ``values`` (all positive)."""
    return 10.0 ** math.floor(math.log10(values.min())), 10.0 ** math.ceil(math.log10(values.max()))


def _marker_frame(markers: pd.DataFrame, law: ParametricLaw) -> pd.DataFrame:
    tokens = tokens_at_budget(markers["C"], markers["N"])
    return markers.assign(
        D=tokens,
        loss=law.loss(markers["N"], tokens),
        N_label=[_size_label(n) for n in markers["N"]],
        C_label=[_flop_label(c) for c in markers["C"]],
    )


def _run_frame(runs: pd.DataFrame) -> pd.DataFrame:
    frame = runs[["N", "D", "C", "loss"]].copy()
    frame["budget"] = runs.get("budget", np.nan)
    frame["N_label"] = [_size_label(n) for n in frame["N"]]
    frame["D_label"] = [format_si(float(d)) + " tokens" for d in frame["D"]]
    frame["C_label"] = [_flop_label(c) for c in frame["C"]]
    frame["slice"] = [_slice_label(b) if np.isfinite(b) else "none" for b in frame["budget"]]
    return frame


def _runs_source(source: str, source_note: str | None) -> str:
    return alt.expr.toString(source + (f" ({source_note})" if source_note else ""))


def _named_model_layers(marks: pd.DataFrame, x: alt.X, y: alt.Y, tooltip: list[alt.Tooltip],
                        text: dict[str, object]) -> list[alt.Chart]:
    """A star at each named model and its name beside it (``text``: the name's mark properties)."""
    base = alt.Chart(marks).encode(x=x, y=y, tooltip=tooltip)
    return [base.mark_point(shape=STAR, size=240, filled=True, color=NAMED_MODEL_COLOR, opacity=1),
            base.mark_text(**text, fontSize=12).encode(text="name:N")]


def _contour_layers(law: ParametricLaw, levels: list[float], c_range: tuple[float, float],
                    n_range: tuple[float, float], x: alt.X, y: alt.Y, scale: alt.Scale) -> list[alt.Chart]:
    """The IsoLoss contours, coloured by loss, each labelled with its loss (:func:`contour_label_points`).

    The lines take the loss colours through ``stroke`` (``scale``, from :func:`_stroke_twin`), so the
    runs' ``fill`` legend stays a colour bar.
    """
    contours = isoloss_contours(law, levels, n_range, c_range)
    labels = contour_label_points(contours, c_range, n_range)
    contours["C_label"] = [_flop_label(c) for c in contours["C"]]
    contours["N_label"] = [_size_label(n) for n in contours["N"]]
    labels["text"] = [f"{v:.2f}" for v in labels["level"]]
    tooltip = [alt.Tooltip("level:Q", title="IsoLoss contour (nats/token)", format=".2f"),
               alt.Tooltip("fit:N", title="From")]
    lines = (
        alt.Chart(contours)
        .mark_line(strokeWidth=1.3, opacity=0.85, clip=True)
        .encode(x=x, y=y, stroke=alt.Stroke("level:Q", scale=scale, legend=None), detail="level:Q", order="N:Q",
                tooltip=[*tooltip, alt.Tooltip("N_label:N", title="Size"), alt.Tooltip("C_label:N", title="Budget")])
        .transform_calculate(fit="'fitted L(N, D)'")
    )
    text = alt.Chart(labels).transform_calculate(fit="'fitted L(N, D)'").encode(x=x, y=y, text="text:N", tooltip=tooltip)
    return [lines, text.mark_text(fontSize=10, stroke="white", strokeWidth=3, strokeJoin="round"),
            text.mark_text(fontSize=10, color=INK)]


def _frontier_layer(law: ParametricLaw, c_range: tuple[float, float], x: alt.X, y: alt.Y) -> alt.Chart:
    budgets = np.geomspace(c_range[0], c_range[1], 60)
    frontier = pd.DataFrame({"C": budgets, "N": law.n_opt(budgets)})
    frontier["C_label"] = [_flop_label(c) for c in frontier["C"]]
    frontier["N_label"] = [_size_label(n) for n in frontier["N"]]
    frontier["loss_label"] = [f"{v:.3f}" for v in law.loss_at_size(frontier["N"], frontier["C"])]
    return (
        alt.Chart(frontier)
        .mark_line(color=FRONTIER_COLOR, strokeWidth=2.5, clip=True)
        .encode(x=x, y=y, tooltip=[alt.Tooltip("C_label:N", title="Budget"),
                                    alt.Tooltip("N_label:N", title="Efficient frontier: N_opt"),
                                    alt.Tooltip("loss_label:N", title="Predicted loss (nats/token)")])
    )


def isoloss_frontier_chart(
    runs: pd.DataFrame,
    law: ParametricLaw,
    markers: pd.DataFrame,
    *,
    source: str,
    c_range: tuple[float, float] | None = None,
    n_range: tuple[float, float] | None = None,
    selection: alt.Parameter | None = None,
    source_note: str | None = RUNS_READ_OFF_FIGURE,
) -> alt.LayerChart:
    """Left panel: IsoLoss contours, the efficient frontier, IsoFLOP slices and runs by loss.

    Args:
        runs: training runs (see the module docstring); ``budget`` marks the slices.
        law: the fitted parametric loss.
        markers: named models to mark at their size and budget (e.g. Gopher).
        source: where the runs come from, shown in tooltips.
        c_range, n_range: axis ranges in FLOP and parameters (default: the runs and markers, to
            whole decades).
        selection: the shared slice selection (:func:`slice_selection`); when given, runs and
            slice rules outside the selected slices are dimmed.
    """
    c_range = c_range or _decade_range(np.concatenate([runs["C"], markers["C"]]))
    n_range = n_range or _decade_range(np.concatenate([runs["N"], markers["N"]]))
    x = alt.X("C:Q", title="Training compute (FLOP)", scale=alt.Scale(type="log", domain=list(c_range)),
              axis=flop_axis(c_range, label_every=2))
    y = alt.Y("N:Q", title="Model size (parameters)", scale=alt.Scale(type="log", domain=list(n_range)),
              axis=count_axis(n_range))
    frame = _run_frame(runs)
    levels = _loss_levels(law, runs)
    colour, loss_scale = _loss_colour(levels, frame["loss"])
    slices = frame.dropna(subset=["budget"]).groupby("budget", as_index=False).agg(runs=("N", "size"))
    slices["slice"] = [_slice_label(b) for b in slices["budget"]]
    slice_opacity = alt.condition(selection, alt.value(0.9), alt.value(0.2)) if selection else alt.value(0.6)
    slice_layer = (
        alt.Chart(slices)
        .mark_rule(strokeDash=[4, 3], color=GUIDE_COLOR)
        .encode(x=alt.X("budget:Q", scale=alt.Scale(type="log", domain=list(c_range))), opacity=slice_opacity,
                tooltip=[alt.Tooltip("slice:N", title="IsoFLOP slice"), alt.Tooltip("runs:Q", title="Runs")])
    )
    run_opacity = alt.condition(selection, alt.value(0.95), alt.value(MUTED_OPACITY)) if selection else alt.value(0.9)
    run_layer = (
        alt.Chart(frame)
        .mark_point(size=38, filled=True, stroke=INK, strokeWidth=0.4)
        .encode(x=x, y=y, fill=colour, opacity=run_opacity,
                tooltip=[alt.Tooltip("N_label:N", title="Size"), alt.Tooltip("D_label:N", title="Tokens"),
                         alt.Tooltip("C_label:N", title="Budget"), alt.Tooltip("loss:Q", title=LOSS_TITLE, format=".3f"),
                         alt.Tooltip("slice:N", title="IsoFLOP slice"), alt.Tooltip("source:N", title="Source")])
        .transform_calculate(source=_runs_source(source, source_note))
    )
    marks = _marker_frame(markers, law)
    tooltip = [alt.Tooltip("name:N", title="Model"), alt.Tooltip("N_label:N", title="Size"),
               alt.Tooltip("C_label:N", title="Budget"), alt.Tooltip("source:N", title="Source"),
               alt.Tooltip("value_kind:N", title="Value kind")]
    layers = [*_contour_layers(law, levels, c_range, n_range, x, y, loss_scale), slice_layer,
              _frontier_layer(law, c_range, x, y), run_layer,
              *_named_model_layers(marks, x, y, tooltip, {"align": "right", "dx": -10, "dy": -8})]
    description = (
        f"Log-log chart of model size against training compute for {len(frame)} training runs coloured by final "
        f"loss, with IsoLoss contours of the fitted loss at {', '.join(f'{v:.1f}' for v in levels)} nats per token, "
        f"the efficient frontier (the size with the lowest predicted loss at each budget), dashed vertical lines "
        f"at the {len(slices)} IsoFLOP budgets" + (f", and {', '.join(marks['name'])} marked." if len(marks) else ".")
    )
    return alt.layer(*layers).properties(width=PANEL_WIDTH, height=HEIGHT - 40, description=description)


def _slice_curves(frame: pd.DataFrame, law: ParametricLaw) -> pd.DataFrame:
    """The fitted loss along each slice's budget, over the slice's sizes widened by :data:`CURVE_SPAN`."""
    curves = []
    for budget, group in frame.groupby("budget"):
        sizes = np.geomspace(group["N"].min() / CURVE_SPAN, group["N"].max() * CURVE_SPAN, 50)
        curves.append(pd.DataFrame({"budget": budget, "N": sizes, "loss": law.loss_at_size(sizes, budget)}))
    curve_frame = pd.concat(curves, ignore_index=True)
    curve_frame["slice"] = [_slice_label(b) for b in curve_frame["budget"]]
    curve_frame["N_label"] = [_size_label(n) for n in curve_frame["N"]]
    return curve_frame


def _marker_curve_layers(marks: pd.DataFrame, law: ParametricLaw, n_range: tuple[float, float],
                         x: alt.X, y: alt.Y) -> list[alt.Chart]:
    """For each named model: the fitted curve at its budget (dashed) and a ring at the curve's minimum."""
    marker_curves, optima = [], []
    for marker in marks.itertuples(index=False):
        n_opt = float(law.n_opt(marker.C))
        low, high = min(n_opt, marker.N) / 8, max(n_opt, marker.N) * 3
        sizes = np.geomspace(max(low, n_range[0]), min(high, n_range[1]), 60)
        marker_curves.append(pd.DataFrame({"name": marker.name, "N": sizes, "C_label": marker.C_label,
                                           "loss": law.loss_at_size(sizes, marker.C)}))
        optima.append({"name": marker.name, "N": n_opt, "C_label": marker.C_label, "N_label": _size_label(n_opt),
                       "loss": float(law.loss_at_size(n_opt, marker.C))})
    marker_curve_frame = (pd.concat(marker_curves, ignore_index=True) if marker_curves
                          else pd.DataFrame(columns=["name", "N", "C_label", "loss"]))
    marker_curve_frame["N_label"] = [_size_label(n) for n in marker_curve_frame["N"]]
    curve_layer = (
        alt.Chart(marker_curve_frame)
        .mark_line(strokeDash=[6, 3], color=NAMED_MODEL_COLOR, strokeWidth=1.5)
        .encode(x=x, y=y, detail="name:N",
                tooltip=[alt.Tooltip("name:N", title="Fitted curve at the budget of"),
                         alt.Tooltip("C_label:N", title="Budget"), alt.Tooltip("N_label:N", title="Size"),
                         alt.Tooltip("loss:Q", title="Predicted loss (nats/token)", format=".3f")])
    )
    optimum_layer = (
        alt.Chart(pd.DataFrame(optima, columns=["name", "N", "C_label", "N_label", "loss"]))
        .mark_point(shape="circle", size=110, filled=False, color=NAMED_MODEL_COLOR, strokeWidth=1.8)
        .encode(x=x, y=y, tooltip=[alt.Tooltip("name:N", title="Optimum of the curve at the budget of"),
                                    alt.Tooltip("C_label:N", title="Budget"),
                                    alt.Tooltip("N_label:N", title="Compute-optimal size"),
                                    alt.Tooltip("loss:Q", title="Predicted loss (nats/token)", format=".3f")])
    )
    return [curve_layer, optimum_layer]


def isoflop_slices_chart(
    runs: pd.DataFrame,
    law: ParametricLaw,
    markers: pd.DataFrame,
    *,
    source: str,
    n_range: tuple[float, float] | None = None,
    selection: alt.Parameter | None = None,
    source_note: str | None = RUNS_READ_OFF_FIGURE,
) -> alt.LayerChart:
    """Right panel: loss against model size for each IsoFLOP slice, with the fitted curves.

    Each slice's curve is the fitted loss at its budget, ``L(N, C / (6 N))``; each marker model
    gets the fitted curve at its own budget (dashed), a star at its actual size and a ring at
    the curve's minimum (the compute-optimal size for that budget).
    """
    frame = _run_frame(runs).dropna(subset=["budget"])
    marks = _marker_frame(markers, law)
    n_range = n_range or _decade_range(np.concatenate([frame["N"], marks["N"], law.n_opt(marks["C"])]))
    x = alt.X("N:Q", title="Model size (parameters)", scale=alt.Scale(type="log", domain=list(n_range)),
              axis=count_axis(n_range))
    lowest = min([float(frame["loss"].min()), *marks["loss"].astype(float)])
    loss_domain = [min(1.9, lowest / LOSS_PAD), float(frame["loss"].max()) * LOSS_PAD]
    y = alt.Y("loss:Q", title=LOSS_TITLE, scale=alt.Scale(type="log", domain=loss_domain, nice=False),
              axis=loss_axis([t for t in LOSS_TICKS if loss_domain[0] <= t <= loss_domain[1]]))
    budgets = frame["budget"].astype(float)
    budget_domain = [float(budgets.min()), float(budgets.max())]
    colour = alt.Fill("budget:Q", title="IsoFLOP budget (FLOP)",
                      scale=alt.Scale(type="log", scheme=SLICE_SCHEME, domain=budget_domain, nice=False),
                       legend=alt.Legend(type="gradient", orient="bottom", direction="horizontal",
                                         gradientLength=COLOUR_BAR_LENGTH, values=sorted(set(budgets))[::2],
                                         labelExpr=power_label_expr(), labelOverlap=True))
    opacity = alt.condition(selection, alt.value(1.0), alt.value(MUTED_OPACITY)) if selection else alt.value(0.9)
    curve_layer = (
        alt.Chart(_slice_curves(frame, law))
        .mark_line(strokeWidth=1.8)
        .encode(x=x, y=y, stroke=alt.Stroke("budget:Q", scale=_stroke_twin(budget_domain, scheme=SLICE_SCHEME),
                                                legend=None), opacity=opacity,
                detail="budget:Q",
                tooltip=[alt.Tooltip("slice:N", title="Fitted IsoFLOP curve"), alt.Tooltip("N_label:N", title="Size"),
                         alt.Tooltip("loss:Q", title="Predicted loss (nats/token)", format=".3f")])
    )
    run_layer = (
        alt.Chart(frame)
        .mark_point(size=42, filled=True, stroke=INK, strokeWidth=0.4)
        .encode(x=x, y=y, fill=colour, opacity=opacity,
                tooltip=[alt.Tooltip("slice:N", title="IsoFLOP slice"), alt.Tooltip("N_label:N", title="Size"),
                         alt.Tooltip("D_label:N", title="Tokens"), alt.Tooltip("C_label:N", title="Budget"),
                         alt.Tooltip("loss:Q", title=LOSS_TITLE, format=".3f"), alt.Tooltip("source:N", title="Source")])
        .transform_calculate(source=_runs_source(source, source_note))
    )
    if selection is not None:
        run_layer = run_layer.add_params(selection)
    tooltip = [alt.Tooltip("name:N", title="Model"), alt.Tooltip("N_label:N", title="Size"),
               alt.Tooltip("C_label:N", title="Budget"),
               alt.Tooltip("loss:Q", title="Fitted loss at this size and budget", format=".3f"),
               alt.Tooltip("source:N", title="Source"), alt.Tooltip("value_kind:N", title="Value kind")]
    layers = [curve_layer, run_layer, *_marker_curve_layers(marks, law, n_range, x, y),
              *_named_model_layers(marks, x, y, tooltip, {"align": "center", "dy": -16})]
    description = (
        f"Log-log chart of final loss against model size for {len(frame)} runs in "
        f"{frame['budget'].nunique()} IsoFLOP slices, coloured by the slice's training compute, with the fitted "
        f"loss curve of each slice."
        + (f" Dashed black: the fitted curve at the budget of {', '.join(marks['name'])}, "
           "with a star at the model's actual size and a ring at the curve's minimum." if len(marks) else "")
    )
    return alt.layer(*layers).properties(width=PANEL_WIDTH, height=HEIGHT - 40, description=description)


def isoloss_isoflop_figure(
    runs: pd.DataFrame, law: ParametricLaw, markers: pd.DataFrame, *, source: str
) -> alt.HConcatChart:
    """Both panels side by side; clicking a slice's curve or run highlights it in both."""
    selection = slice_selection()
    left = isoloss_frontier_chart(runs, law, markers, source=source, selection=selection)
    right = isoflop_slices_chart(runs, law, markers, source=source, selection=selection)
    chart = (
        alt.hconcat(left, right, spacing=20)
        .resolve_scale(fill="independent", stroke="independent")
        .properties(description=f"Two panels. Left: {left.description} Right: {right.description} "
                                "Clicking a slice's curve or run highlights it in both panels.")
    )
    return with_source(chart, markers, sources=[source], fits="this book", data=runs, narrow={"height": 260})


RESIDUAL_PANEL_WIDTH = 300
"""Width (px) of a residual panel: two side by side fit the 768 px text column."""


def residual_chart(residuals: pd.DataFrame, columns: int = 2) -> alt.FacetChart:
    """Residuals of the log loss, one panel per parameter set (``columns`` panels a row), against training compute.

    Args:
        residuals: one row per (run, parameter set): columns ``fit`` (label of the parameter
            set), ``N`` (parameters), ``C`` (FLOP), ``loss`` (observed, nats/token),
            ``predicted`` (nats/token), ``residual`` (``log(loss) - log(predicted)``) and
            ``source`` (where the parameters come from).
    """
    c_range = _decade_range(residuals["C"].to_numpy())
    frame = residuals.assign(
        percent=100 * np.expm1(residuals["residual"]),
        N_label=[_size_label(n) for n in residuals["N"]],
        C_label=[_flop_label(c) for c in residuals["C"]],
    )
    fits = list(dict.fromkeys(frame["fit"]))
    colour = alt.Color("fit:N", title="Parameters", scale=alt.Scale(domain=fits, range=list(CATEGORICAL[: len(fits)])),
                       legend=None)
    x = alt.X("C:Q", title="Training compute (FLOP)", scale=alt.Scale(type="log", domain=list(c_range)),
              axis=flop_axis(c_range, every=2))
    limit = float(np.ceil(1.3 * np.quantile(np.abs(frame["percent"]), 0.98)))
    beyond = int((np.abs(frame["percent"]) > limit).sum())
    y = alt.Y("percent:Q", title="Observed vs fitted loss (%)",
              scale=alt.Scale(domain=[-limit, limit], clamp=True, nice=False))
    points = alt.Chart().mark_point(size=22, filled=True, opacity=0.6).encode(
        x=x, y=y, color=colour,
        tooltip=[alt.Tooltip("fit:N", title="Parameters"), alt.Tooltip("N_label:N", title="Size"),
                 alt.Tooltip("C_label:N", title="Budget"), alt.Tooltip("loss:Q", title="Observed loss", format=".3f"),
                 alt.Tooltip("predicted:Q", title="Fitted loss", format=".3f"),
                 alt.Tooltip("percent:Q", title="Difference (%)", format="+.2f"),
                 alt.Tooltip("source:N", title="Parameter source")],
    )
    zero = alt.Chart().mark_rule(color=FIT_COLOR, strokeDash=[4, 3]).encode(
        y=alt.datum(0), tooltip=[alt.Tooltip("fit:N", title="Zero line of")])
    description = (
        "Residuals of the final loss of each run against training compute, one panel per parameter set ("
        + ", ".join(fits) + "): the percentage by which the observed loss exceeds the loss each parameter set predicts."
        + (f" {beyond} points beyond ±{limit:g}% are drawn at the edge of the axis." if beyond else "")
    )
    chart = (
        alt.layer(zero, points, data=frame)
        .properties(width=RESIDUAL_PANEL_WIDTH, height=170)
        .facet(facet=alt.Facet("fit:N", title=None, sort=fits, header=alt.Header(labelFontSize=12)),
               columns=columns)
        .properties(description=description)
    )
    written = [text for text in dict.fromkeys(residuals["source"]) if "this book" not in str(text)]
    return with_source(chart, sources=written, fits="this book", data=residuals, narrow={"height": 180})
