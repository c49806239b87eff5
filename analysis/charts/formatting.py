"""Readable numbers for axes, tooltips and prose: ``1B``, ``10B``, ``1e21 FLOP``, ``82.4 (81.9–83.0)``.

Two kinds of helper live here:

* Vega expressions (``*_label_expr``) and tick lists (:func:`log_ticks`) for chart axes, so log
  axes show ``1B 10B 100B`` instead of ``1e+9`` or a crowd of minor labels;
* Python formatters (``format_*``) for tooltips computed in pandas and numbers in the prose.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

_SI_STEPS: tuple[tuple[float, str], ...] = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def log_ticks(low: float, high: float, mantissas: Sequence[float] = (1,)) -> list[float]:
    """Tick values ``m * 10**k`` (for each mantissa ``m``) that lie within ``[low, high]``.

    With the default mantissa only powers of ten are returned; pass ``(1, 2, 5)`` for a short
    range (less than about two decades) so the axis still has several labels.
    """
    if not (low > 0 and high > 0) or low > high:
        raise ValueError(f"log_ticks needs 0 < low <= high, got low={low}, high={high}")
    ticks = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in mantissas:
            value = float(f"{mantissa}e{exponent}")  # exact decimal, no 3*10**-1 rounding noise
            if low * (1 - 1e-12) <= value <= high * (1 + 1e-12):
                ticks.append(value)
    return sorted(ticks)


def auto_log_ticks(values: Iterable[float], pad: float = 1.0) -> list[float]:
    """Log-axis ticks for data ``values``: decades, or 1-2-5 steps when the data span under two
    decades. ``pad`` widens the range by that factor on both sides before choosing ticks."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v)) and float(v) > 0]
    if not finite:
        raise ValueError("auto_log_ticks needs at least one positive finite value")
    low, high = min(finite) / pad, max(finite) * pad
    decades = math.log10(high) - math.log10(low)
    mantissas: Sequence[float] = (1,) if decades >= 3 else (1, 2, 5) if decades >= 1 else (1, 1.5, 2, 3, 5, 7)
    ticks = log_ticks(low, high, mantissas)
    return ticks if len(ticks) >= 2 else log_ticks(low, high, (1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9))


def si_label_expr(suffix: str = "") -> str:
    """Vega expression labelling ``datum.value`` as ``300M``, ``1B``, ``1.5T`` (+ ``suffix``)."""
    branches = "".join(
        f"abs(datum.value) >= {threshold:g} ? format(datum.value / {threshold:g}, '~g') + '{symbol}' : "
        for threshold, symbol in _SI_STEPS
    )
    expr = f"{branches}format(datum.value, '~g')"
    return f"({expr}) + '{suffix}'" if suffix else expr


def power_label_expr(unit: str = "") -> str:
    """Vega expression labelling ``datum.value`` as ``1e21`` or ``3e21`` (+ ``" " + unit``)."""
    expr = "replace(format(datum.value, '.2~e'), 'e+', 'e')"
    return f"{expr} + ' {unit}'" if unit else expr


def format_si(value: float, digits: int = 3, suffix: str = "") -> str:
    """``1.3e9 -> "1.3B"``; ``digits`` significant figures; ``suffix`` appended (e.g. ``" parameters"``)."""
    if not math.isfinite(value):
        return str(value)
    for threshold, symbol in _SI_STEPS:
        if abs(value) >= threshold * (1 - 0.5 * 10 ** (1 - digits)):
            return f"{_significant(value / threshold, digits)}{symbol}{suffix}"
    return f"{_significant(value, digits)}{suffix}"


def format_power(value: float, digits: int = 2, unit: str = "") -> str:
    """``1.23e21 -> "1.2e21"`` (+ ``" " + unit``), scientific notation without the plus sign."""
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    text = f"{mantissa}e{int(exponent)}"
    return f"{text} {unit}" if unit else text


def format_value(value: float, digits: int = 3) -> str:
    """A plain number with ``digits`` significant figures, keeping trailing zeros (``84.0``)."""
    return _significant(value, digits, keep_zeros=True)


def format_signed(value: float, digits: int = 3, *, decimals: int | None = None, plus: bool = False) -> str:
    """A number with a true minus sign (U+2212): ``-1.23 -> "−1.23"``; ``digits`` significant
    figures, or a fixed number of ``decimals``; ``plus`` also signs positive values (``"+0.4"``)."""
    magnitude = f"{abs(value):.{decimals}f}" if decimals is not None else format_value(abs(value), digits)
    if value < 0 and magnitude.strip("0.") != "":
        return "−" + magnitude
    return ("+" + magnitude) if plus and value > 0 else magnitude


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_scientific(value: float, digits: int = 3) -> str:
    """``0.000123 -> "1.23 × 10⁻⁴"``: ``digits`` significant figures, a superscript exponent."""
    if value == 0 or not math.isfinite(value):
        return str(value)
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{format_signed(float(mantissa), digits)} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def format_interval(low: float, high: float, digits: int = 3, formatter=None) -> str:
    """``"81.9–83.0"`` (en dash); ``formatter`` (default :func:`format_value`) formats each end."""
    fmt = formatter or (lambda v: format_value(v, digits))
    return f"{fmt(low)}–{fmt(high)}"


def format_with_interval(value: float, low: float, high: float, digits: int = 3, formatter=None) -> str:
    """``"82.4 (95% CI 81.9–83.0)"`` for a value and its 95 % interval."""
    fmt = formatter or (lambda v: format_value(v, digits))
    return f"{fmt(value)} (95% CI {format_interval(low, high, formatter=fmt)})"


def format_percent(fraction: float, digits: int = 2) -> str:
    """``0.0312 -> "3.1%"`` (``digits`` significant figures)."""
    return f"{_significant(100 * fraction, digits, keep_zeros=True)}%"


def _significant(value: float, digits: int, keep_zeros: bool = False) -> str:
    if value == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    text = f"{value:.{decimals}f}"
    if not keep_zeros and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
