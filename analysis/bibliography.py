"""The bibliography, read the way pandoc reads it: one parse, cached by the file's digest.

pandoc (shipped by ``pypandoc-binary``, and what renders the book's citations) converts the
BibTeX file to CSL JSON; everything else here works on that. So ``@comment{...}``,
``@string`` abbreviations, nested braces and LaTeX accents mean what they mean to pandoc, and a
key is "defined" exactly when a citation of it would resolve in the book.

* :func:`read_bibliography` -- ``key -> Entry`` (authors, year, title, the CSL item);
* :func:`author_year` -- ``"Wu et al. 2022"`` for tooltips and tables;
* :func:`narrative` -- ``"Wu et al. (2022)"`` for source lines under charts;
* :func:`csl_entries` -- CSL JSON for a few keys (the bibliography of a generated report).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypandoc

from analysis.errors import AtlasError


class BibliographyError(AtlasError):
    """The bibliography cannot be read: missing, not UTF-8, or not BibTeX pandoc can parse."""


@dataclass(frozen=True)
class Entry:
    """One bibliography entry.

    Attributes:
        key: the citation key.
        authors: family names in order (an organisation's full name; ``"others"`` for ``and others``).
        year: year of issue, or ``""``.
        title: the title as plain text.
        csl: the whole CSL JSON item pandoc produced.
    """

    key: str
    authors: tuple[str, ...]
    year: str
    title: str
    csl: dict[str, Any] = field(repr=False, compare=False)

    @property
    def narrative(self) -> str:
        """``"Hoffmann et al. (2022)"``: the names, the year in parentheses (as pandoc's in-text citations)."""
        lead = self.author_year.removesuffix(self.year).strip()
        return f"{lead} ({self.year})" if self.year and self.authors else self.author_year

    @property
    def author_year(self) -> str:
        """``"Hoffmann et al. 2022"``, ``"Wang and Cho 2019"``, ``"Devlin 2019"``."""
        names = self.authors
        if not names:
            return f"{self.key} {self.year}".strip()
        if len(names) > 2 or names[-1] == "others":
            lead = f"{names[0]} et al."
        elif len(names) == 2:
            lead = f"{names[0]} and {names[1]}"
        else:
            lead = names[0]
        return f"{lead} {self.year}".strip()


def _author_name(person: dict[str, Any]) -> str:
    if "family" in person:
        particle = person.get("non-dropping-particle")
        return f"{particle} {person['family']}" if particle else str(person["family"])
    return str(person.get("literal", ""))


def _entry(item: dict[str, Any]) -> Entry:
    parts = item.get("issued", {}).get("date-parts", [[]])
    year = str(parts[0][0]) if parts and parts[0] else ""
    return Entry(
        key=str(item["id"]),
        authors=tuple(name for name in map(_author_name, item.get("author", [])) if name),
        year=year,
        title=str(item.get("title", "")),
        csl=item,
    )


def read_bibliography(path: str | Path) -> dict[str, Entry]:
    """Every entry of a BibTeX file, by key, in file order.

    Raises:
        BibliographyError: the file is missing, not UTF-8 text, or pandoc cannot parse it.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BibliographyError(f"{path}: bibliography file not found") from None
    except OSError as error:
        raise BibliographyError(f"{path}: cannot read the bibliography ({error.strerror})") from None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BibliographyError(f"{path}: not valid UTF-8 text (byte {error.start})") from None
    return dict(_parse(hashlib.sha256(raw).hexdigest(), str(path)))


@functools.lru_cache(maxsize=8)
def _parse(digest: str, path: str) -> tuple[tuple[str, Entry], ...]:
    """The entries of the file with this digest (the path only says where to read it)."""
    try:
        items = json.loads(pypandoc.convert_file(path, "csljson", format="bibtex"))
    except RuntimeError as error:
        first = str(error).strip().splitlines()[-1] if str(error).strip() else "pandoc failed"
        raise BibliographyError(f"{path}: pandoc cannot read it as BibTeX: {first}") from None
    return tuple((entry.key, entry) for entry in map(_entry, items))


def bibliography_keys(path: str | Path) -> set[str]:
    """The citation keys a BibTeX file defines (raises :class:`BibliographyError` as :func:`read_bibliography`)."""
    return set(read_bibliography(path))


def author_year(key: str, path: str | Path) -> str:
    """``"wu2022xtc" -> "Wu et al. 2022"`` from the bibliography at ``path``; the key itself if unknown."""
    entry = read_bibliography(path).get(key)
    return entry.author_year if entry else key


def narrative(key: str, path: str | Path) -> str:
    """``"hoffmann2022chinchilla" -> "Hoffmann et al. (2022)"`` from the bibliography at ``path``.

    Raises:
        BibliographyError: the bibliography cannot be read or has no entry ``key`` (a source line
            never shows a raw key).
    """
    entry = read_bibliography(path).get(key)
    if entry is None:
        raise BibliographyError(f"{path}: no entry for {key}")
    return entry.narrative


def csl_entries(path: str | Path, keys: tuple[str, ...]) -> str:
    """CSL JSON (pandoc's reading, which pandoc and Quarto take as a bibliography) for ``keys``, in that order.

    Raises:
        BibliographyError: the bibliography cannot be read, or lacks one of the keys.
    """
    entries = read_bibliography(path)
    missing = [key for key in keys if key not in entries]
    if missing:
        raise BibliographyError(f"{path}: no entry for {', '.join(missing)}")
    return json.dumps([entries[key].csl for key in keys], indent=2, ensure_ascii=False) + "\n"
