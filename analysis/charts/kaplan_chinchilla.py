"""Charts of chapter 6: how the compute-optimal exponent falls from Kaplan et al.'s to Hoffmann et al.'s.

Three charts, each taking plain tables (as :mod:`analysis.chapters.kaplan_chinchilla` builds them):

* :func:`exponent_staircase` -- the exponent ``a`` of ``N_opt ∝ C^a`` at each step, both datasets, with
  bootstrap intervals, the published values marked and published reference exponents as rules;
* :func:`isoflop_profiles_figure` -- the IsoFLOP profiles of two steps side by side: runs, interpolated
  profiles and each budget's optimum;
* :func:`compute_optimal_lines_figure` -- every step's ``N_opt(C)`` per dataset, solid over the runs' budgets
  and dashed where extrapolated, against Kaplan et al.'s laws and Hoffmann et al.'s projections.

Units: ``N`` in parameters, ``C`` in FLOP, losses in nats per token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from analysis.charts import axes
from analysis.charts.layers import legend_dashes
from analysis.charts.parametric_loss import SLICE_SCHEME, STAR
from analysis.charts.source import with_source
from analysis.charts.theme import CATEGORICAL, GUIDE_COLOR, HEIGHT, INK, MUTED_OPACITY, NAMED_MODEL_COLOR
from analysis.text import curly_apostrophes, format_interval, format_signed, format_value, names_list

STEP_COLOURS = (CATEGORICAL[5], CATEGORICAL[1], CATEGORICAL[3], CATEGORICAL[4], CATEGORICAL[0])
"""Steps 1 to 5: vermilion (Kaplan et al.'s set-up) through orange, purple and sky blue to blue."""
DATASET_COLOURS = (CATEGORICAL[0], CATEGORICAL[1])
DATASET_SHAPES = ("circle", "square")
KAPLAN_COLOURS = ("#000000", "#777777")
"""Kaplan et al.'s law as Porian et al. compare with it, and as Table 6 prints it."""
HOFFMANN_COLOUR = CATEGORICAL[2]
REFERENCE_DASHES = ([8, 4], [2, 3], [10, 3, 2, 3])
"""Dash patterns of the reference exponents and laws, in the order they are given."""
STAIRCASE_WIDTH = 520
A_TITLE = "Compute-optimal exponent a"
PUBLISHED_LABEL = "Porian et al."
"""Legend entry of the ticks at the exponents Porian et al. publish."""
TICK_SYMBOL = "M-1,-0.09H1V0.09H-1Z"
"""A legend symbol drawn like the staircase's ticks: a short horizontal bar (Vega's unit square is -1 to 1)."""
TICK_SYMBOL_SIZE = 300
"""Its size (Vega's area units): about as wide as a tick on the chart."""
LEGEND_LINE_SIZE = 600
"""Size of a legend's line symbols (a stroke about 25 px long): long enough to show its line's dash pattern."""
PANEL_WIDTH = 285
"""Width (px) of each panel of the two-panel figures: side by side they fit the 768 px text column."""
LOSS_TOP = 7.0
"""Top of the profile panels' loss axis (nats/token): the largest models at the smallest budgets lie above it."""
RUNS_SOURCE = "Porian et al. 2024, repository result files (MIT licence)"
"""Where the runs come from, as tooltips say it."""
LOSS_TICKS = (3.0, 3.5, 4.0, 5.0, 6.0, 7.0)
"""Loss axis ticks (nats/token) of the profile panels, where they fall in the domain."""
FITTED, EXTRAPOLATED = "fitted to the runs", "extrapolated"
"""The two parts of a fitted line: over the runs' budgets, and beyond them."""
HOFFMANN_LABEL = "Hoffmann et al., Table 3 (Approach 1)"
INTERVAL_TEXT = "datum.low + ' to ' + datum.high"
PORIAN = "porian2024resolving"
"""Bibliography key of the runs every chart of the chapter fits."""
"""Vega expression of a bootstrap interval from the text fields ``low`` and ``high``."""


def _step_label(step: int, settings: Mapping[int, str]) -> str:
    return curly_apostrophes(f"{step}: {settings[step]}")


def _reference_anchor(value: float, exponents: pd.DataFrame) -> int:
    """The step (first or last) where a reference rule's label is farthest from the intervals."""
    steps = sorted(exponents["step"].unique())
    clearance = {}
    for step in (steps[0], steps[-1]):
        rows = exponents[exponents["step"] == step]
        inside = ((rows["a_lo"] <= value) & (value <= rows["a_hi"])).any()
        clearance[step] = 0.0 if inside else float(np.min(np.abs(rows[["a_lo", "a_hi"]].to_numpy() - value)))
    return max(clearance, key=lambda step: clearance[step])


def exponent_staircase(exponents: pd.DataFrame, references: pd.DataFrame,
                       short_names: Mapping[int, Sequence[str]], base_steps: Mapping[int, int]) -> alt.LayerChart:
    """The exponent ``a`` of each step, both datasets: our estimate with its interval, the published value as a
    black tick, and reference exponents as horizontal rules.

    Args:
        exponents: one row per setting: ``dataset_name``, ``step``, ``setting``, ``a``, ``a_lo``, ``a_hi``,
            ``published``, ``difference``.
        references: one row per reference exponent: ``label``, ``a``, ``source`` (text), ``source_key`` and
            ``source_detail`` (for the source line).
        short_names: a few words per step for the axis, one string per line.
        base_steps: the step each later step changes (``{5: 3}``: step 5 builds on step 3, not on step 4).
    """
    frame = exponents.assign(
        step_label=["|".join([str(step), *short_names[step]]) for step in exponents["step"]],
        step_text=[curly_apostrophes(f"{step}: {setting}")
                   for step, setting in zip(exponents["step"], exponents["setting"], strict=True)],
        a_text=[format_value(a, 3) for a in exponents["a"]],
        interval=[format_interval(lo, hi, 3) for lo, hi in zip(exponents["a_lo"], exponents["a_hi"], strict=True)],
        published_text=[format_value(p, 3) for p in exponents["published"]],
        difference_text=[format_signed(round(d, 3), decimals=3, plus=True) for d in exponents["difference"]],
        source="Refitted here from the runs of Porian et al. 2024 (95% bootstrap interval)",
        published_source="Porian et al. 2024, repository result files",
    )
    order = list(dict.fromkeys(frame.sort_values("step")["step_label"]))
    datasets = list(dict.fromkeys(frame["dataset_name"]))
    values = np.concatenate([frame[["a_lo", "a_hi", "published"]].to_numpy().ravel(), references["a"].to_numpy()])
    y_domain = [float(np.floor(values.min() * 20) / 20), float(np.ceil(values.max() * 20) / 20)]
    x = alt.X("step_label:N", sort=order, title="Step (what it changes from the step it builds on)",
              axis=alt.Axis(labelAngle=0, labelExpr="split(datum.label, '|')", labelLimit=120))
    y = alt.Y("a:Q", title=A_TITLE, scale=alt.Scale(domain=y_domain, zero=False))
    offset = alt.XOffset("dataset_name:N", sort=datasets, scale=alt.Scale(paddingOuter=0.6))
    # colour and shape share one legend (a legend for one and none for the other makes Vega-Lite warn)
    dataset_legend = alt.Legend(orient="bottom", direction="horizontal")
    colour = alt.Color("dataset_name:N", title="Dataset", sort=datasets,
                       scale=alt.Scale(domain=datasets, range=list(DATASET_COLOURS[: len(datasets)])), legend=dataset_legend)
    shape = alt.Shape("dataset_name:N", title="Dataset", sort=datasets, scale=alt.Scale(domain=datasets,
                      range=list(DATASET_SHAPES[: len(datasets)])), legend=dataset_legend)
    highlight = alt.selection_point(fields=["dataset_name"], bind="legend", name="dataset")
    opacity = alt.condition(highlight, alt.value(1.0), alt.value(MUTED_OPACITY))
    tooltip = [alt.Tooltip("dataset_name:N", title="Dataset"), alt.Tooltip("step_text:N", title="Step"),
               alt.Tooltip("a_text:N", title="a, fitted here"), alt.Tooltip("interval:N", title="95% interval"),
               alt.Tooltip("published_text:N", title="a, Porian et al."),
               alt.Tooltip("difference_text:N", title="Difference"), alt.Tooltip("source:N", title="Source")]
    base = alt.Chart(frame).encode(x=x, xOffset=offset, color=colour, opacity=opacity, tooltip=tooltip)
    intervals = base.mark_rule(strokeWidth=2).encode(y=alt.Y("a_lo:Q", title=A_TITLE,
                                                             scale=alt.Scale(domain=y_domain, zero=False)), y2="a_hi:Q")
    points = base.mark_point(size=70, filled=True, stroke=INK, strokeWidth=0.5).encode(y=y, shape=shape)
    published_key = alt.Fill("marks:N", title="Published exponent", scale=alt.Scale(domain=[PUBLISHED_LABEL],
                                                                              range=[NAMED_MODEL_COLOR]),
                             legend=alt.Legend(orient="bottom", symbolType=TICK_SYMBOL, symbolSize=TICK_SYMBOL_SIZE))
    published = alt.Chart(frame.assign(marks=PUBLISHED_LABEL)).mark_tick(thickness=1.5, size=24).encode(
        x=x, xOffset=offset, y=alt.Y("published:Q"), opacity=opacity, fill=published_key,
        tooltip=[alt.Tooltip("dataset_name:N", title="Dataset"), alt.Tooltip("step_text:N", title="Step"),
                 alt.Tooltip("published_text:N", title="a, Porian et al. (black tick)"),
                 alt.Tooltip("published_source:N", title="Source")])
    layers: list[alt.Chart] = [*_reference_rules(references, frame), intervals, published,
                               points.add_params(highlight)]
    branches = [f"step {step} builds on step {base}" for step, base in sorted(base_steps.items()) if base != step - 1]
    builds_on = "each step builds on the one before" + (f", except that {names_list(branches)}" if branches else "")
    description = (
        "Dot plot of the compute-optimal exponent a at each of five steps from Kaplan et al.’s set-up to a tuned "
        f"one ({builds_on}), for {' and '.join(datasets)}: dots are the exponents refitted here with 95% bootstrap intervals, "
        "black ticks the values Porian et al. report, and horizontal lines the reference exponents "
        f"{', '.join(references['label'])}."
    )
    chart = alt.layer(*layers).properties(width=STAIRCASE_WIDTH, height=HEIGHT - 40, description=description)
    downloaded = exponents[["dataset_name", "step", "setting", "a", "a_lo", "a_hi", "published", "difference"]]
    return with_source(chart, references, cites=[PORIAN], fits="this book", data=downloaded)


def _reference_rules(references: pd.DataFrame, exponents: pd.DataFrame) -> list[alt.Chart]:
    """Horizontal rules at the reference exponents, each labelled at the side of the chart clear of the data."""
    first = int(exponents["step"].min())
    frame = references.assign(
        a_text=[format_value(a, 2) for a in references["a"]],
        side=["left" if _reference_anchor(a, exponents) == first else "right" for a in references["a"]],
    )
    labels = list(frame["label"])
    dash = alt.StrokeDash("label:N", sort=labels, legend=None,
                          scale=alt.Scale(domain=labels, range=list(REFERENCE_DASHES[: len(labels)])))
    tooltip = [alt.Tooltip("label:N", title="Reference"), alt.Tooltip("a_text:N", title="Exponent a"),
               alt.Tooltip("source:N", title="Source")]
    layers = [alt.Chart(frame).mark_rule(color=GUIDE_COLOR, strokeWidth=1.2).encode(
        y=alt.Y("a:Q"), strokeDash=dash, tooltip=tooltip)]
    for side, position in (("left", alt.value(4)), ("right", alt.value(STAIRCASE_WIDTH - 4))):
        label = alt.Chart(frame[frame["side"] == side]).encode(x=position, y=alt.Y("a:Q"), text="label:N",
                                                               tooltip=tooltip)
        text = {"align": side, "baseline": "bottom", "dy": -3, "fontSize": 11}
        # a white halo keeps a label legible where a narrow plot brings it over a step's interval
        layers += [label.mark_text(**text, stroke="white", strokeWidth=4, strokeJoin="round"),
                   label.mark_text(**text, color=INK)]
    return layers


def _with_text(chart: alt.Chart, counts: Mapping[str, str], **constants: str) -> alt.Chart:
    """``chart`` with text fields computed in Vega (so the text does not travel in every row): ``budget``, the
    ``C`` column written as ``1.25e16 FLOP``; each of ``counts`` (output field -> a column of parameters or
    tokens) written as ``1.3B``; each of ``constants`` (output field -> a string)."""
    expressions = {"budget": axes.flop_expr("datum.C")}
    expressions |= {name: axes.count_expr(f"datum.{column}") for name, column in counts.items()}
    expressions |= {name: alt.expr.toString(value) for name, value in constants.items()}
    return chart.transform_calculate(**expressions)


def isoflop_profiles_figure(runs: pd.DataFrame, profiles: pd.DataFrame, optima: pd.DataFrame,
                            settings: Mapping[int, str], steps: Sequence[int], *, dataset_name: str) -> alt.HConcatChart:
    """IsoFLOP profiles of ``steps`` side by side (one dataset): the runs, each budget's interpolated profile
    and its optimum (a star at the median of the resampled minima, a bar across their 95% interval).

    Args:
        runs: ``step``, ``C`` (FLOP), ``N`` (parameters), ``loss`` (nats/token), ``source_key`` and
            ``source_detail`` (for the source line).
        profiles: ``step``, ``C``, ``N``, ``loss``: each budget's interpolated profile.
        optima: ``step``, ``C``, ``N_opt``, ``N_opt_lo``, ``N_opt_hi``, ``loss_opt``, ``included``.
        settings: what each step is.
        dataset_name: shown in tooltips and the description.
    """
    sizes = runs["N"].to_numpy(dtype=float)
    n_range = (10.0 ** np.floor(np.log10(sizes.min())), 10.0 ** np.ceil(np.log10(sizes.max())))
    losses = runs["loss"].to_numpy(dtype=float)
    loss_domain = [float(np.floor(losses.min() * 10) / 10 - 0.1), LOSS_TOP]
    selection = alt.selection_point(fields=["C"], bind="legend", name="profile_budget")
    panels = []
    for step in steps:
        panels.append(_profile_panel(runs[runs["step"] == step], profiles[profiles["step"] == step],
                                     optima[(optima["step"] == step) & optima["included"]], n_range, loss_domain,
                                     title=f"Step {_step_label(step, settings)}", dataset_name=dataset_name,
                                     selection=selection, declare=step == steps[0]))
    above = int((losses > LOSS_TOP).sum())
    description = (
        f"Two panels of final loss against model size ({dataset_name}), one per step: "
        f"{' and '.join(f'step {_step_label(s, settings)}' for s in steps)}. Points are runs coloured by budget, "
        "lines each budget's interpolated profile, stars the optimal size of each budget with a bar across its "
        f"bootstrap interval. {above} runs with losses above {format_value(LOSS_TOP, 2)} nats per token lie above "
        "the panels."
    )
    chart = alt.hconcat(*panels, spacing=16).properties(description=description)
    return with_source(chart, runs, fits="this book", data=runs[["step", "C", "N", "loss"]], narrow={"legend_columns": 3})


def _profile_panel(runs: pd.DataFrame, profiles: pd.DataFrame, optima: pd.DataFrame, n_range: tuple[float, float],
                   loss_domain: list[float], *, title: str, dataset_name: str, selection: alt.Parameter,
                   declare: bool) -> alt.LayerChart:
    n_scale = alt.Scale(type="log", domain=list(n_range))
    x = alt.X("N:Q", title="Parameters (as the step counts them)", scale=n_scale, axis=axes.count_axis(n_range))
    y = alt.Y("loss:Q", title="Final loss (nats/token)", scale=alt.Scale(type="log", domain=loss_domain),
              axis=axes.loss_axis([v for v in LOSS_TICKS if loss_domain[0] <= v <= loss_domain[1]]))
    colour = alt.Color("C:O", title="Budget (FLOP)", scale=alt.Scale(scheme=SLICE_SCHEME),
                       legend=alt.Legend(labelExpr=axes.power_label_expr(digits=3), orient="bottom",
                                         direction="horizontal", columns=6, symbolType="circle"))
    opacity = alt.condition(selection, alt.value(1.0), alt.value(MUTED_OPACITY))
    run_layer = _with_text(
        alt.Chart(runs[["C", "N", "loss"]]), counts={"size": "N"}, dataset=dataset_name, source=RUNS_SOURCE,
    ).mark_point(size=30, filled=True, stroke=INK, strokeWidth=0.3, clip=True).encode(
        x=x, y=y, color=colour, opacity=opacity,
        tooltip=[alt.Tooltip("dataset:N", title="Dataset"), alt.Tooltip("budget:N", title="Budget"),
                 alt.Tooltip("size:N", title="Size (parameters)"),
                 alt.Tooltip("loss:Q", title="Final loss (nats/token)", format=".3f"),
                 alt.Tooltip("source:N", title="Source")])
    profile_layer = _with_text(
        alt.Chart(profiles[["C", "N", "loss"]]), counts={"size": "N"},
        source="Interpolated profile (Akima spline in log N through the runs), fitted here",
    ).mark_line(strokeWidth=1.4, clip=True).encode(
        x=x, y=y, color=colour, detail="C:O", opacity=opacity,
        tooltip=[alt.Tooltip("budget:N", title="Budget"), alt.Tooltip("size:N", title="Size (parameters)"),
                 alt.Tooltip("loss:Q", title="Interpolated loss (nats/token)", format=".3f"),
                 alt.Tooltip("source:N", title="Source")])
    optimum_frame = optima[["C", "N_opt", "N_opt_lo", "N_opt_hi", "loss_opt"]].rename(
        columns={"N_opt": "N", "loss_opt": "loss"})
    optimum_base = _with_text(
        alt.Chart(optimum_frame), counts={"size": "N", "low": "N_opt_lo", "high": "N_opt_hi"},
        source="Median of the bootstrap minima of the interpolated profile, fitted here",
    ).transform_calculate(interval=INTERVAL_TEXT)
    optimum_tooltip = [alt.Tooltip("budget:N", title="Budget"), alt.Tooltip("size:N", title="Compute-optimal size"),
                       alt.Tooltip("interval:N", title="95% bootstrap interval"),
                       alt.Tooltip("loss:Q", title="Loss at the optimum (nats/token)", format=".3f"),
                       alt.Tooltip("source:N", title="Source")]
    interval_layer = optimum_base.mark_rule(color=INK, strokeWidth=1.5, clip=True).encode(
        x=alt.X("N_opt_lo:Q", scale=n_scale), x2="N_opt_hi:Q", y=y, opacity=opacity, tooltip=optimum_tooltip)
    star_layer = optimum_base.mark_point(shape=STAR, size=150, filled=True, stroke=INK, strokeWidth=0.7,
                                         clip=True).encode(x=x, y=y, color=colour, opacity=opacity,
                                                           tooltip=optimum_tooltip)
    if declare:
        profile_layer = profile_layer.add_params(selection)
    return alt.layer(profile_layer, run_layer, interval_layer, star_layer).properties(
        width=PANEL_WIDTH, height=HEIGHT - 40, title=title)


def _line_segments(lines: pd.DataFrame) -> pd.DataFrame:
    """Each line split into its fitted part (solid) and its extrapolated parts (dashed), which share their
    end points with the fitted part so the line is unbroken: adds ``segment`` and ``part``."""
    frames = []
    for _, line in lines.groupby(["dataset", "step"], sort=False):
        fitted = line[~line["extrapolated"]]
        low, high = fitted["C"].min(), fitted["C"].max()
        frames.append(fitted.assign(segment=FITTED, part="fitted"))
        for part, piece in (("below", line[line["C"] <= low]), ("above", line[line["C"] >= high])):
            if len(piece) > 1:
                frames.append(piece.assign(segment=EXTRAPOLATED, part=part))
    return pd.concat(frames, ignore_index=True)


def compute_optimal_lines_figure(lines: pd.DataFrame, optima: pd.DataFrame, references: pd.DataFrame,
                                 projections: pd.DataFrame, marked: pd.Series, settings: Mapping[int, str],
                                 exponents: pd.DataFrame, *, dataset_names: Mapping[str, str],
                                 c_range: tuple[float, float], n_range: tuple[float, float] = (1e5, 1e13)) -> alt.HConcatChart:
    """Every step's ``N_opt(C)``, one panel per dataset, against Kaplan et al.'s laws and Hoffmann et al.'s
    projections, with the marked model (Chinchilla) at its size and budget.

    Args:
        lines: ``dataset``, ``step``, ``C``, ``N``, ``N_lo``, ``N_hi``, ``extrapolated`` (see
            :func:`analysis.chapters.kaplan_chinchilla.fitted_lines`).
        optima: per-budget optima: ``dataset``, ``step``, ``C``, ``N_opt``, ``N_opt_lo``, ``N_opt_hi``, ``included``.
        references: Kaplan et al.'s laws: ``law``, ``a``, ``c_ref``, ``n_ref``, ``source``, ``note``.
        projections: Hoffmann et al.'s projections: ``C``, ``N``, ``D``, ``source``.
        marked: ``name``, ``N``, ``D``, ``C``, ``source`` (readable).
        references, projections and marked also carry ``source_key`` and ``source_detail`` for the source line.
        exponents: ``dataset``, ``step``, ``a``, ``a_lo``, ``a_hi`` (for tooltips).
        dataset_names: dataset code to name.
        c_range, n_range: axis ranges (FLOP, parameters).
    """
    step_labels = [_step_label(step, settings) for step in sorted(settings)]
    colour_domain = [*step_labels, *references["law"], HOFFMANN_LABEL]
    colour_range = [*STEP_COLOURS[: len(step_labels)], *KAPLAN_COLOURS[: len(references)], HOFFMANN_COLOUR]
    dashes = {law: dash for law, dash in zip(references["law"], REFERENCE_DASHES, strict=False)}
    dashes[HOFFMANN_LABEL] = REFERENCE_DASHES[2]  # as _reference_layers and _projection_layers draw them
    colour = alt.Color("law:N", title=None, sort=colour_domain, scale=alt.Scale(domain=colour_domain, range=colour_range),
                       legend=alt.Legend(orient="bottom", direction="vertical", columns=2, symbolType="stroke",
                                         symbolSize=LEGEND_LINE_SIZE, symbolStrokeWidth=2, symbolOpacity=1,
                                         symbolDash=legend_dashes(dashes), labelLimit=280))
    highlight = alt.selection_point(fields=["law"], bind="legend", name="line")
    x = alt.X("C:Q", title="Training compute (FLOP)", scale=alt.Scale(type="log", domain=list(c_range)),
              axis=axes.flop_axis(c_range, label_every=3))
    y = alt.Y("N:Q", title="Compute-optimal parameters", scale=alt.Scale(type="log", domain=list(n_range)),
              axis=axes.count_axis(n_range, every=2))
    reference_frame = _reference_frame(references, c_range)
    projection_frame = projections[(projections["C"] >= c_range[0]) & (projections["C"] <= c_range[1])]
    panels = []
    for code, name in dataset_names.items():
        panel = _lines_panel(lines[lines["dataset"] == code], optima[(optima["dataset"] == code) & optima["included"]],
                             exponents[exponents["dataset"] == code], settings, x=x, y=y, colour=colour,
                             highlight=highlight, title=name, n_range=n_range)
        overlays = [*_reference_layers(reference_frame, x, y, colour, highlight),
                    *_projection_layers(projection_frame, x, y, colour, highlight), *_marked_layers(marked, x, y)]
        layered = alt.layer(*panel, *overlays).properties(width=PANEL_WIDTH, height=HEIGHT - 40, title=name)
        panels.append(layered.add_params(highlight) if not panels else layered)
    description = (
        f"{len(panels)} log-log panels of compute-optimal parameters against training compute, one per dataset "
        f"({', '.join(dataset_names.values())}). In each, the five steps' fitted lines (solid over the runs' "
        "budgets, dashed where extrapolated, with shaded bootstrap bands) and each budget's optimum as a point; "
        f"{' and '.join(references['law'])} as black dashed and grey dotted lines; Hoffmann et al.’s Table 3 "
        f"projections as green diamonds joined by a dash-dotted line; {marked['name']} as a star at its size and budget."
    )
    chart = alt.hconcat(*panels, spacing=16).resolve_scale(color="shared").properties(description=description)
    cited = pd.concat([frame[["source_key", "source_detail"]] for frame in (projections, marked.to_frame().T, references)])
    downloaded = lines[["dataset", "step", "C", "N", "N_lo", "N_hi", "extrapolated"]]
    return with_source(chart, cited, cites=[PORIAN], fits="this book", data=downloaded, narrow={"legend_columns": 1})


def _lines_panel(lines: pd.DataFrame, optima: pd.DataFrame, exponents: pd.DataFrame, settings: Mapping[int, str], *,
                 x: alt.X, y: alt.Y, colour: alt.Color, highlight: alt.Parameter, title: str,
                 n_range: tuple[float, float]) -> list[alt.Chart]:
    """One dataset's fitted lines (with bands) and per-budget optima."""
    opacity = alt.condition(highlight, alt.value(1.0), alt.value(MUTED_OPACITY))
    fits = exponents.set_index("step")
    segments = _line_segments(lines)[["step", "C", "N", "N_lo", "N_hi", "segment", "part"]]
    segments["law"] = [_step_label(s, settings) for s in segments["step"]]
    segments["a_text"] = [f"{format_value(fits.loc[s, 'a'], 3)} ({format_interval(fits.loc[s, 'a_lo'], fits.loc[s, 'a_hi'], 3)})"
                          for s in segments["step"]]
    line_base = _with_text(alt.Chart(segments), counts={"size": "N", "low": "N_lo", "high": "N_hi"}, dataset=title,
                           source="Fitted here to the runs of Porian et al. 2024").transform_calculate(interval=INTERVAL_TEXT)
    line_tooltip = [alt.Tooltip("dataset:N", title="Dataset"), alt.Tooltip("law:N", title="Step"),
                    alt.Tooltip("budget:N", title="Budget"), alt.Tooltip("size:N", title="Compute-optimal size"),
                    alt.Tooltip("interval:N", title="95% bootstrap interval"),
                    alt.Tooltip("a_text:N", title="Exponent a (95% interval)"),
                    alt.Tooltip("segment:N", title="Part"), alt.Tooltip("source:N", title="Source")]
    bands = line_base.transform_filter("datum.part != 'below'").mark_area(clip=True).encode(
        x=x, y=alt.Y("N_lo:Q", scale=alt.Scale(type="log", domain=list(n_range))), y2="N_hi:Q", color=colour,
        detail="law:N", opacity=alt.condition(highlight, alt.value(0.12), alt.value(0.02)), tooltip=line_tooltip)
    dash = alt.StrokeDash("segment:N", legend=None, scale=alt.Scale(domain=[FITTED, EXTRAPOLATED], range=[[1, 0], [5, 3]]))
    fitted = line_base.mark_line(strokeWidth=2, clip=True).encode(
        x=x, y=y, color=colour, strokeDash=dash, detail="part:N", opacity=opacity, tooltip=line_tooltip)
    optimum_frame = optima[["step", "C", "N_opt", "N_opt_lo", "N_opt_hi"]].rename(columns={"N_opt": "N"})
    optimum_frame["law"] = [_step_label(s, settings) for s in optimum_frame["step"]]
    points = _with_text(alt.Chart(optimum_frame), counts={"size": "N", "low": "N_opt_lo", "high": "N_opt_hi"},
                        dataset=title, source="Fitted here to the runs of Porian et al. 2024 (minimum of the budget’s profile)",
                        ).transform_calculate(interval=INTERVAL_TEXT).mark_point(
        size=22, filled=True, stroke=INK, strokeWidth=0.3, clip=True).encode(
        x=x, y=y, color=colour, opacity=opacity,
        tooltip=[alt.Tooltip("dataset:N", title="Dataset"), alt.Tooltip("law:N", title="Step"),
                 alt.Tooltip("budget:N", title="Budget"), alt.Tooltip("size:N", title="Optimal size at this budget"),
                 alt.Tooltip("interval:N", title="95% bootstrap interval"), alt.Tooltip("source:N", title="Source")])
    return [bands, fitted, points]


def _reference_frame(references: pd.DataFrame, c_range: tuple[float, float], points: int = 10) -> pd.DataFrame:
    """Kaplan et al.'s laws evaluated on a log grid of budgets: ``law``, ``C``, ``N``, ``a_text``, ``source``, ``note``."""
    budgets = np.geomspace(*c_range, points)
    return pd.concat([pd.DataFrame({
        "law": law.law, "C": budgets, "N": law.n_ref * (budgets / law.c_ref) ** law.a, "a_text": format_value(law.a, 2),
        "source": law.source, "note": law.note,
    }) for law in references.itertuples(index=False)], ignore_index=True)


def _reference_layers(frame: pd.DataFrame, x: alt.X, y: alt.Y, colour: alt.Color,
                      highlight: alt.Parameter) -> list[alt.Chart]:
    """One dashed line per law (fixed dash patterns, so the fitted lines' dash scale stays theirs)."""
    tooltip = [alt.Tooltip("law:N", title="Law"), alt.Tooltip("budget:N", title="Budget"),
               alt.Tooltip("size:N", title="Compute-optimal size"), alt.Tooltip("a_text:N", title="Exponent a"),
               alt.Tooltip("source:N", title="Source"), alt.Tooltip("note:N", title="Note")]
    opacity = alt.condition(highlight, alt.value(1.0), alt.value(MUTED_OPACITY))
    return [_with_text(alt.Chart(frame[frame["law"] == law]), counts={"size": "N"}).mark_line(
        strokeWidth=1.6, strokeDash=dash, clip=True).encode(x=x, y=y, color=colour, opacity=opacity, tooltip=tooltip)
        for law, dash in zip(dict.fromkeys(frame["law"]), REFERENCE_DASHES, strict=False)]


def _projection_layers(projections: pd.DataFrame, x: alt.X, y: alt.Y, colour: alt.Color,
                       highlight: alt.Parameter) -> list[alt.Chart]:
    """Hoffmann et al.'s Table 3 projections: diamonds joined by a dash-dotted line."""
    frame = projections[["C", "N", "D", "source"]].assign(law=HOFFMANN_LABEL)
    tooltip = [alt.Tooltip("law:N", title="Projection"), alt.Tooltip("budget:N", title="Budget"),
               alt.Tooltip("size:N", title="Compute-optimal size"), alt.Tooltip("tokens:N", title="Tokens"),
               alt.Tooltip("source:N", title="Source")]
    opacity = alt.condition(highlight, alt.value(1.0), alt.value(MUTED_OPACITY))
    base = _with_text(alt.Chart(frame), counts={"size": "N", "tokens": "D"}).encode(
        x=x, y=y, color=colour, opacity=opacity, tooltip=tooltip)
    return [base.mark_line(strokeWidth=1.6, strokeDash=REFERENCE_DASHES[2], clip=True),
            base.mark_point(shape="diamond", size=60, filled=True, stroke=INK, strokeWidth=0.4, clip=True)]


def _marked_layers(marked: pd.Series, x: alt.X, y: alt.Y) -> list[alt.Chart]:
    """The marked model: a star at its size and budget C = 6ND, its name below."""
    frame = pd.DataFrame([{"name": marked["name"], "C": float(marked["C"]), "N": float(marked["N"]),
                           "D": float(marked["D"]), "source": marked["source"]}])
    tooltip = [alt.Tooltip("name:N", title="Model"), alt.Tooltip("size:N", title="Size (parameters)"),
               alt.Tooltip("tokens:N", title="Training tokens"), alt.Tooltip("budget:N", title="Budget (6ND)"),
               alt.Tooltip("source:N", title="Source")]
    base = _with_text(alt.Chart(frame), counts={"size": "N", "tokens": "D"}).encode(
        x=x, y=y, tooltip=tooltip)
    name = {"align": "center", "baseline": "top", "dy": 10, "fontSize": 12}
    return [base.mark_point(shape=STAR, size=200, filled=True, color=NAMED_MODEL_COLOR, opacity=1),
            # a white halo keeps the name legible where the lines run through it
            base.mark_text(**name, stroke="white", strokeWidth=4, strokeJoin="round").encode(text="name:N"),
            base.mark_text(**name, color=NAMED_MODEL_COLOR).encode(text="name:N")]
