"""Charts of the book: one shared theme, one function per chart, one project renderer.

Importing this package registers and enables the Altair theme ``"atlas"``
(:mod:`analysis.charts.theme`) and the Altair renderer ``"atlas"``
(:mod:`analysis.charts.renderer`), whose MIME bundle carries both the interactive HTML for the
site and a static SVG for the PDF. Chart functions live in one module per chapter.
"""

from analysis.charts.renderer import register_renderer
from analysis.charts.theme import register_theme

register_theme()
register_renderer()
