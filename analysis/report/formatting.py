"""Numbers as a report prints them: significant digits, powers of ten, intervals.

Pure functions returning plain text (Unicode superscripts instead of math markup), so the same
string reads well inline in a sentence, in a table cell, on the site and in the PDF.
"""

from __future__ import annotations

import math

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
MISSING = "–"
"""What a table shows where a value is not available."""


def number(value: float, digits: int = 3, *, scientific: bool | None = None) -> str:
    """``value`` to ``digits`` significant digits; powers of ten outside 0.001 to 100,000.

    ``scientific`` forces (``True``) or forbids (``False``) the power-of-ten notation; ``None``
    chooses by magnitude.

    >>> number(0.34781), number(2085.43), number(3.1e21), number(97932, scientific=True)
    ('0.348', '2085', '3.10 × 10²¹', '9.79 × 10⁴')
    """
    if value is None or not math.isfinite(value):
        return MISSING
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if not (needs_power_of_ten(value) if scientific is None else scientific):
        decimals = max(digits - 1 - exponent, 0)
        return f"{value:.{decimals}f}"
    mantissa = value / 10**exponent
    if round(abs(mantissa), digits - 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.{digits - 1}f} × 10{str(exponent).translate(_SUPERSCRIPT)}"


def needs_power_of_ten(value: float) -> bool:
    """Whether :func:`number` writes ``value`` as a power of ten (outside 0.001 to 100,000)."""
    return value != 0 and not -3 <= math.floor(math.log10(abs(value))) < 5


def power_of_ten(value: float) -> str:
    """A round budget such as 1e21 as ``10²¹``; other values as :func:`number` does."""
    if value > 0 and math.isfinite(value):
        exponent = round(math.log10(value))
        if math.isclose(value, 10.0**exponent, rel_tol=1e-9):
            return f"10{str(exponent).translate(_SUPERSCRIPT)}"
    return number(value)


def interval(bounds: tuple[float, float] | None, digits: int = 3) -> str:
    """A percentile interval as ``lo – hi``, or :data:`MISSING` without one.

    Both ends share one notation: powers of ten for both when either needs one.

    >>> interval((97932, 2.59e6))
    '9.79 × 10⁴ – 2.59 × 10⁶'
    """
    if bounds is None:
        return MISSING
    low, high = bounds
    if not (math.isfinite(low) and math.isfinite(high)):
        return MISSING
    scientific = needs_power_of_ten(low) or needs_power_of_ten(high)
    return f"{number(low, digits, scientific=scientific)} – {number(high, digits, scientific=scientific)}"


def latex_number(value: float, digits: int = 3) -> str:
    """Like :func:`number`, as TeX math: ``3.10 \\times 10^{21}``."""
    text = number(value, digits)
    if "× 10" not in text:
        return text
    mantissa, power = text.split(" × 10")
    exponent = power.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-"))
    return f"{mantissa} \\times 10^{{{exponent}}}"


_COUNT_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
_COUNT_LIMIT = 1e15
"""From here on :func:`count` writes powers of ten: no suffix is larger than T."""


def count(value: float, digits: int = 3) -> str:
    """Parameters or tokens with a short-scale suffix: ``33.2M``, ``7.89B``, ``2.11T``.

    Beyond 1000T (10¹⁵) the suffixes stop and :func:`number` takes over.

    >>> count(3.32e7), count(7.89e9), count(2.11e12), count(512)
    ('33.2M', '7.89B', '2.11T', '512')
    """
    if value is None or not math.isfinite(value):
        return MISSING
    if value != 0:
        value = float(f"{value:.{digits - 1}e}")  # round first, so 999.96M reads 1.00B
    for scale, suffix in _COUNT_SUFFIXES:
        if scale <= abs(value) < 1000 * scale:
            return number(value / scale, digits) + suffix
    return number(value, digits)


def count_interval(bounds: tuple[float, float] | None, digits: int = 3) -> str:
    """An interval of parameters or tokens as ``lo – hi`` in :func:`count` style.

    Where either end is beyond the suffixes (10¹⁵ and up), both are written as powers of ten.
    """
    if bounds is None or not all(math.isfinite(b) for b in bounds):
        return MISSING
    if any(abs(float(f"{b:.{digits - 1}e}")) >= _COUNT_LIMIT for b in bounds):
        return f"{number(bounds[0], digits, scientific=True)} – {number(bounds[1], digits, scientific=True)}"
    return f"{count(bounds[0], digits)} – {count(bounds[1], digits)}"
