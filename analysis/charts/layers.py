"""Building blocks shared by the chart modules of chapters 1-3.

Each helper returns an Altair layer (or a frame a layer draws) with a tooltip on every mark:
a fitted trend with its band, a Pareto frontier, name labels placed so they do not collide,
and the zero line of a residual plot. Chart functions compose them; they never choose their
own colours or fonts (those come from :mod:`analysis.charts.theme`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

from analysis.charts.theme import FIT_COLOR, FRONTIER_COLOR, HEIGHT, WIDTH

LABEL_FONT_SIZE = 11
_CHAR_WIDTH = 0.62 * LABEL_FONT_SIZE  # average advance of DejaVu Sans, px per character
_POINT_RADIUS = 6.0

# Candidate label positions relative to the point: (dx, dy, align, baseline), in preference order.
_CANDIDATES: tuple[tuple[float, float, str, str], ...] = (
    (8, 0, "left", "middle"),
    (-8, 0, "right", "middle"),
    (0, -9, "center", "bottom"),
    (0, 9, "center", "top"),
    (7, -7, "left", "bottom"),
    (7, 7, "left", "top"),
    (-7, -7, "right", "bottom"),
    (-7, 7, "right", "top"),
    (0, -20, "center", "bottom"),
    (0, 20, "center", "top"),
    (14, -14, "left", "bottom"),
    (14, 14, "left", "top"),
    (-14, -14, "right", "bottom"),
    (-14, 14, "right", "top"),
)


@dataclass(frozen=True)
class Axis:
    """How a data column maps to pixels: ``domain`` in data units, ``log`` scale or linear."""

    domain: tuple[float, float]
    log: bool = False

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        low, high = self.domain
        if self.log:
            return (np.log10(values) - math.log10(low)) / (math.log10(high) - math.log10(low))
        return (values - low) / (high - low)


def place_labels(
    x: Sequence[float],
    y: Sequence[float],
    labels: Sequence[str],
    x_axis: Axis,
    y_axis: Axis,
    width: float = WIDTH,
    height: float = HEIGHT,
) -> pd.DataFrame:
    """Choose, for each point, a label position that overlaps no other label, point or edge.

    Greedy: points are visited from the most crowded; each takes the first candidate offset
    (right, left, above, below, diagonals, further above/below) whose text box is inside the plot
    and clear of every point and of the labels already placed. A label with no free candidate is
    hidden (``label_shown`` false); its name stays in the point's tooltip.

    Returns a frame aligned with the inputs: ``label_dx``, ``label_dy`` (pixels),
    ``label_align``, ``label_baseline`` (Vega text properties) and ``label_shown`` (bool).
    """
    px = x_axis.to_unit(np.asarray(x, dtype=float)) * width
    py = (1 - y_axis.to_unit(np.asarray(y, dtype=float))) * height
    n = len(labels)
    crowding = [sum(math.hypot(px[i] - px[j], py[i] - py[j]) < 60 for j in range(n)) for i in range(n)]
    placed: list[tuple[float, float, float, float]] = []
    points = [(px[i] - _POINT_RADIUS, py[i] - _POINT_RADIUS, px[i] + _POINT_RADIUS, py[i] + _POINT_RADIUS) for i in range(n)]
    choice: dict[int, tuple[float, float, str, str]] = {}
    shown: dict[int, bool] = {}
    for i in sorted(range(n), key=lambda k: (-crowding[k], k)):
        text_width = _CHAR_WIDTH * len(str(labels[i]))
        for candidate in _CANDIDATES:
            box = _text_box(px[i], py[i], text_width, candidate)
            inside = box[0] >= 0 and box[2] <= width and box[1] >= 0 and box[3] <= height
            if not inside:
                continue
            others = [p for j, p in enumerate(points) if j != i]
            if not any(_overlaps(box, other) for other in (*placed, *others)):
                choice[i], shown[i] = candidate, True
                placed.append(box)
                break
        else:
            choice[i], shown[i] = _CANDIDATES[0], False
    return pd.DataFrame(
        [
            {
                "label_dx": choice[i][0],
                "label_dy": choice[i][1],
                "label_align": choice[i][2],
                "label_baseline": choice[i][3],
                "label_shown": shown[i],
            }
            for i in range(n)
        ]
    )


def _text_box(px: float, py: float, text_width: float, candidate: tuple[float, float, str, str]) -> tuple[float, float, float, float]:
    dx, dy, align, baseline = candidate
    left = {"left": px + dx, "right": px + dx - text_width, "center": px + dx - text_width / 2}[align]
    height = LABEL_FONT_SIZE + 1
    top = {"middle": py + dy - height / 2, "bottom": py + dy - height, "top": py + dy}[baseline]
    return (left, top, left + text_width, top + height)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_layer(base: alt.Chart, text_field: str, opacity: alt.Opacity | None = None) -> alt.Chart:
    """Text labels at the points of ``base`` using the offsets of :func:`place_labels` (columns
    ``label_dx``, ``label_dy``, ``label_align``, ``label_baseline``, ``label_shown`` in the data)."""
    layer = base.mark_text(
        fontSize=LABEL_FONT_SIZE,
        dx=alt.ExprRef("datum.label_dx"),
        dy=alt.ExprRef("datum.label_dy"),
        align=alt.ExprRef("datum.label_align"),
        baseline=alt.ExprRef("datum.label_baseline"),
        color="#333333",
    ).encode(text=alt.Text(f"{text_field}:N")).transform_filter("datum.label_shown")
    return layer.encode(opacity=opacity) if opacity is not None else layer


def trend_layers(
    curve: pd.DataFrame,
    x: alt.X,
    y_title: str,
    tooltip: Sequence[alt.Tooltip],
    level: float,
) -> alt.LayerChart:
    """A fitted line (column ``fit``) over its band (``lower``, ``upper``) drawn from ``curve``.

    ``x`` is the shared x encoding (same field name as in ``curve``); ``tooltip`` describes the
    fit (both marks carry it).
    """
    base = alt.Chart(curve)
    band = base.mark_area(color=FIT_COLOR, opacity=0.14).encode(
        x=x,
        y=alt.Y("lower:Q", title=y_title),
        y2="upper:Q",
        tooltip=list(tooltip),
    )
    line = base.mark_line(color=FIT_COLOR, strokeDash=[6, 3], strokeWidth=1.8).encode(
        x=x, y=alt.Y("fit:Q", title=y_title), tooltip=list(tooltip)
    )
    return alt.layer(band, line)


def frontier_layer(frontier: pd.DataFrame, x: alt.X, y: alt.Y, tooltip: Sequence[alt.Tooltip]) -> alt.Chart:
    """The Pareto frontier as a step line through the frontier points (sorted by cost)."""
    return (
        alt.Chart(frontier)
        .mark_line(color=FRONTIER_COLOR, interpolate="step-after", strokeWidth=1.6, point=alt.OverlayMarkDef(filled=False, size=110, color=FRONTIER_COLOR))
        .encode(x=x, y=y, tooltip=list(tooltip))
    )


def zero_rule(orient: str = "vertical", tooltip_text: str = "zero: on the fitted trend") -> alt.Chart:
    """A rule at zero for residual plots (``orient="vertical"`` draws x = 0)."""
    frame = pd.DataFrame({"zero": [0.0], "meaning": [tooltip_text]})
    channel = {"x": alt.X("zero:Q")} if orient == "vertical" else {"y": alt.Y("zero:Q")}
    return alt.Chart(frame).mark_rule(color=FIT_COLOR).encode(**channel, tooltip=[alt.Tooltip("meaning:N", title="Line")])
