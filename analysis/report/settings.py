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
from analysis.fit.isoflop import ISOFLOP_METHODS
from analysis.fit.runs import TrainingRuns, load_runs

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
        sep: field delimiter of a text table, or ``None`` to recognise it.
        exclude_top_loss: drop this many highest-loss runs before every fit.
        bootstrap: number of bootstrap resamples over runs for the intervals (0 = none).
        seed: seed of the bootstrap, so a re-render gives the same intervals.
        level: coverage of the reported percentile intervals.
        huber_delta: Huber threshold of the parametric fit, on residuals of the natural log of the loss.
        max_iter: Newton iterations per start of the parametric fit (a limit on time, not on which refits count).
        fix_alpha, fix_beta: hold an exponent of the parametric fit at a value (``None``: fit it).
        isoflop_method: ``parabola`` or ``interpolation`` (Porian et al. 2024; bootstraps with ``loss_noise``).
        loss_noise: seed-to-seed standard deviation of the final loss (nats/token): the IsoFLOP bootstrap adds
            noise of this size to every loss instead of resampling runs. Needed by ``interpolation``.
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
    sep: str | None = None
    huber_delta: float = 1e-3
    max_iter: int = 200
    fix_alpha: float | None = None
    fix_beta: float | None = None
    isoflop_method: str = "parabola"
    loss_noise: float | None = None

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
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise AtlasError(f"{where}: max_iter must be a positive integer, got {self.max_iter!r}")
        for name in ("exclude_top_loss", "bootstrap", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise AtlasError(f"{where}: {name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.level, float | int) or not 0 < self.level < 1:
            raise AtlasError(f"{where}: level must be between 0 and 1, got {self.level!r}")
        for name in ("runs", "n_col", "loss_col"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise AtlasError(f"{where}: {name} must be a non-empty string")
        for name in ("huber_delta", "fix_alpha", "fix_beta", "loss_noise"):
            value = getattr(self, name)
            if (value is not None or name == "huber_delta") and (
                    isinstance(value, bool) or not isinstance(value, float | int) or not 0 < value < float("inf")):
                raise AtlasError(f"{where}: {name} must be a positive number, got {value!r}")
        if self.isoflop_method not in ISOFLOP_METHODS:
            raise AtlasError(f"{where}: isoflop_method must be one of {', '.join(ISOFLOP_METHODS)}, got {self.isoflop_method!r}")
        if self.isoflop_method == "interpolation" and self.bootstrap and self.loss_noise is None:
            raise AtlasError(f"{where}: isoflop_method interpolation bootstraps by adding noise to each loss: give "
                             "loss_noise, the seed-to-seed standard deviation of the final loss (nats/token)")
        if self.sep is not None and (not isinstance(self.sep, str) or len(self.sep) != 1):
            raise AtlasError(f"{where}: sep must be one character, got {self.sep!r}")

    @property
    def fixed(self) -> dict[str, float]:
        """The exponents the parametric fit holds, by name."""
        return {name: value for name, value in (("alpha", self.fix_alpha), ("beta", self.fix_beta)) if value is not None}


def read_runs(settings: ReportSettings, table_path: str | Path) -> TrainingRuns:
    """Read and validate the runs table with ``atlas fit``'s reader and checks (same messages)."""
    runs, _ = load_runs(table_path, settings.n_col, settings.d_col, settings.c_col, settings.loss_col, settings.sep)
    return runs
