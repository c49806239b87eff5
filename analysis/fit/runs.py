"""Input normalisation for the estimators: :class:`TrainingRuns`.

Every estimator takes a :class:`TrainingRuns`, built from a table with one row per training
run. Runs are described by model size ``N`` (parameters), training tokens ``D``, training
compute ``C`` (FLOP) and final loss (nats per token). Give ``N`` with either ``D`` or ``C``;
the missing one follows from the usual approximation ``C = 6 N D``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AtlasError
from analysis.fit.laws import tokens_at_budget, training_flop

DEFAULT_FLOP_RTOL = 0.1
"""When both tokens and FLOP are given, each run's ``C`` may differ from ``6 N D`` by this fraction at most."""


@dataclass(frozen=True)
class TrainingRuns:
    """Validated training runs, all arrays of shape ``(n_runs,)``, all finite and positive.

    Attributes:
        N: model size in parameters.
        D: training tokens.
        C: training compute in FLOP.
        loss: final loss in nats per token.
        labels: a label per run used in messages (row numbers of the source table).
    """

    N: np.ndarray
    D: np.ndarray
    C: np.ndarray
    loss: np.ndarray
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("N", "D", "C", "loss"):
            values = np.asarray(getattr(self, name), dtype=float)
            values.setflags(write=False)
            object.__setattr__(self, name, values)

    def __len__(self) -> int:
        return int(self.N.shape[0])

    @classmethod
    def from_arrays(
        cls,
        N: Sequence[float] | np.ndarray,
        loss: Sequence[float] | np.ndarray,
        D: Sequence[float] | np.ndarray | None = None,
        C: Sequence[float] | np.ndarray | None = None,
    ) -> TrainingRuns:
        """Build runs from arrays (parameters, tokens and/or FLOP, loss)."""
        frame = pd.DataFrame({"N": np.asarray(N, dtype=float), "loss": np.asarray(loss, dtype=float)})
        if D is not None:
            frame["D"] = np.asarray(D, dtype=float)
        if C is not None:
            frame["C"] = np.asarray(C, dtype=float)
        return cls.from_frame(
            frame, d_col="D" if D is not None else None, c_col="C" if C is not None else None
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        n_col: str = "N",
        d_col: str | None = "D",
        c_col: str | None = None,
        loss_col: str = "loss",
        source: str | None = None,
        flop_rtol: float = DEFAULT_FLOP_RTOL,
    ) -> TrainingRuns:
        """Validate a table of runs and normalise it to ``N``, ``D``, ``C``, ``loss``.

        Args:
            frame: one row per run.
            n_col: column with the model size (parameters).
            d_col: column with training tokens, or ``None`` to derive ``D = C / (6 N)``.
            c_col: column with training FLOP, or ``None`` to derive ``C = 6 N D``.
            loss_col: column with the final loss (nats per token).
            source: file name used in error messages; rows are then counted as file lines
                (header = line 1), otherwise by the frame's index labels.
            flop_rtol: with both ``d_col`` and ``c_col``, the largest accepted relative difference
                ``|C / (6 N D) - 1|`` (default 10%: rounding and slightly different FLOP counting pass,
                a wrong column or unit does not). The parametric fit uses ``D`` and the IsoFLOP and
                envelope fits use ``C``, so the two must describe the same runs.

        Raises:
            AtlasError: a column is missing, a value is missing, non-finite or not positive, or
                ``C`` disagrees with ``6 N D`` (the message names the row and the columns).
        """
        if d_col is None and c_col is None:
            raise AtlasError(_where(source) + "give the tokens column (D) or the FLOP column (C)")
        wanted = [column for column in (n_col, d_col, c_col, loss_col) if column is not None]
        for column in wanted:
            if column not in frame.columns:
                available = ", ".join(repr(str(c)) for c in frame.columns)
                raise AtlasError(
                    _where(source) + f"missing column {column!r} (columns present: {available})"
                )
        values = {}
        for column in wanted:
            numeric = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(numeric) | (numeric <= 0)
            if bad.any():
                position = int(np.flatnonzero(bad)[0])
                raw = frame[column].iloc[position]
                raw = raw.item() if hasattr(raw, "item") else raw
                problem = "is not a finite number" if not np.isfinite(numeric[position]) else "is not positive"
                raise AtlasError(
                    f"{_row(source, frame.index[position], position)}: column {column!r}: "
                    f"value {raw!r} {problem}"
                )
            values[column] = numeric
        N = values[n_col]
        if d_col is not None and c_col is not None:
            _check_flop(frame, values[c_col], training_flop(N, values[d_col]), (n_col, d_col, c_col), source, flop_rtol)
        if d_col is not None:
            D = values[d_col]
            C = values[c_col] if c_col is not None else training_flop(N, D)
        else:
            C = values[str(c_col)]  # one of the two is given (checked above)
            D = tokens_at_budget(C, N)
        labels = tuple(_row(source, label, position) for position, label in enumerate(frame.index))
        return cls(N=N, D=D, C=C, loss=values[loss_col], labels=labels)

    def subset(self, mask_or_index: np.ndarray) -> TrainingRuns:
        """The runs selected by a boolean mask or an integer index array."""
        index = np.arange(len(self))[mask_or_index]
        return TrainingRuns(
            N=self.N[index],
            D=self.D[index],
            C=self.C[index],
            loss=self.loss[index],
            labels=tuple(self.labels[i] for i in index),
        )

    def exclude_top_loss(self, k: int) -> TrainingRuns:
        """Drop the ``k`` runs with the highest loss (ties broken by row order)."""
        if k < 0:
            raise AtlasError(f"exclude_top_loss must be >= 0, got {k}")
        if k == 0:
            return self
        if k >= len(self):
            raise AtlasError(f"cannot drop the {k} highest-loss runs: only {len(self)} runs")
        order = np.argsort(-self.loss, kind="stable")
        keep = np.ones(len(self), dtype=bool)
        keep[order[:k]] = False
        return self.subset(keep)

    def to_frame(self) -> pd.DataFrame:
        """The runs as a frame with columns ``N``, ``D``, ``C``, ``loss``."""
        return pd.DataFrame({"N": self.N, "D": self.D, "C": self.C, "loss": self.loss})


