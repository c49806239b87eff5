"""The one Altair theme of the book, and its colour-blind-safe palettes.

Importing :mod:`analysis.charts` registers the theme as ``"atlas"`` and enables it, so every chart
of every chapter shares fonts, sizes and colours. Chart functions take colours from the constants
here instead of choosing their own.

Palettes:

* :data:`CATEGORICAL` -- Okabe & Ito (2008), eight colours distinguishable under the common forms
  of colour-vision deficiency; used for families and methods.
* :data:`SEQUENTIAL_SCHEME` -- ``"viridis"``, perceptually uniform and monotone in lightness, so
  it survives greyscale printing; used for release dates and losses.
* :data:`SHAPES` -- point shapes used together with colour so no encoding relies on colour alone.
"""

from __future__ import annotations

from typing import Any, Final

import altair as alt

THEME_NAME: Final = "atlas"

FONT: Final = "DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif"

# Okabe-Ito order; black last because it is reserved for fits and annotations.
CATEGORICAL: Final[tuple[str, ...]] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermilion
    "#F0E442",  # yellow
    "#000000",  # black
)
YELLOW: Final = CATEGORICAL[6]
DARK_YELLOW: Final = "#A89500"
"""The palette's yellow darkened to a 3:1 contrast on white, for a few small marks that must show (a lone
yellow point hardly does); lighter than black and greener than the orange, so it stays apart from both."""
SEQUENTIAL_SCHEME: Final = "viridis"
SHAPES: Final[tuple[str, ...]] = (
    "circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "triangle-right", "triangle-left", "wedge",
)

FIT_COLOR: Final = "#404040"
"""Colour of fitted lines and their uncertainty bands (neutral, so the data keeps the colour)."""
FRONTIER_COLOR: Final = "#D55E00"
"""Colour of Pareto frontiers (vermilion, distinct from every sequential-scheme colour)."""
FRONTIER_RING_COLOR: Final = "#222222"
"""Rings around the points on a Pareto frontier: near-black behind a white halo, so a ring stands apart from
every categorical and sequential colour its point may have (vermilion rings sank into orange points)."""
INK: Final = "#333333"
"""Outlines of points and the text of labels."""
NAMED_MODEL_COLOR: Final = "#111111"
"""Stars, names and fitted curves of named models (Gopher, Chinchilla, ...) in chapters 4 and 5."""
GUIDE_COLOR: Final = "#555555"
"""Reference rules (IsoFLOP budgets, the selected budget) and leader lines from names to their stars."""
OTHER_COLOR: Final = "#999999"
"""The shared grey of points in no highlighted group ("other families")."""
MUTED_OPACITY: Final = 0.15
"""Opacity of marks that are not highlighted by a legend selection."""

WIDTH: Final = 560
HEIGHT: Final = 340
PHONE_WIDTH: Final = 280
"""Plot width (px) a phone's key labels are placed for: a 360 px screen's plot beside its y axis. A wider
phone's plot only spreads the points apart, so labels clear of each other and of the edges here stay clear."""


def atlas_theme() -> dict[str, Any]:
    """Return the Vega-Lite ``config`` of the book (a theme dict as Altair expects it)."""
    axis = {
        "labelFont": FONT,
        "titleFont": FONT,
        "labelFontSize": 12,
        "titleFontSize": 13,
        "titleFontWeight": "normal",
        "gridColor": "#e6e6e6",
        "domainColor": "#888888",
        "tickColor": "#888888",
        "labelColor": "#333333",
        "titleColor": "#222222",
        "labelOverlap": "greedy",
    }
    return {
        "config": {
            "font": FONT,
            "view": {"continuousWidth": WIDTH, "continuousHeight": HEIGHT, "stroke": None},
            "axis": axis,
            "legend": {
                "labelFont": FONT,
                "titleFont": FONT,
                "labelFontSize": 12,
                "titleFontSize": 12,
                "titleFontWeight": "normal",
                "symbolSize": 80,
                "labelLimit": 220,
            },
            "title": {"font": FONT, "fontSize": 14, "fontWeight": "normal", "anchor": "start"},
            "header": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 12, "titleFontSize": 13},
            "text": {"font": FONT, "fontSize": 11},
            "point": {"size": 70, "filled": True, "opacity": 0.9},
            "line": {"strokeWidth": 2},
            "range": {
                "category": list(CATEGORICAL),
                "ordinal": {"scheme": SEQUENTIAL_SCHEME},
                "ramp": {"scheme": SEQUENTIAL_SCHEME},
                "heatmap": {"scheme": SEQUENTIAL_SCHEME},
            },
            "numberFormat": ",.4~g",
        }
    }


def register_theme() -> None:
    """Register the book's theme with Altair under :data:`THEME_NAME` and enable it."""
    alt.theme.register(THEME_NAME, enable=True)(atlas_theme)
