"""Build hook: a wheel carries the data tables, templates and bibliography inside its packages.

The checkout keeps ``data/``, ``templates/`` and ``references.bib`` at the top, where maintainers edit
them; a wheel (``pip install .``) copies them to ``analysis/_bundled/`` and ``bookengine/_bundled/``,
where :mod:`analysis.resources` and :mod:`bookengine.site` find them with ``importlib.resources``.
Editable installs copy nothing and keep reading the checkout. Everything else is in ``pyproject.toml``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLES = {
    "analysis": ["data/*.csv", "data/datapackage.json", "references.bib", "templates/report/*.j2"],
    "bookengine": ["templates/site/**/*", "templates/typst/**/*"],
}
"""Per package, the checkout's files (globs relative to the repository) its wheel carries."""


class BuildWithResources(build_py):
    """``build_py`` that also copies :data:`BUNDLES` into each package's ``_bundled`` folder."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for package, patterns in BUNDLES.items():
            target = Path(self.build_lib) / package / "_bundled"
            for pattern in patterns:
                for source in sorted(ROOT.glob(pattern)):
                    if source.is_file():
                        destination = target / source.relative_to(ROOT)
                        destination.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(source, destination)


setup(cmdclass={"build_py": BuildWithResources})
