"""Building blocks shared by the chart modules of chapters 1-3.

Each helper returns an Altair layer (or a frame a layer draws) with a tooltip on every mark:
a fitted trend with its band, a Pareto frontier, name labels placed so they do not collide,
and the zero line of a residual plot. Chart functions compose them; they never choose their
own colours or fonts (those come from :mod:`analysis.charts.theme`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

from analysis.charts.theme import FIT_COLOR, FRONTIER_COLOR, FRONTIER_RING_COLOR, HEIGHT, INK, MUTED_OPACITY, PHONE_WIDTH, WIDTH
from analysis.fit import TrendResult

Box = tuple[float, float, float, float]
"""A rectangle in pixels of the plot: ``(left, top, right, bottom)``, y growing downwards."""
Offset = tuple[float, float, str, str]
"""A label position relative to its point: ``(dx, dy)`` in pixels, Vega's ``align`` and ``baseline``."""

LABEL_FONT_SIZE = 11
_POINT_RADIUS = 6.0
LEADER_DISTANCE = 14.0
"""A label placed further than this from its point (pixels) is joined to it by a leader line."""

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
    avoid: Sequence[Box] = (),
    candidates: Sequence[Offset] = _CANDIDATES,
    font_size: float = LABEL_FONT_SIZE,
    point_radius: float = _POINT_RADIUS,
    nearest: bool = False,
    lines_soft: bool = False,
    rings: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Choose, for each point, a label position that overlaps no other label, point, line or edge.

    Greedy: points are visited from the most crowded; each takes the first of ``candidates``
    (offsets ``(dx, dy, align, baseline)`` in pixels; default: right, left, above, below,
    diagonals, further above/below) whose text box is inside the plot and clear of every point,
    of every polyline in ``lines`` (``(x, y)`` vertex sequences in data units, e.g. a fitted trend
    or a frontier from :func:`step_polyline`), of the ``avoid`` boxes (pixels ``(left, top,
    right, bottom)`` in the plot, e.g. a legend) and of the labels already placed. A label with
    no free candidate is hidden (``label_shown`` false); its name stays in the point's tooltip.

    With ``nearest``, a label has to read as its own point's: points closer together than a
    point's diameter share one label (their names on separate lines, on the first of them); within
    :data:`LEADER_DISTANCE` of the point, the point must be at most half as far from the text
    box as any other point; further out, where :func:`label_layer` draws a leader line, the
    leader must pass a point's width clear of every other point. With ``lines_soft`` a label may, when no
    candidate is clear of the lines, lie across one (drawn with a halo it stays legible), but
    never across a point, a label or an edge. ``rings`` gives, per point, the pixels a ring drawn
    around it adds to its radius (:func:`frontier_layer`'s, :data:`FRONTIER_RING_WIDTH`; 0 for none):
    its label moves out by as much, and other labels keep clear of the ring.

    Returns a frame aligned with the inputs: ``label_text`` (the text drawn), ``label_dx``,
    ``label_dy`` (pixels), ``label_align``, ``label_baseline`` (Vega text properties) and
    ``label_shown`` (bool).
    """
    px, py = _to_pixels(x, y, x_axis, y_axis, width, height)
    n = len(labels)
    extra = np.zeros(n) if rings is None else np.asarray(rings, dtype=float)
    group = _label_groups(px, py, point_radius) if nearest else list(range(n))
    texts = _label_texts(labels, group)
    area = _PlotArea(width, height, px, py, point_radius,
                     _densify([_to_pixels(lx, ly, x_axis, y_axis, width, height) for lx, ly in lines]))
    points = [_point_box(float(px[i]), float(py[i]), point_radius, float(extra[i])) for i in range(n)]
    placed: list[Box] = list(avoid)
    choice: dict[int, Offset] = {i: candidates[0] for i in range(n)}
    shown: dict[int, bool] = dict.fromkeys(range(n), False)
    for i in _placement_order(px, py, group):
        if not texts[i]:
            continue
        members = [k for k in range(n) if group[k] == i]
        others = [p for j, p in enumerate(points) if j not in members]
        found = _free_position(area, members, texts[i], float(extra[i]), [*placed, *others], candidates, font_size,
                               nearest, lines_soft)
        if found:
            choice[i], shown[i] = found[0], True
            placed.append(found[1])
    return _label_frame(texts, [choice[i] for i in range(n)], [shown[i] for i in range(n)])


def phone_label_rows(
    points: pd.DataFrame,
    key: Sequence[bool],
    x: Sequence[float],
    y: Sequence[float],
    labels: Sequence[str],
    x_axis: Axis,
    y_axis: Axis,
    height: float = HEIGHT,
    **placement: object,
) -> pd.DataFrame:
    """The rows of ``points`` that carry a phone's label, with :func:`place_labels`' columns for it.

    Only the points where ``key`` is true are named; the labels are placed for a phone's plot
    (:data:`~analysis.charts.theme.PHONE_WIDTH` by ``height`` pixels) clear of every point of ``x``,
    ``y`` (aligned with ``points``), not only the named ones. ``placement`` takes :func:`place_labels`'
    other arguments (``lines``, ``candidates``, ``nearest``, ``rings``, ...). A key point whose label
    finds no free place at that size is left out (its name stays in its tooltip).
    """
    names = [str(label) if is_key else "" for label, is_key in zip(labels, key, strict=True)]
    placed = place_labels(x, y, names, x_axis, y_axis, PHONE_WIDTH, height, **placement)  # type: ignore[arg-type]
    rows = points.reset_index(drop=True).drop(columns=[c for c in placed.columns if c in points.columns])
    frame = pd.concat([rows, placed], axis=1)
    return frame[frame["label_shown"]].reset_index(drop=True)


def _label_frame(texts: Sequence[str], offsets: Sequence[Offset], shown: Sequence[bool]) -> pd.DataFrame:
    """:func:`place_labels`' frame, a row per point: its label's text, offset (pixels) and Vega text properties."""
    return pd.DataFrame(
        [
            {
                "label_text": text,
                "label_dx": offset[0],
                "label_dy": offset[1],
                "label_align": offset[2],
                "label_baseline": offset[3],
                "label_shown": is_shown,
            }
            for text, offset, is_shown in zip(texts, offsets, shown, strict=True)
        ]
    )


@dataclass(frozen=True)
class _PlotArea:
    """What a label is placed among, in pixels of the plot (origin top left): its size, the points' centres
    ``px``, ``py`` (each ``(n,)``) of ``point_radius``, and ``line_points`` ``(m, 2)`` along the lines."""

    width: float
    height: float
    px: np.ndarray
    py: np.ndarray
    point_radius: float
    line_points: np.ndarray

    def contains(self, box: Box) -> bool:
        """Whether ``box`` (pixels ``(left, top, right, bottom)``) lies inside the plot."""
        return box[0] >= 0 and box[2] <= self.width and box[1] >= 0 and box[3] <= self.height


def _to_pixels(x: Sequence[float], y: Sequence[float], x_axis: Axis, y_axis: Axis, width: float,
               height: float) -> tuple[np.ndarray, np.ndarray]:
    """Data values -> pixel positions ``(px, py)``, each shaped like ``x`` (y grows downwards, as Vega draws)."""
    return (x_axis.to_unit(np.asarray(x, dtype=float)) * width,
            (1 - y_axis.to_unit(np.asarray(y, dtype=float))) * height)


def _point_box(px: float, py: float, radius: float, ring: float) -> Box:
    """The square (pixels) a point of ``radius`` pixels centred at ``(px, py)`` covers, with its ``ring``."""
    return (px - radius - ring, py - radius - ring, px + radius + ring, py + radius + ring)


def _label_groups(px: np.ndarray, py: np.ndarray, radius: float) -> list[int]:
    """For each point, the index of the point whose label carries its name: the first earlier point that carries
    its own and lies closer than a point's diameter (``2 radius`` pixels), else the point itself."""
    group: list[int] = []
    for i in range(len(px)):
        group.append(next((j for j in range(i) if group[j] == j and math.hypot(px[i] - px[j], py[i] - py[j]) < 2 * radius),
                          i))
    return group


def _label_texts(labels: Sequence[str], group: Sequence[int]) -> list[str]:
    """The text each point's label draws: the names of its group on separate lines, "" for a point whose name
    another point's label carries."""
    n = len(labels)
    return ["\n".join(str(labels[k]) for k in range(n) if group[k] == i and str(labels[k])) if group[i] == i else ""
            for i in range(n)]


def _placement_order(px: np.ndarray, py: np.ndarray, group: Sequence[int]) -> list[int]:
    """The points carrying a label, most crowded first (most points within 60 pixels), ties in input order."""
    n = len(px)
    crowding = [sum(math.hypot(px[i] - px[j], py[i] - py[j]) < 60 for j in range(n)) for i in range(n)]
    return sorted((k for k in range(n) if group[k] == k), key=lambda k: (-crowding[k], k))


def _free_position(
    area: _PlotArea, members: list[int], text: str, ring: float, taken: Sequence[Box],
    candidates: Sequence[Offset], font_size: float, nearest: bool, lines_soft: bool,
) -> tuple[Offset, Box] | None:
    """The first of ``candidates`` (pushed out by the point's ``ring``, pixels) at which the label ``text`` of the
    points ``members`` (the first carries it) lies inside the plot, clear of the ``taken`` boxes (placed labels,
    other points, areas to avoid) and of the lines, and with ``nearest`` reads as its own point's
    (:func:`place_labels`); with ``lines_soft``, failing that, the first that may cross a line. ``None`` if none."""
    lines_of_text = text.split("\n")
    text_width = 0.62 * font_size * max(len(t) for t in lines_of_text)  # average advance of DejaVu Sans
    anchor = members[0]
    for clear_of_lines in ((True, False) if lines_soft else (True,)):
        for offset in candidates:
            candidate = _pushed_out(offset, ring)
            box = _text_box(area.px[anchor], area.py[anchor], text_width, candidate, font_size, len(lines_of_text))
            if not area.contains(box):
                continue
            if nearest and not _reads_as_own(box, members, area.px, area.py, candidate, area.point_radius):
                continue
            if any(_overlaps(box, other) for other in taken):
                continue
            if not (clear_of_lines and _crosses(box, area.line_points)):
                return candidate, box
    return None


def _pushed_out(candidate: tuple[float, float, str, str], by: float) -> tuple[float, float, str, str]:
    """A label offset moved ``by`` pixels further from its point along each axis it points along."""
    dx, dy, align, baseline = candidate
    return (dx + math.copysign(by, dx) if dx else dx, dy + math.copysign(by, dy) if dy else dy, align, baseline)


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


def _reads_as_own(box: tuple[float, float, float, float], members: list[int], px: np.ndarray, py: np.ndarray,
                  candidate: tuple[float, float, str, str], radius: float) -> bool:
    """Whether a label at ``box`` (pixels) reads as the points ``members``' (the first carries it;
    see :func:`place_labels`, ``nearest``)."""
    dx = np.maximum(np.maximum(box[0] - px, 0.0), px - box[2])
    dy = np.maximum(np.maximum(box[1] - py, 0.0), py - box[3])
    distance = np.hypot(dx, dy)
    own, others = distance[members[0]], np.delete(distance, members)
    if not others.size:
        return True
    if math.hypot(candidate[0], candidate[1]) <= LEADER_DISTANCE:
        return bool(2 * own < others.min())
    # the leader runs from the point towards the label's anchor
    t = np.linspace(0.0, 1.0, 20)
    leader_x, leader_y = px[members[0]] + t * candidate[0], py[members[0]] + t * candidate[1]
    other_x, other_y = np.delete(px, members), np.delete(py, members)
    gap = np.hypot(leader_x[:, None] - other_x[None, :], leader_y[:, None] - other_y[None, :]).min()
    return bool(gap > 2 * radius)  # a point's width of room, so the leader reads as no neighbour's


def _crosses(box: tuple[float, float, float, float], line_points: np.ndarray, margin: float = 1.5) -> bool:
    if not len(line_points):
        return False
    x, y = line_points[:, 0], line_points[:, 1]
    return bool(np.any((x > box[0] - margin) & (x < box[2] + margin) & (y > box[1] - margin) & (y < box[3] + margin)))


def _text_box(px: float, py: float, text_width: float, candidate: tuple[float, float, str, str],
              font_size: float = LABEL_FONT_SIZE, lines: int = 1) -> tuple[float, float, float, float]:
    dx, dy, align, baseline = candidate
    left = {"left": px + dx, "right": px + dx - text_width, "center": px + dx - text_width / 2}[align]
    height = (font_size + 1) * lines
    top = {"middle": py + dy - height / 2, "bottom": py + dy - height, "top": py + dy}[baseline]
    return (left, top, left + text_width, top + height)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_layer(base: alt.Chart, tooltip: Sequence[alt.Tooltip], opacity: alt.Opacity | None = None) -> alt.LayerChart:
    """The labels of :func:`place_labels` at the points of ``base`` (its columns ``label_text``,
    ``label_dx``, ``label_dy``, ``label_align``, ``label_baseline``, ``label_shown`` in the data),
    with a thin leader line from the point towards each label placed beyond :data:`LEADER_DISTANCE`;
    both carry the points' ``tooltip``."""
    text = base.mark_text(
        fontSize=LABEL_FONT_SIZE,
        dx=alt.ExprRef("datum.label_dx"),
        dy=alt.ExprRef("datum.label_dy"),
        align=alt.ExprRef("datum.label_align"),
        baseline=alt.ExprRef("datum.label_baseline"),
        color=INK,
        lineBreak="\n",
    ).encode(text=alt.Text("label_text:N"), tooltip=list(tooltip)).transform_filter("datum.label_shown")
    far = f"datum.label_shown && sqrt(datum.label_dx * datum.label_dx + datum.label_dy * datum.label_dy) > {LEADER_DISTANCE}"
    # from the point's edge to just short of the label's anchor
    leader = base.mark_rule(
        color=INK, strokeWidth=0.6, opacity=0.7,
        xOffset=alt.ExprRef("0.3 * datum.label_dx"), yOffset=alt.ExprRef("0.3 * datum.label_dy"),
        x2Offset=alt.ExprRef("0.85 * datum.label_dx"), y2Offset=alt.ExprRef("0.85 * datum.label_dy"),
    ).transform_filter(far)
    channels = base.encoding.to_dict()  # the points' x and y fields
    leader = leader.encode(x2=alt.X2(channels["x"]["field"]), y2=alt.Y2(channels["y"]["field"]), tooltip=list(tooltip))
    # the leaders take their scales' domains from the other layers: with x2 beside it, Vega-Lite leaves
    # an explicit date domain unparsed and warns that the layers' domains conflict
    for channel in ("x", "y"):
        scale = channels[channel].get("scale")
        if isinstance(scale, dict) and "domain" in scale:
            leader = leader.encode(**{channel: {**channels[channel], "scale": {k: v for k, v in scale.items() if k != "domain"}}})
    if opacity is not None:
        text, leader = text.encode(opacity=opacity), leader.encode(opacity=opacity)
    return alt.layer(leader, text)


def trend_band(trend: TrendResult, x: Sequence[float], margin: float, level: float, points: int = 60) -> pd.DataFrame:
    """A fitted trend and its bootstrap band on a log-spaced grid of ``points`` values, from
    ``margin`` times below the smallest of ``x`` to ``margin`` times above the largest: columns
    ``x``, ``fit``, ``lower``, ``upper`` (the ``level`` percentile band of the line)."""
    values = np.asarray(x, dtype=float)
    grid = np.geomspace(values.min() / margin, values.max() * margin, points)
    low, high = trend.interval(grid, level=level)
    return pd.DataFrame({"x": grid, "fit": trend.predict(grid), "lower": low, "upper": high})


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


FRONTIER_HALO_WIDTH = 2.0
"""Width (px) of the white halo between a point on a Pareto frontier and its ring."""
FRONTIER_RING_WIDTH = 3.5
"""How far (px) beyond its point's edge the ring of a point on a Pareto frontier reaches (halo and ring)."""


def _ring_size(radius: float) -> float:
    """Vega's ``size`` (area in px²) of a circle of ``radius`` pixels."""
    return math.pi * radius**2


def frontier_layer(frontier: pd.DataFrame, x: alt.X, y: alt.Y, tooltip: Sequence[alt.Tooltip],
                   point_size: float = 100) -> alt.LayerChart:
    """The Pareto frontier as a step line through the frontier points (sorted by cost), each point
    ringed in :data:`FRONTIER_RING_COLOR` behind a white halo, so the ring stands apart from any
    colour the point itself has. Drawn beneath the points (of ``point_size``, Vega's area in px²):
    the rings lie just outside them."""
    radius = math.sqrt(point_size / math.pi)
    ring = FRONTIER_RING_WIDTH - FRONTIER_HALO_WIDTH
    base = alt.Chart(frontier).encode(x=x, y=y, tooltip=list(tooltip))
    return alt.layer(
        base.mark_line(color=FRONTIER_COLOR, interpolate="step-after", strokeWidth=1.6),
        base.mark_point(filled=False, size=_ring_size(radius + FRONTIER_HALO_WIDTH / 2), color="white",
                        strokeWidth=FRONTIER_HALO_WIDTH + 0.5, opacity=1),
        base.mark_point(filled=False, size=_ring_size(radius + FRONTIER_HALO_WIDTH + ring / 2),
                        color=FRONTIER_RING_COLOR, strokeWidth=ring, opacity=1),
    )


def legend_dashes(dashes: Mapping[str, Sequence[float]]) -> alt.ExprRef:
    """A legend's ``symbolDash``, per entry: the dash pattern of the line each label names (``dashes``:
    label -> pattern), solid for the others, so a line symbol shows the line it stands for."""
    labels = json.dumps(list(dashes))
    patterns = json.dumps([[*pattern] for pattern in dashes.values()])
    return alt.ExprRef(f"indexof({labels}, datum.label) >= 0 ? {patterns}[indexof({labels}, datum.label)] : [1, 0]")


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
    highlight: alt.Parameter | None = None,
) -> alt.LayerChart:
    """One bar per model (``name``) of its ``residual`` from a trend, best first, with the zero
    rule; a legend-bound ``highlight`` selection dims the bars it does not select."""
    order = points.sort_values("residual", ascending=False)["name"].tolist()
    bars = (
        alt.Chart(points)
        .mark_bar(height=bar_height)
        .encode(x=x, y=alt.Y("name:N", sort=order, title=None), color=color, tooltip=list(tooltip))
    )
    if highlight is not None:
        bars = bars.encode(opacity=alt.condition(highlight, alt.value(1.0), alt.value(MUTED_OPACITY))).add_params(highlight)
    return alt.layer(bars, zero_rule("vertical", "zero: exactly on the trend")).properties(
        width=width, height=alt.Step(step), description=description
    )

