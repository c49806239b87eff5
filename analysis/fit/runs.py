"""Input normalisation for the estimators: :class:`TrainingRuns`, and reading tables of runs.

Every estimator takes a :class:`TrainingRuns`, built from a table with one row per training
run. Runs are described by model size ``N`` (parameters), training tokens ``D``, training
compute ``C`` (FLOP) and final loss (nats per token). Give ``N`` with either ``D`` or ``C``;
the missing one follows from the usual approximation ``C = 6 N D``. With both, the parametric
fit uses ``D`` and the IsoFLOP and envelope fits use ``C`` (so the two must agree, see
:data:`DEFAULT_FLOP_RTOL`).

:func:`read_runs_table` reads CSV (any of the usual delimiters, ``#`` comment lines, blank rows)
or Parquet; :func:`find_columns` recognises the usual column names.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AtlasError
from analysis.fit.laws import tokens_at_budget, training_flop

DEFAULT_FLOP_RTOL = 0.1
"""When both tokens and FLOP are given, each run's ``C`` may differ from ``6 N D`` by this fraction at most."""

SMALLEST_MODEL = 1_000
"""Fewest parameters a run may have. Language models in scaling studies start at thousands of parameters
(Kaplan et al. 2020 count 768 non-embedding ones, with embeddings far more); a smaller value is a count in
millions or billions (``N = 1.3`` for 1.3B)."""

SMALLEST_TRAINING = 10_000
"""Fewest training tokens a run may have: a few batches. A smaller value is a count in millions, billions or
trillions (``D = 300`` for 300B)."""

LINE_INDEX = "line"
"""Name of the index :func:`read_runs_table` gives a text table: each row's line in the file (header = line 1),
which error messages quote."""

DELIMITERS = (",", "\t", ";", "|")
"""Delimiters :func:`read_runs_table` recognises in a text table, in order of preference."""

COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "N": ("n", "params", "parameters", "n_params", "num_params", "nparams", "n_parameters", "num_parameters",
          "model_size", "model_params", "param_count", "parameter_count", "size"),
    "D": ("d", "tokens", "n_tokens", "num_tokens", "ntokens", "training_tokens", "train_tokens", "tokens_seen",
          "dataset_size", "data"),
    "C": ("c", "flops", "flop", "compute", "training_flops", "training_flop", "train_flops", "total_flops"),
    "loss": ("loss", "final_loss", "val_loss", "valid_loss", "validation_loss", "eval_loss", "test_loss",
             "train_loss", "training_loss"),
}
"""Column names :func:`find_columns` recognises for each quantity, compared without regard to case, spaces,
hyphens or dots (``"Model Size"`` is ``model_size``)."""

QUANTITIES = {
    "N": ("model size N (parameters)", "--n-col"),
    "D": ("training tokens D", "--d-col"),
    "C": ("training compute C (FLOP)", "--c-col"),
    "loss": ("final loss (nats/token)", "--loss-col"),
}


@dataclass(frozen=True)
class RunColumns:
    """Which columns of a table hold ``N``, ``D`` (or ``None``), ``C`` (or ``None``) and the loss."""

    n: str
    d: str | None
    c: str | None
    loss: str


def _normal(name: object) -> str:
    return re.sub(r"[\s\-.]+", "_", str(name).strip().lower())


