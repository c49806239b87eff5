"""Shared bootstrap machinery: seeded resampling of runs and percentile intervals.

Resamples are represented as *counts*: a resample of ``n`` runs drawn with replacement is
the array of how often each run was drawn (shape ``(n,)``, summing to ``n``). Estimators
weight each run by its count, so every resample reuses the same design arrays and a chunk
of resamples is one vectorised computation. Chunks are generated one at a time, keeping
memory flat in the number of resamples, and hold at most :data:`RESAMPLE_ELEMENTS` counts
(:func:`chunk_size_for`), keeping it flat in the number of runs too. A parametric bootstrap instead perturbs every item
by noise (:func:`chunked_noise`), chunked the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import numpy as np

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each chunk of resamples."""

DEFAULT_CHUNK_SIZE = 500

RESAMPLE_ELEMENTS = 2**22
"""Resamples times items in one chunk at most (32 MB of counts): with many runs a chunk holds fewer resamples."""


def chunk_size_for(n_items: int, requested: int = DEFAULT_CHUNK_SIZE) -> int:
    """Resamples per chunk: ``requested``, or fewer so that a chunk holds at most :data:`RESAMPLE_ELEMENTS` counts.

    Results depend on the chunk size only through this rule, so they are the same for the same data and seed.
    """
    return max(1, min(requested, RESAMPLE_ELEMENTS // max(n_items, 1)))


def resample_counts(
    rng: np.random.Generator,
    n_items: int,
    n_resamples: int,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Counts for ``n_resamples`` bootstrap resamples of ``n_items`` items, shape ``(n_resamples, n_items)``.

    With ``groups`` (an integer label per item), items are resampled within each group
    (a stratified bootstrap: each group keeps its size).
    """
    counts = np.zeros(n_resamples * n_items, dtype=float)
    row_offsets = (np.arange(n_resamples) * n_items)[:, None]
    if groups is None:
        members_by_group = [np.arange(n_items)]
    else:
        members_by_group = [np.flatnonzero(groups == label) for label in np.unique(groups)]
    for members in members_by_group:
        drawn = members[rng.integers(0, members.size, size=(n_resamples, members.size))]
        counts += np.bincount((drawn + row_offsets).ravel(), minlength=counts.size)
    return counts.reshape(n_resamples, n_items)


def chunked_counts(
    seed: int | None,
    n_items: int,
    n_resamples: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    groups: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """Yield resample counts chunk by chunk (deterministic for a given seed and chunk size)."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_resamples:
        size = min(chunk_size, n_resamples - done)
        yield resample_counts(rng, n_items, size, groups)
        done += size


def chunked_noise(
    seed: int | None, n_items: int, n_resamples: int, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[np.ndarray]:
    """Yield standard normal draws, shape ``(chunk, n_items)``, chunk by chunk (deterministic for a given seed
    and chunk size): the perturbations of a parametric bootstrap that adds noise to every item."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_resamples:
        size = min(chunk_size, n_resamples - done)
        yield rng.standard_normal((size, n_items))
        done += size


def percentile_interval(samples: np.ndarray, level: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval ``(lo, hi)`` at ``level`` along ``axis`` (NaN samples ignored)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    tail = 50.0 * (1.0 - level)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)  # all NaN -> NaN bounds
        lo, hi = np.nanpercentile(samples, [tail, 100.0 - tail], axis=axis)
    return lo, hi


def standard_error(samples: np.ndarray, axis: int = 0) -> np.ndarray:
    """Bootstrap standard error (sample standard deviation, NaN samples ignored; NaN if fewer than 2)."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.filterwarnings("ignore", "Degrees of freedom", RuntimeWarning)
        return np.nanstd(samples, axis=axis, ddof=1)