def read_runs_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet table of runs (Parquet needs pyarrow).

    Raises:
        AtlasError: the file is missing, unreadable or empty.
    """
    path = Path(path)
    if not path.is_file():
        raise AtlasError(f"{path}: no such file")
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            try:
                import pyarrow  # noqa: F401
            except ImportError as error:
                raise AtlasError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from error
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except AtlasError:
        raise
    except (ValueError, OSError, pd.errors.ParserError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AtlasError(f"{path}: cannot read table: {first_line}") from error
    if frame.empty:
        raise AtlasError(f"{path}: the table has no rows")
    return frame


def _check_flop(
    frame: pd.DataFrame, C: np.ndarray, six_nd: np.ndarray, columns: tuple[str, str, str],
    source: str | None, rtol: float,
) -> None:
    """Raise on the first run whose FLOP column differs from ``6 N D`` by more than ``rtol``."""
    with np.errstate(over="ignore"):
        bad = np.abs(C / six_nd - 1.0) > rtol
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        n_col, d_col, c_col = columns
        raise AtlasError(
            f"{_row(source, frame.index[position], position)}: columns {c_col!r} and {n_col!r}, {d_col!r}: "
            f"C = {C[position]:.4g} FLOP but 6 N D = {six_nd[position]:.4g} (more than {rtol:.0%} apart); "
            "the fits assume C = 6 N D: correct the row or give only the tokens or only the FLOP column"
        )


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def _row(source: str | None, label: Hashable, position: int) -> str:
    if source:
        return f"{source}:{position + 2}"
    return f"row {label}"
