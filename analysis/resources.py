"""Where the package's files are: the data tables, the report templates and the bibliography.

A wheel carries them inside the package (``analysis/_bundled/``, copied there by ``setup.py``), so
an installed ``atlas`` needs no checkout. A checkout (and an editable install of it) has no
``_bundled`` folder and reads the files where maintainers edit them: ``data/``,
``templates/report/`` and ``references.bib`` at the top of the repository.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

BUNDLE = "_bundled"
"""The folder inside the installed package that holds the files of :func:`resource_root`."""


def resource_root() -> Path:
    """The folder holding ``data/``, ``templates/report/`` and ``references.bib``."""
    package = Path(str(files("analysis")))
    bundled = package / BUNDLE
    return bundled if bundled.is_dir() else package.parent


def data_dir() -> Path:
    """The curated tables and ``datapackage.json``."""
    return resource_root() / "data"


def report_templates() -> Path:
    """The Jinja2 templates of ``atlas report``."""
    return resource_root() / "templates" / "report"


def bibliography() -> Path:
    """The BibTeX file every ``source`` key refers to."""
    return resource_root() / "references.bib"