def find_columns(
    columns: Iterable[Hashable],
    n_col: str | None = None,
    d_col: str | None = None,
    c_col: str | None = None,
    loss_col: str | None = None,
    source: str | None = None,
) -> RunColumns:
    """The columns holding each quantity: the given names, else the usual ones (:data:`COLUMN_NAMES`).

    A given name must match a column exactly or, failing that, without regard to case. Tokens and FLOP
    are looked for only when neither is given; a table may have both (then ``C`` must agree with ``6 N D``).

    Raises:
        AtlasError: one message naming every quantity not found (or found in several columns) and the
            columns the table has.
    """
    present = [str(column) for column in columns]
    by_normal: dict[str, list[str]] = {}
    for column in present:
        by_normal.setdefault(_normal(column), []).append(column)
    problems: list[str] = []

    def given(quantity: str, name: str) -> str | None:
        if name in present:
            return name
        matches = by_normal.get(_normal(name), [])
        if len(matches) == 1:
            return matches[0]
        option = QUANTITIES[quantity][1]
        problems.append(f"no column {name!r} ({option})" if not matches
                        else f"several columns match {name!r} ({', '.join(map(repr, matches))}): give the exact name")
        return None

    def usual(quantity: str, required: bool) -> str | None:
        found = [column for alias in COLUMN_NAMES[quantity] for column in by_normal.get(alias, [])]
        if len(found) == 1:
            return found[0]
        meaning, option = QUANTITIES[quantity]
        if len(found) > 1:
            problems.append(f"several columns could hold the {meaning}: {', '.join(map(repr, found))} (pass {option})")
        elif required:
            problems.append(f"no column for the {meaning} (pass {option})")
        return None

    n = given("N", n_col) if n_col is not None else usual("N", True)
    loss = given("loss", loss_col) if loss_col is not None else usual("loss", True)
    if d_col is None and c_col is None:
        d, c = usual("D", False), usual("C", False)
        if d is None and c is None and not any("tokens" in p or "compute" in p for p in problems):
            problems.append("no column for the training tokens D or the training compute C (pass --d-col or --c-col)")
    else:
        d = given("D", d_col) if d_col is not None else None
        c = given("C", c_col) if c_col is not None else None
    if problems:
        shown = ", ".join(repr(column) for column in present)
        raise AtlasError(_where(source) + "; ".join(problems) + f" (columns present: {shown})")
    assert n is not None and loss is not None  # a missing one is a problem above
    return RunColumns(n=n, d=d, c=c, loss=loss)


