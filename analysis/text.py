"""Numbers as text, for prose, tables, tooltips and reports: the one place numbers are formatted.

Plain text only (Unicode superscripts and true minus signs instead of math markup), so the same
string reads well in a sentence, a table cell, a chart tooltip, on the site and in the PDF. Inside a
number the spaces are no-break spaces (:data:`NBSP`): ``5.04 × 10²³`` and ``5.04 × 10²³ FLOP`` never
break across lines (a word after a count, ``68B parameters``, may).

* significant figures: :func:`format_value` (``84.0``), :func:`format_signed` (``−1.2``, ``+0.4``),
  :func:`number` (powers of ten outside 0.001 to 100,000: ``3.10 × 10²¹``);
* counts of parameters or tokens: :func:`format_si` (``1.3B``), :func:`count` (``1.30B``),
  :func:`format_count`;
* powers of ten: :func:`format_power` (``1.2 × 10²¹``), :func:`format_scientific` (``1.23 × 10⁻⁴``),
  :func:`power_of_ten` (``10²¹``), :func:`latex_number`;
* intervals: :func:`format_interval` (``81.9–83.0``), :func:`interval` (``0.3 – 0.5``),
  :func:`count_interval`; in prose :func:`bootstrap_interval` (``95% bootstrap interval 48B–104B``, the book's one
  wording), :func:`interval_text`, :func:`with_interval`;
* prose: :func:`names_list` (``a, b and c``), :func:`times` (``3.4×``), :func:`percent`,
  :func:`group_thousands` (``1,024``), :func:`curly_apostrophes` (``et al.’s`` in chart text).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable

MISSING = "–"
"""What a table shows where a value is not available."""

MINUS = "−"
"""The true minus sign (U+2212) every negative number is written with."""

NBSP = "\u00a0"
"""The no-break space (U+00A0) inside a number (``5.04 × 10²³``) and between a number and its unit symbol."""

TIMES = f"{NBSP}×{NBSP}"
"""The multiplication sign of a power of ten, between no-break spaces: ``5.04`` + TIMES + ``10²³``."""

LEVEL = 0.95
"""Coverage of the intervals the book reports (their label reads ``95% bootstrap interval``)."""

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_PLAIN_DIGITS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
_SI_STEPS: tuple[tuple[float, str], ...] = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
_COUNT_LIMIT = 1e15
"""From here on counts are written as powers of ten: no suffix is larger than T."""


C_MIN = "C\u2098\u1d62\u2099"
"""Kaplan et al.'s minimum compute C_min as chart text and tooltips write it (Unicode subscripts: Cₘᵢₙ)."""


def superscript(exponent: int) -> str:
    """An integer exponent in superscript digits: ``-4 -> "⁻⁴"``."""
    return str(exponent).translate(_SUPERSCRIPT)


def _significant(value: float, digits: int, keep_zeros: bool = False) -> str:
    if value == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    text = f"{value:.{decimals}f}"
    if not keep_zeros and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_value(value: float, digits: int = 3) -> str:
    """A plain number with ``digits`` significant figures, keeping trailing zeros (``84.0``)."""
    return _significant(value, digits, keep_zeros=True)


def format_signed(value: float, digits: int = 3, *, decimals: int | None = None, plus: bool = False) -> str:
    """A number with a true minus sign: ``-1.23 -> "−1.23"``; ``digits`` significant figures, or
    a fixed number of ``decimals``; ``plus`` also signs positive values (``"+0.4"``)."""
    magnitude = f"{abs(value):.{decimals}f}" if decimals is not None else format_value(abs(value), digits)
    if value < 0 and magnitude.strip("0.") != "":
        return MINUS + magnitude
    return ("+" + magnitude) if plus and value > 0 else magnitude


def needs_power_of_ten(value: float) -> bool:
    """Whether :func:`number` writes ``value`` as a power of ten (outside 0.001 to 100,000)."""
    return value != 0 and not -3 <= math.floor(math.log10(abs(value))) < 5


def number(value: float | None, digits: int = 3, *, scientific: bool | None = None) -> str:
    """``value`` to ``digits`` significant figures; powers of ten outside 0.001 to 100,000.

    Negative values take a true minus sign; a missing or non-finite value is :data:`MISSING`.
    ``scientific`` forces (``True``) or forbids (``False``) the power-of-ten notation; ``None``
    chooses by magnitude.

    >>> number(0.34781), number(2085.43), number(3.1e21), number(97932, scientific=True), number(-0.5, 1)
    ('0.348', '2085', '3.10\xa0×\xa010²¹', '9.79\xa0×\xa010⁴', '−0.5')
    """
    if value is None or not math.isfinite(value):
        return MISSING
    if value < 0:
        return MINUS + number(-value, digits, scientific=scientific)
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(value))
    if not (needs_power_of_ten(value) if scientific is None else scientific):
        return format_value(value, digits)
    mantissa = value / 10**exponent
    if round(mantissa, digits - 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.{digits - 1}f}{TIMES}10{superscript(exponent)}"


