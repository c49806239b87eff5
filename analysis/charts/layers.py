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

from analysis.charts.theme import FIT_COLOR, FRONTIER_COLOR, HEIGHT, INK, WIDTH

LABEL_FONT_SIZE = 11
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
    lines: Sequence[tuple[Sequence[float], Sequence[float]]] = (),
    *,
    avoid: Sequence[tuple[float, float, float, float]] = (),
    candidates: Sequence[tuple[float, float, str, str]] = _CANDIDATES,
    font_size: float = LABEL_FONT_SIZE,
    point_radius: float = _POINT_RADIUS,
) -> pd.DataFrame:
    """Choose, for each point, a label position that overlaps no other label, point, line or edge.

    Greedy: points are visited from the most crowded; each takes the first of ``candidates``
    (offsets ``(dx, dy, align, baseline)`` in pixels; default: right, left, above, below,
    diagonals, further above/below) whose text box is inside the plot and clear of every point,
    of every polyline in ``lines`` (``(x, y)`` vertex sequences in data units, e.g. a fitted trend
    or a frontier from :func:`step_polyline`), of the ``avoid`` boxes (pixels ``(left, top,
    right, bottom)`` in the plot, e.g. a legend) and of the labels already placed. A label with
    no free candidate is hidden (``label_shown`` false); its name stays in the point's tooltip.

    Returns a frame aligned with the inputs: ``label_dx``, ``label_dy`` (pixels),
    ``label_align``, ``label_baseline`` (Vega text properties) and ``label_shown`` (bool).
    """
    px = x_axis.to_unit(np.asarray(x, dtype=float)) * width
    py = (1 - y_axis.to_unit(np.asarray(y, dtype=float))) * height
    n = len(labels)
    crowding = [sum(math.hypot(px[i] - px[j], py[i] - py[j]) < 60 for j in range(n)) for i in range(n)]
    placed: list[tuple[float, float, float, float]] = list(avoid)
    r = point_radius
    points = [(px[i] - r, py[i] - r, px[i] + r, py[i] + r) for i in range(n)]
    line_points = _densify([(x_axis.to_unit(np.asarray(lx, dtype=float)) * width,
                             (1 - y_axis.to_unit(np.asarray(ly, dtype=float))) * height) for lx, ly in lines])
    choice: dict[int, tuple[float, float, str, str]] = {}
    shown: dict[int, bool] = {}
    for i in sorted(range(n), key=lambda k: (-crowding[k], k)):
        text_width = 0.62 * font_size * len(str(labels[i]))  # average advance of DejaVu Sans
        others = [p for j, p in enumerate(points) if j != i]
        for candidate in candidates:
            box = _text_box(px[i], py[i], text_width, candidate, font_size)
            inside = box[0] >= 0 and box[2] <= width and box[1] >= 0 and box[3] <= height
            if not inside:
                continue
            if not any(_overlaps(box, other) for other in (*placed, *others)) and not _crosses(box, line_points):
                choice[i], shown[i] = candidate, True
                placed.append(box)
                break
        else:
            choice[i], shown[i] = candidates[0], False
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


def radial_candidates(distances: Sequence[float], directions: int = 16) -> list[tuple[float, float, str, str]]:
    """Label offsets around a point, nearest first: ``directions`` angles at each distance
    (pixels), the text aligned so its nearest edge or corner faces the point."""
    result = []
    for distance in distances:
        for k in range(directions):
            angle = 2 * math.pi * k / directions
            dx, dy = distance * math.cos(angle), -distance * math.sin(angle)
            align = "left" if dx > 0.3 * distance else "right" if dx < -0.3 * distance else "center"
            baseline = "bottom" if dy < -0.5 * distance else "top" if dy > 0.5 * distance else "middle"
            result.append((round(dx, 1), round(dy, 1), align, baseline))
    return result


def step_polyline(x: Sequence[float], y: Sequence[float]) -> tuple[list[float], list[float]]:
    """The vertices of a ``step-after`` line through the points (x sorted ascending): each
    horizontal run to the next x, then the vertical step, as Vega draws the Pareto frontier."""
    xs: list[float] = []
    ys: list[float] = []
    for i, (xi, yi) in enumerate(zip(x, y)):
        if i:
            xs.append(float(xi))
            ys.append(ys[-1])
        xs.append(float(xi))
        ys.append(float(yi))
    return xs, ys


def _densify(polylines: Sequence[tuple[np.ndarray, np.ndarray]], step: float = 1.5) -> np.ndarray:
    """Points every ``step`` pixels along each polyline (pixel coordinates), shape ``(n, 2)``."""
    samples = [np.empty((0, 2))]
    for px, py in polylines:
        for x0, y0, x1, y1 in zip(px[:-1], py[:-1], px[1:], py[1:]):
            if not np.all(np.isfinite([x0, y0, x1, y1])):
                continue
            count = max(int(math.hypot(x1 - x0, y1 - y0) / step), 1) + 1
            t = np.linspace(0.0, 1.0, count)
            samples.append(np.column_stack([x0 + t * (x1 - x0), y0 + t * (y1 - y0)]))
    return np.concatenate(samples)


def _crosses(box: tuple[float, float, float, float], line_points: np.ndarray, margin: float = 1.5) -> bool:
    if not len(line_points):
        return False
    x, y = line_points[:, 0], line_points[:, 1]
    return bool(np.any((x > box[0] - margin) & (x < box[2] + margin) & (y > box[1] - margin) & (y < box[3] + margin)))


def _text_box(px: float, py: float, text_width: float, candidate: tuple[float, float, str, str],
              font_size: float = LABEL_FONT_SIZE) -> tuple[float, float, float, float]:
    dx, dy, align, baseline = candidate
    left = {"left": px + dx, "right": px + dx - text_width, "center": px + dx - text_width / 2}[align]
    height = font_size + 1
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
        color=INK,
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
        .mark_line(color=FRONTIER_COLOR, interpolate="step-after", strokeWidth=1.6,
                   point=alt.OverlayMarkDef(filled=False, size=110, color=FRONTIER_COLOR))
        .encode(x=x, y=y, tooltip=list(tooltip))
    )


def zero_rule(orient: str = "vertical", tooltip_text: str = "zero: on the fitted trend") -> alt.Chart:
    """A rule at zero for residual plots (``orient="vertical"`` draws x = 0)."""
    frame = pd.DataFrame({"zero": [0.0], "meaning": [tooltip_text]})
    channel = {"x": alt.X("zero:Q")} if orient == "vertical" else {"y": alt.Y("zero:Q")}
    return alt.Chart(frame).mark_rule(color=FIT_COLOR).encode(**channel, tooltip=[alt.Tooltip("meaning:N", title="Line")])


def ranked_residual_bars(
    points: pd.DataFrame,
    x: alt.X,
    color: alt.Color,
    tooltip: Sequence[alt.Tooltip],
    *,
    bar_height: int,
    width: int,
    step: int,
    description: str,
) -> alt.LayerChart:
    """One bar per model (``name``) of its ``residual`` from a trend, best first, with the zero rule."""
    order = points.sort_values("residual", ascending=False)["name"].tolist()
    bars = (
        alt.Chart(points)
        .mark_bar(height=bar_height)
        .encode(x=x, y=alt.Y("name:N", sort=order, title=None), color=color, tooltip=list(tooltip))
    )
    return alt.layer(bars, zero_rule("vertical", "zero: exactly on the trend")).properties(
        width=width, height=alt.Step(step), description=description
    )

