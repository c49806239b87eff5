"""JSON-ready result dictionaries: plain Python types, with ``None`` for numbers that are not finite."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars and arrays made plain, tuples made lists, and NaN/inf made ``None``.

    Non-finite numbers arise legitimately (an undefined derived quantity, an unbounded bootstrap
    interval); strict JSON has no literal for them, so they are written as ``null``.
    """
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value