def latex_number(value: float, digits: int = 3) -> str:
    """Like :func:`number`, as TeX math: ``3.10 \\times 10^{21}``, ``-0.5``."""
    text = number(value, digits).replace(MINUS, "-")
    if TIMES not in text:
        return text
    mantissa, power = text.split(TIMES + "10")
    return f"{mantissa} \\times 10^{{{power.translate(_PLAIN_DIGITS)}}}"


def power_of_ten(value: float) -> str:
    """A round budget such as 1e21 as ``10²¹``; other values as :func:`number` does."""
    if value > 0 and math.isfinite(value):
        exponent = round(math.log10(value))
        if math.isclose(value, 10.0**exponent, rel_tol=1e-9):
            return f"10{superscript(exponent)}"
    return number(value)


def with_unit(text: str, unit: str) -> str:
    """A number and its unit symbol joined by a no-break space: ``"5.04 × 10²³ FLOP"``, ``"26 MB"``."""
    return f"{text}{NBSP}{unit}" if unit else text


def format_power(value: float, digits: int = 2, unit: str = "") -> str:
    """``1.23e21 -> "1.2 × 10²¹"`` (+ the ``unit``, :func:`with_unit`): a power of ten with a superscript exponent,
    ``digits`` significant figures, trailing zeros dropped; a mantissa of 1 is left out (``10²¹``).

    The same characters reach the site and the PDF; no e-notation (``1.2e21``) is ever written.

    >>> format_power(5.04e23, 3, "FLOP"), format_power(1e21, 1), format_power(-2.5e-7)
    ('5.04\xa0×\xa010²³\xa0FLOP', '10²¹', '−2.5\xa0×\xa010⁻⁷')
    """
    if value == 0 or not math.isfinite(value):
        return with_unit("0" if value == 0 else MISSING, unit)
    mantissa, exponent = f"{abs(value):.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    power = f"10{superscript(int(exponent))}"
    text = (MINUS if value < 0 else "") + (power if mantissa == "1" else f"{mantissa}{TIMES}{power}")
    return with_unit(text, unit)


def format_scientific(value: float, digits: int = 3) -> str:
    """``0.000123 -> "1.23 × 10⁻⁴"``: ``digits`` significant figures, a superscript exponent."""
    if value == 0 or not math.isfinite(value):
        return str(value)
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{format_signed(float(mantissa), digits)}{TIMES}10{superscript(int(exponent))}"


def format_si(value: float, digits: int = 3, suffix: str = "") -> str:
    """``1.3e9 -> "1.3B"``: ``digits`` significant figures, trailing zeros dropped, ``suffix`` appended."""
    if not math.isfinite(value):
        return str(value)
    for threshold, symbol in _SI_STEPS:
        if abs(value) >= threshold * (1 - 0.5 * 10 ** (1 - digits)):
            return f"{_significant(value / threshold, digits)}{symbol}{suffix}"
    return f"{_significant(value, digits)}{suffix}"


def format_count(value: float, digits: int = 3) -> str:
    """A parameter count as ``2.4B`` within 1k-1000T, as a power of ten outside (``2 × 10⁻²⁵``)."""
    return format_si(value, digits) if 1e3 <= abs(value) < _COUNT_LIMIT else format_power(value, digits)


def count(value: float | None, digits: int = 3) -> str:
    """Parameters or tokens with a suffix and significant zeros: ``33.2M``, ``7.89B``, ``2.00T``.

    Beyond 1000T (10¹⁵) the suffixes stop and :func:`number` takes over.

    >>> count(3.32e7), count(7.89e9), count(2.11e12), count(512)
    ('33.2M', '7.89B', '2.11T', '512')
    """
    if value is None or not math.isfinite(value):
        return MISSING
    if value != 0:
        value = float(f"{value:.{digits - 1}e}")  # round first, so 999.96M reads 1.00B
    for scale, suffix in _SI_STEPS:
        if scale <= abs(value) < 1000 * scale:
            return number(value / scale, digits) + suffix
    return number(value, digits)


def format_interval(low: float, high: float, digits: int = 3, formatter: Callable[[float], str] | None = None) -> str:
    """``"81.9–83.0"`` (en dash); ``formatter`` (default :func:`format_value`) formats each end."""
    fmt = formatter or (lambda v: format_value(v, digits))
    return f"{fmt(low)}–{fmt(high)}"


