"""The build environment a book's output depends on besides its own files: the Python
interpreter, the installed packages and the versions of pandoc and Typst."""

from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
import sys

from bookengine.convert import pandoc_path


def pandoc_version() -> str:
    """The first line of ``pandoc --version`` (for example ``pandoc 3.9``) of the pandoc the build runs."""
    path = pandoc_path()
    try:
        process = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return f"{path}: {error}"
    lines = process.stdout.splitlines()
    return f"{path}: {lines[0] if lines else process.returncode}"


def installed_packages() -> list[str]:
    """``name==version`` of every distribution installed in this environment, sorted (the Typst
    compiler comes with the ``typst`` package, so its version is among them)."""
    found = {f"{dist.name}=={dist.version}" for dist in importlib.metadata.distributions() if dist.name}
    return sorted(found, key=str.lower)


def environment_fingerprint() -> str:
    """SHA-256 over the Python version, every installed package and the pandoc version.

    It enters the execution cache key (a chapter such as the reproducibility appendix prints
    package versions) and names the folder of cached pandoc and chart conversions, so an
    upgrade of any of them re-executes and re-converts the book.
    """
    parts = [sys.version, pandoc_version(), *installed_packages()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