@dataclass(frozen=True)
class TrainingRuns:
    """Validated training runs, all arrays of shape ``(n_runs,)``, all finite and positive.

    Attributes:
        N: model size in parameters.
        D: training tokens.
        C: training compute in FLOP.
        loss: final loss in nats per token.
        rows: where each run came from: its line in the file (with ``source``) or its label in the frame.
        source: the file the runs were read from, or ``None``.
    """

    N: np.ndarray
    D: np.ndarray
    C: np.ndarray
    loss: np.ndarray
    rows: np.ndarray | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        for name in ("N", "D", "C", "loss"):
            values = np.asarray(getattr(self, name), dtype=float)
            values.setflags(write=False)
            object.__setattr__(self, name, values)
        if self.rows is None:
            object.__setattr__(self, "rows", np.arange(len(self)))

    def __len__(self) -> int:
        return int(self.N.shape[0])

    def label(self, index: int) -> str:
        """Where run ``index`` came from, as messages quote it: ``file:line`` or ``row <label>``."""
        assert self.rows is not None
        row = self.rows[index]
        row = row.item() if hasattr(row, "item") else row
        return f"{self.source}:{row}" if self.source else f"row {row}"

    @property
    def labels(self) -> tuple[str, ...]:
        """:meth:`label` of every run (made on demand: a million runs need no million strings otherwise)."""
        return tuple(self.label(i) for i in range(len(self)))

    @property
    def n_distinct(self) -> int:
        """Number of distinct runs: different ``(N, D)`` pairs (copies of a run add no information)."""
        return int(np.unique(np.stack([self.N, self.D], axis=1), axis=0).shape[0])

    def has_distinct(self, k: int) -> bool:
        """Whether at least ``k`` runs differ in ``(N, D)`` (looks at the first runs first: fast on many runs)."""
        pairs = np.stack([self.N, self.D], axis=1)
        head = np.unique(pairs[: 64 * k], axis=0).shape[0]
        return head >= k or (len(self) > 64 * k and self.n_distinct >= k)

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
            frame: one row per run. A frame from :func:`read_runs_table` is indexed by file line, which
                messages quote; otherwise rows are numbered as a spreadsheet shows them (header = row 1)
                when ``source`` is given, and by the frame's index labels when not.
            n_col: column with the model size (parameters, raw counts).
            d_col: column with training tokens (raw counts), or ``None`` to derive ``D = C / (6 N)``.
            c_col: column with training FLOP, or ``None`` to derive ``C = 6 N D``.
            loss_col: column with the final loss (nats per token).
            source: file name used in error messages.
            flop_rtol: with both ``d_col`` and ``c_col``, the largest accepted relative difference
                ``|C / (6 N D) - 1|`` (default 10%: rounding and slightly different FLOP counting pass,
                a wrong column or unit does not). The parametric fit uses ``D`` and the IsoFLOP and
                envelope fits use ``C``, so the two must describe the same runs.

        Raises:
            AtlasError: a column is missing; a value is missing, non-finite or not positive; a size or token
                count is too small to be a raw count (:data:`SMALLEST_MODEL`, :data:`SMALLEST_TRAINING`);
                ``C = 6 N D`` (or ``D = C / 6N``) overflows or underflows; or ``C`` disagrees with
                ``6 N D``. The message names the row and the column.
        """
        if d_col is None and c_col is None:
            raise AtlasError(_where(source) + "give the tokens column (D) or the FLOP column (C)")
        wanted = [column for column in (n_col, d_col, c_col, loss_col) if column is not None]
        _check_columns_present(frame, wanted, source)
        rows = _row_numbers(frame, source)
        fail = _failure_at(rows, source)
        values = {column: _positive_numbers(frame[column], column, fail) for column in wanted}
        N = values[n_col]
        _check_raw_count(N, SMALLEST_MODEL, "parameters", n_col, fail)
        D, C = _tokens_and_flop(N, values, (n_col, d_col, c_col), fail, flop_rtol)
        return cls(N=N, D=D, C=C, loss=values[loss_col], rows=rows, source=source)

    def subset(self, mask_or_index: np.ndarray) -> TrainingRuns:
        """The runs selected by a boolean mask or an integer index array."""
        index = np.arange(len(self))[mask_or_index]
        assert self.rows is not None
        return TrainingRuns(N=self.N[index], D=self.D[index], C=self.C[index], loss=self.loss[index],
                            rows=self.rows[index], source=self.source)

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


def _check_columns_present(frame: pd.DataFrame, wanted: Sequence[str], source: str | None) -> None:
    """Raise, naming every missing column and those present, unless ``frame`` has all the ``wanted`` columns."""
    missing = [column for column in wanted if column not in frame.columns]
    if missing:
        available = ", ".join(repr(str(c)) for c in frame.columns)
        names = ", ".join(repr(column) for column in missing)
        raise AtlasError(
            _where(source) + f"missing column{'s' if len(missing) > 1 else ''} {names} (columns present: {available})"
        )


def _row_numbers(frame: pd.DataFrame, source: str | None) -> np.ndarray:
    """How messages number the rows of ``frame`` ``(n,)``: the file lines of a frame from :func:`read_runs_table`,
    else as a spreadsheet shows them (header = row 1) when there is a ``source``, else the index labels."""
    if source and frame.index.name == LINE_INDEX:
        return frame.index.to_numpy()
    if source:
        return np.arange(len(frame)) + 2
    return frame.index.to_numpy()


def _failure_at(rows: np.ndarray, source: str | None) -> Callable[[int, str], AtlasError]:
    """``fail(position, message)``: the error for the row at ``position``, prefixed ``source:row`` (or ``row N``)."""

    def fail(position: int, message: str) -> AtlasError:
        place = f"{source}:{rows[position]}" if source else f"row {rows[position]}"
        return AtlasError(f"{place}: {message}")

    return fail


def _positive_numbers(raw_column: pd.Series, column: str, fail: Callable[[int, str], AtlasError]) -> np.ndarray:
    """The column as floats ``(n,)``; raises on the first cell that is empty, not a finite number or not positive."""
    numeric = pd.to_numeric(raw_column, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numeric) | (numeric <= 0)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raw = raw_column.iloc[position]
        raw = raw.item() if hasattr(raw, "item") else raw
        if raw is None or (isinstance(raw, float) and np.isnan(raw)) or (isinstance(raw, str) and not raw.strip()):
            problem = "is empty"
        elif not np.isfinite(numeric[position]):
            problem = f"value {raw!r} is not a finite number"
        else:
            problem = f"value {raw!r} is not positive"
        raise fail(position, f"column {column!r}: {problem}")
    return numeric


def _tokens_and_flop(
    N: np.ndarray, values: dict[str, np.ndarray], columns: tuple[str, str | None, str | None],
    fail: Callable[[int, str], AtlasError], flop_rtol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``(D, C)`` (tokens, FLOP; each ``(n,)``) from the columns ``(n_col, d_col, c_col)`` given, the missing one
    derived by ``C = 6 N D``; checks the tokens are raw counts and, with both given, that they agree within
    ``flop_rtol``."""
    n_col, d_col, c_col = columns
    if d_col is not None:
        D = values[d_col]
        _check_raw_count(D, SMALLEST_TRAINING, "tokens", d_col, fail)
        six_nd = _derived(training_flop, N, D, (n_col, d_col), fail)
        if c_col is not None:
            _check_flop(values[c_col], six_nd, (n_col, d_col, c_col), fail, flop_rtol)
            return D, values[c_col]
        return D, six_nd
    C = values[str(c_col)]  # one of the two is given (checked by the caller)
    D = _derived(tokens_at_budget, C, N, (str(c_col), n_col), fail)
    _check_raw_count(D, SMALLEST_TRAINING, "tokens", f"{c_col}', '{n_col}", fail,
                     what="D = C / (6 N) = {value:.4g} tokens", hint="check the units of these columns")
    return D, C