def interval(bounds: tuple[float, float] | None, digits: int = 3) -> str:
    """A percentile interval as ``lo – hi``, or :data:`MISSING` without one.

    Both ends share one notation: powers of ten for both when either needs one.

    >>> interval((97932, 2.59e6))
    '9.79\xa0×\xa010⁴ – 2.59\xa0×\xa010⁶'
    """
    if bounds is None:
        return MISSING
    low, high = bounds
    if not (math.isfinite(low) and math.isfinite(high)):
        return MISSING
    scientific = needs_power_of_ten(low) or needs_power_of_ten(high)
    return f"{number(low, digits, scientific=scientific)} – {number(high, digits, scientific=scientific)}"


def count_interval(bounds: tuple[float, float] | None, digits: int = 3) -> str:
    """An interval of parameters or tokens as ``lo – hi`` in :func:`count` style.

    Where either end is beyond the suffixes (10¹⁵ and up), both are written as powers of ten.
    """
    if bounds is None or not all(math.isfinite(b) for b in bounds):
        return MISSING
    if any(abs(float(f"{b:.{digits - 1}e}")) >= _COUNT_LIMIT for b in bounds):
        return f"{number(bounds[0], digits, scientific=True)} – {number(bounds[1], digits, scientific=True)}"
    return f"{count(bounds[0], digits)} – {count(bounds[1], digits)}"


def bootstrap_interval(low: float, high: float, formatter: Callable[[float], str] | None = None, digits: int = 3,
                       level: float = LEVEL) -> str:
    """An interval as the prose names it: ``"95% bootstrap interval 48B–104B"``.

    ``formatter`` (default :func:`format_value` to ``digits``) writes each end; the ends are joined by an en dash,
    or by ``to`` when either is negative, so that a dash never stands next to a minus sign (``−7.3 to 14.3``).

    >>> bootstrap_interval(4.8e10, 1.04e11, lambda v: format_si(v, 2)), bootstrap_interval(-7.31, 14.3, digits=2)
    ('95% bootstrap interval 48B–104B', '95% bootstrap interval −7.3 to 14')
    """
    fmt = formatter or (lambda v: format_signed(v, digits))
    joint = " to " if min(low, high) < 0 else "–"
    return f"{level:.0%} bootstrap interval {fmt(low)}{joint}{fmt(high)}"


def interval_text(low: float, high: float, digits: int = 2, unit: str = "", level: float = LEVEL) -> str:
    """``"95% bootstrap interval 1.4–5.7 GLUE points"`` (:func:`bootstrap_interval`)."""
    tail = f" {unit}" if unit else ""
    return bootstrap_interval(low, high, lambda v: number(v, digits), level=level) + tail


def with_interval(value: float, low: float, high: float, digits: int = 2, unit: str = "") -> str:
    """``"3.4 GLUE points (95% bootstrap interval 1.4–5.7)"``."""
    tail = f" {unit}" if unit else ""
    return f"{number(value, digits)}{tail} ({interval_text(low, high, digits)})"


def names_list(names: Iterable[object]) -> str:
    """``["a", "b", "c"] -> "a, b and c"``."""
    items = [str(n) for n in names]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def group_thousands(text: str) -> str:
    """A plain number's integer part with thousands separators: ``"1024" -> "1,024"``, ``"12345.6" -> "12,345.6"``;
    other text unchanged."""
    sign = text[0] if text[:1] in (MINUS, "-") else ""
    whole, dot, fraction = text[len(sign):].partition(".")
    if not whole.isdigit():
        return text
    return f"{sign}{int(whole):,}{dot}{fraction}"


def times(value: float, digits: int = 2) -> str:
    """A ratio as ``"3.4×"`` (``digits`` significant figures; ``"1,024×"`` with thousands separators)."""
    return group_thousands(format_value(value, digits)) + "×"


def en_dash_ranges(text: str) -> str:
    """``"10th-90th percentile"`` -> ``"10th–90th percentile"``: a hyphen between two numbers (ordinals included)
    becomes the en dash of a range, for text from data files that a reader sees."""
    return re.sub(r"(?<=\d)(st|nd|rd|th)?-(?=\d)", lambda m: (m.group(1) or "") + "–", text)


_APOSTROPHE = re.compile(r"(?<=[\w.)])'(?=\w)|(?<=s)'(?=[\s.,;:)]|$)")
"""A straight apostrophe inside a word (``paper's``, ``et al.'s``, ``(1-bit)'s``) or after a plural's s (``authors'``)."""


def curly_apostrophes(text: str) -> str:
    """``"Kaplan et al.'s"`` -> ``"Kaplan et al.’s"``: the typographic apostrophe (U+2019) of the running text, for
    text no typesetter sees (chart titles, legends and notes; escaped table cells). Quotes around words are left
    alone."""
    return _APOSTROPHE.sub("’", text)


def percent(value: float, digits: int = 2) -> str:
    """A number already in percent as ``"3.1%"`` (``digits`` significant figures)."""
    return format_value(value, digits) + "%"
