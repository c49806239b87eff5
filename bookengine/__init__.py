"""The publishing engine: renders a Quarto book project (``_quarto.yml`` + ``.qmd``) to a
static website and a PDF, with Quarto when it is installed or with its own pipeline built
from the same parts (nbclient, pandoc, Typst, Jinja2). It never imports :mod:`analysis`."""