def _check_raw_count(
    values: np.ndarray, smallest: float, unit: str, column: str, fail: Callable[[int, str], AtlasError],
    what: str = "{value:.4g} {unit}", hint: str = "the column looks like millions or billions; give raw counts "
    "(1.3e9 for 1.3B)",
) -> None:
    small = values < smallest
    if small.any():
        position = int(np.flatnonzero(small)[0])
        label = f"columns '{column}'" if "', '" in column else f"column {column!r}"
        described = what.format(value=values[position], unit=unit)
        raise fail(position, f"{label}: {described} is fewer than {smallest:,}: {hint}")


def _derived(
    operation: Callable[[np.ndarray, np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray, columns: tuple[str, str],
    fail: Callable[[int, str], AtlasError],
) -> np.ndarray:
    """``operation(x, y)`` (``6 N D`` or ``C / 6N``), checked to be finite and positive in every row."""
    with np.errstate(over="ignore", under="ignore"):
        result = np.asarray(operation(x, y), dtype=float)
    bad = ~np.isfinite(result) | (result <= 0)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        what = "overflows" if not np.isfinite(result[position]) else "underflows to 0"
        formula = "6 N D" if operation is training_flop else "C / (6 N)"
        raise fail(position, f"columns {columns[0]!r}, {columns[1]!r}: {formula} {what} in floating point: "
                             "check the units of these columns")
    return result


def _check_flop(
    C: np.ndarray, six_nd: np.ndarray, columns: tuple[str, str, str], fail: Callable[[int, str], AtlasError], rtol: float,
) -> None:
    """Raise on the first run whose FLOP column differs from ``6 N D`` by more than ``rtol``."""
    bad = np.abs(C / six_nd - 1.0) > rtol
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        n_col, d_col, c_col = columns
        raise fail(
            position,
            f"columns {c_col!r} and {n_col!r}, {d_col!r}: "
            f"C = {C[position]:.4g} FLOP but 6 N D = {six_nd[position]:.4g} (more than {rtol:.0%} apart); "
            "the fits assume C = 6 N D: correct the row or give only the tokens or only the FLOP column",
        )


def load_runs(
    path: str | Path,
    n_col: str | None = None,
    d_col: str | None = None,
    c_col: str | None = None,
    loss_col: str | None = None,
    sep: str | None = None,
) -> tuple[TrainingRuns, RunColumns]:
    """Read a table of runs (:func:`read_runs_table`), find its columns (:func:`find_columns`) and validate it
    (:meth:`TrainingRuns.from_frame`): what ``atlas fit`` and ``atlas report`` do with their input.

    Raises:
        AtlasError: the first problem, naming the file (and the line and column where there is one).
    """
    frame = read_runs_table(path, sep)
    columns = find_columns(frame.columns, n_col, d_col, c_col, loss_col, source=str(path))
    runs = TrainingRuns.from_frame(frame, n_col=columns.n, d_col=columns.d, c_col=columns.c, loss_col=columns.loss,
                                   source=str(path))
    return runs, columns


def read_runs_table(path: str | Path, sep: str | None = None) -> pd.DataFrame:
    """Read a table of runs: CSV or other delimited text, or Parquet (needs pyarrow).

    Text: the delimiter is ``sep``, or the one of :data:`DELIMITERS` that splits the header and the first
    rows into the same number of fields; lines starting with ``#`` are comments; rows with every cell blank
    (an empty line, or a spreadsheet's ``,,,``) are skipped. The frame is indexed by each row's line in the
    file (:data:`LINE_INDEX`, header = line 1), so messages name the line an editor shows. Parquet rows
    are numbered from 1.

    Raises:
        AtlasError: the file is missing, unreadable or has no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise AtlasError(f"{path}: no such file")
    if sep is not None and len(sep) != 1:
        raise AtlasError(f"the delimiter must be one character, got {sep!r}")
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            try:
                import pyarrow  # noqa: F401
            except ImportError as error:
                raise AtlasError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from error
            frame = pd.read_parquet(path)
            frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
        else:
            frame = _read_text_table(path, sep)
    except AtlasError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AtlasError(f"{path}: cannot read table: {first_line}") from error
    if frame.empty:
        raise AtlasError(f"{path}: the table has no rows")
    return frame


def _read_text_table(path: Path, sep: str | None) -> pd.DataFrame:
    skipped: list[int] = []  # 0-based indices of comment lines, and of blank lines before the header
    sample: list[str] = []  # the header and the first rows
    total = 0
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        for total, line in enumerate(handle, start=1):  # noqa: B007 (total is read after the loop)
            stripped = line.strip()
            if stripped.startswith("#") or (not stripped and not sample):
                skipped.append(total - 1)
            elif stripped and len(sample) < 20:
                sample.append(line)
    if not sample:
        raise AtlasError(f"{path}: the table has no header and no rows")
    frame = pd.read_csv(path, sep=sep or _sniff_delimiter(sample), skiprows=skipped or None, skip_blank_lines=False,
                        encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    lines = np.setdiff1d(np.arange(1, total + 1), np.asarray(skipped, dtype=int) + 1)  # lines pandas read
    if len(lines) == len(frame) + 1:
        frame.index = pd.Index(lines[1:], name=LINE_INDEX)
    else:  # a quoted cell spans several lines: number the rows from the header on
        frame.index = pd.Index(np.arange(len(frame)) + int(lines[0]) + 1, name=LINE_INDEX)
    return frame[~frame.isna().all(axis=1).to_numpy()]


def _sniff_delimiter(sample: list[str]) -> str:
    """The delimiter of :data:`DELIMITERS` splitting the header and the first rows into the most fields, the same
    number in each; a comma when none does."""
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        counts = {len(row) for row in csv.reader(io.StringIO("".join(sample)), delimiter=delimiter) if any(row)}
        if len(counts) == 1:
            fields = counts.pop()
            if fields > best_fields:
                best, best_fields = delimiter, fields
    return best


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""
