"""The settings a generated report keeps beside its sources (``report.yml``).

The file is small and meant to be edited: which CSV holds the runs, which columns hold model
size N (parameters), training tokens D or training compute C (FLOP) and the final loss
(nats/token), and the fitting options. The chapters read it at render time, so changing a
column name or the number of bootstrap resamples and re-rendering is all a user needs to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from analysis.errors import AtlasError
from analysis.fit.runs import TrainingRuns, read_runs_table

SETTINGS_FILE = "report.yml"


@dataclass(frozen=True)
class ReportSettings:
    """Where a report's runs are and how to fit them.

    Attributes:
        runs: path of the runs table (CSV, or Parquet when pyarrow is present), relative to the
            report folder.
        n_col: column with model size N (parameters).
        d_col: column with training tokens D; give this or ``c_col``.
        c_col: column with training compute C (FLOP); D is then C / (6 N).
        loss_col: column with the final loss (nats/token).
        exclude_top_loss: drop this many highest-loss runs before the parametric fit.
        bootstrap: number of bootstrap resamples over runs for the intervals (0 = none).
        seed: seed of the bootstrap, so a re-render gives the same intervals.
        level: coverage of the reported percentile intervals.
    """

    runs: str
    n_col: str = "N"
    d_col: str | None = None
    c_col: str | None = None
    loss_col: str = "loss"
    exclude_top_loss: int = 0
    bootstrap: int = 1000
    seed: int = 0
    level: float = 0.95

    @classmethod
    def read(cls, path: str | Path) -> ReportSettings:
        """Read ``report.yml``; a missing file, unknown key or wrong type is an :class:`AtlasError`."""
        path = Path(path)
        try:
            mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise AtlasError(f"{path}: cannot read the report settings ({error.strerror})") from error
        except yaml.YAMLError as error:
            raise AtlasError(f"{path}: not valid YAML ({error})") from error
        if not isinstance(mapping, dict):
            raise AtlasError(f"{path}: expected a mapping of settings")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise AtlasError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        if "runs" not in mapping:
            raise AtlasError(f"{path}: the setting 'runs' (the runs table) is missing")
        settings = cls(**mapping)
        settings.check(path)
        return settings

    def check(self, where: str | Path) -> None:
        """Raise :class:`AtlasError` naming ``where`` when an option is out of range."""
        for name in ("exclude_top_loss", "bootstrap", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise AtlasError(f"{where}: {name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.level, float | int) or not 0 < self.level < 1:
            raise AtlasError(f"{where}: level must be between 0 and 1, got {self.level!r}")
        for name in ("runs", "n_col", "loss_col"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise AtlasError(f"{where}: {name} must be a non-empty string")


def read_runs(settings: ReportSettings, table_path: str | Path) -> TrainingRuns:
    """Read and validate the runs table with ``atlas fit``'s reader and checks (same messages)."""
    frame = read_runs_table(table_path)
    return TrainingRuns.from_frame(
        frame,
        n_col=settings.n_col,
        d_col=settings.d_col,
        c_col=settings.c_col,
        loss_col=settings.loss_col,
        source=str(table_path),
    )
