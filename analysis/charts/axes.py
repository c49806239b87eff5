"""Chart axes: log-scale tick values and the Vega expressions that label them.

Log axes show ``1B 10B 100B`` and ``10²¹`` (superscript exponents, as the papers print them)
instead of ``1e+9``, ``1e21`` or a crowd of minor labels; the labels in Vega expressions follow the
Python formatters of :mod:`analysis.text` (``format_si``, ``format_power``), so axes, legends,
tooltips and prose write a number the same way, and no chart shows e-notation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import altair as alt

from analysis.text import NBSP, TIMES

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


def count_label_expr(ticks: Sequence[float]) -> str:
    """Vega expression labelling the count ticks ``ticks`` in one format, as ``analysis.text.format_count``
    writes counts: ``300M``, ``1.5T`` while every tick is below 10¹⁵, else every tick a power of ten
    (``10¹²``, ``10¹⁵``: never ``1T`` beside ``10¹⁵`` on one axis)."""
    return power_label_expr() if max(abs(t) for t in ticks) >= 1e15 else si_label_expr()


def superscript_expr(integer: str) -> str:
    """Vega expression writing the integer expression ``integer`` in superscript digits (``-4 -> "⁻⁴"``)."""
    text = f"toString({integer})"
    for digit, raised in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹"):
        text = f"replace({text}, regexp('{digit}', 'g'), '{raised}')"
    return f"replace({text}, '-', '⁻')"


def power_expr(value: str, digits: int = 3) -> str:
    """Vega expression writing the number ``value`` as ``analysis.text.format_power`` does:
    ``5.04 × 10²³``, ``10²¹`` (a mantissa of 1 left out), ``digits`` significant figures."""
    scientific = f"format({value}, '.{digits - 1}~e')"
    mantissa = f"split({scientific}, 'e')[0]"
    exponent = superscript_expr(f"toNumber(split({scientific}, 'e')[1])")
    return f"(({mantissa} == '1' ? '' : {mantissa} + '{TIMES}') + '10' + {exponent})"


def power_label_expr(unit: str = "", digits: int = 3) -> str:
    """Vega expression labelling ``datum.value`` as ``10²¹`` or ``3 × 10²¹`` (+ the unit after a no-break space)."""
    expr = power_expr("datum.value", digits)
    return f"{expr} + '{NBSP}{unit}'" if unit else expr


def count_expr(field: str) -> str:
    """Vega expression formatting the number ``field`` as ``analysis.text.format_si(value, 3)`` does (B for 1e9, not G)."""
    return "(" + si_label_expr().replace("datum.value", field).replace("'~g'", "'.3~r'") + ")"


def flop_expr(field: str) -> str:
    """Vega expression formatting the FLOP count ``field`` as ``analysis.text.format_power(value, 3, "FLOP")`` does."""
    return power_expr(field, 3) + f" + '{NBSP}FLOP'"


def flop_axis(value_range: tuple[float, float], every: int = 1, label_every: int = 1) -> alt.Axis:
    """Log axis with a tick at every ``every``-th power of ten (10¹⁸, 10¹⁹, ...), labelled at
    every ``label_every``-th tick (counted from the first) where labels would crowd."""
    ticks = log_ticks(*value_range)[::every]
    label = power_label_expr()
    if label_every > 1:
        labelled = ", ".join(repr(float(t)) for t in ticks[::label_every])
        label = f"indexof([{labelled}], datum.value) >= 0 ? {label} : ''"
    return alt.Axis(values=ticks, labelExpr=label)


def count_axis(value_range: tuple[float, float], every: int = 1) -> alt.Axis:
    """Log axis of parameters or tokens labelled 10M, 100M, 1B, 10B, ... at powers of ten."""
    return alt.Axis(values=log_ticks(*value_range)[::every], labelExpr=si_label_expr())


def loss_axis(values: Sequence[float]) -> alt.Axis:
    """Loss axis (nats per token) with the given tick values."""
    return alt.Axis(values=list(values), format=".1f")
