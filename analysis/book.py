"""Chapter-level helpers for the book: the analyses behind chapters 1-3 and the numbers in their prose.

Chapters stay thin: each calls one ``*_analysis()`` function here (cached, so every inline
``{python} expr`` of a chapter reads the same fit) and formats numbers with
:mod:`analysis.charts.formatting`. Nothing in a chapter's prose is typed by hand.

Besides composing the estimators of :mod:`analysis.fit`, this module holds one small estimator of
its own, :class:`EfficiencyTrend` (GLUE on log-compute *and* release date, with a row bootstrap),
because the question "how much did the GLUE reached at fixed compute move per year" needs two
covariates and :class:`analysis.fit.LogLinearTrend` has one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.charts.formatting import format_power, format_si, format_value
from analysis.data import load_table
from analysis.fit import LogLinearTrend, pareto_frontier
from analysis.fit.bootstrap import chunked_counts

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIBLIOGRAPHY = PROJECT_ROOT / "references.bib"

LEVEL = 0.95
"""Coverage of every interval the book reports."""
N_BOOTSTRAP = 2000
SEED = 0
BYTES_PER_FP32_WEIGHT = 4
MEGABYTE = 1e6  # bytes; the compression figure's "MB"


def format_count(value: float, digits: int = 3) -> str:
    """A parameter count as ``2.4B`` within 1k-1000T, in scientific notation outside (``2e-25``)."""
    return format_si(value, digits) if 1e3 <= abs(value) < 1e15 else format_power(value, digits)


# ----------------------------------------------------------------------------- citations


@functools.cache
def _bibliography() -> dict[str, dict[str, str]]:
    """``key -> {"author": ..., "year": ..., "title": ...}`` parsed from ``references.bib``."""
    text = BIBLIOGRAPHY.read_text(encoding="utf-8")
    entries: dict[str, dict[str, str]] = {}
    for match in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", text, re.S):
        fields = {
            name.lower(): value.strip()
            for name, value in re.findall(r"(\w+)\s*=\s*\{((?:[^{}]|\{[^{}]*\})*)\}", match.group(2))
        }
        entries[match.group(1)] = fields
    return entries


def author_year(key: str) -> str:
    """``"wu2022xtc" -> "Wu et al. 2022"`` (from ``references.bib``; the key itself if unknown)."""
    entry = _bibliography().get(key)
    if not entry:
        return key
    authors = [a.strip() for a in entry.get("author", "").split(" and ") if a.strip()]
    if not authors:
        return f"{key} {entry.get('year', '')}".strip()
    first = authors[0].strip("{}").split(",")[0].strip()
    more = " et al." if len(authors) > 2 or authors[-1] == "others" else f" and {authors[1].split(',')[0].strip()}" if len(authors) == 2 else ""
    return f"{first}{more} {entry.get('year', '')}".strip()


def source_text(key: str, detail: str) -> str:
    """Tooltip text for a row's provenance: ``"Wu et al. 2022, Figure 1: ..."``."""
    return f"{author_year(key)}, {detail}" if detail else author_year(key)


def value_kind_text(kind: str) -> str:
    """``"approximate"`` -> ``"approximate (read off a figure)"``, for tooltips."""
    return {"approximate": "approximate (read off a figure)", "exact": "exact (from a table or text)"}.get(kind, kind)


def _provenance_columns(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(
        source=[source_text(k, d) for k, d in zip(frame["source"], frame["source_detail"].fillna(""), strict=True)],
        value_kind=[value_kind_text(k) for k in frame["value_kind"]],
        source_key=frame["source"],
        raw_value_kind=frame["value_kind"],
    )


def _month_start(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype(str).str.slice(0, 7), format="%Y-%m")


def decimal_year(dates: pd.Series) -> np.ndarray:
    """Release month as a decimal year, at the middle of the month (2020-03 -> 2020.208)."""
    dates = pd.to_datetime(dates)
    return (dates.dt.year + (dates.dt.month - 0.5) / 12).to_numpy(dtype=float)


# ----------------------------------------------------------------------------- the efficiency estimator


@dataclass(frozen=True)
class EfficiencyResult:
    """GLUE = intercept + compute_slope * log10(GFLOPs) + year_slope * (year - reference_year).

    ``params`` and ``ci`` (percentile bootstrap, :data:`LEVEL`) have ``intercept``,
    ``compute_slope`` (GLUE points per decade of compute), ``year_slope`` (GLUE points per year
    at fixed compute) and the derived ``compute_factor_per_year`` (how many times less compute
    reaches the same GLUE one year later: ``10 ** (year_slope / compute_slope)``).
    """

    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    reference_year: float
    n_points: int
    n_bootstrap: int
    n_degenerate: int
    draws: np.ndarray
    """Bootstrap coefficients, shape ``(n_bootstrap - n_degenerate, 3)``: intercept, compute and year slope."""
    level: float = LEVEL

    def predict(self, gflops: np.ndarray, year: np.ndarray) -> np.ndarray:
        """Fitted GLUE at ``gflops`` (GFLOPs per example) and decimal ``year`` (broadcast shapes)."""
        p = self.params
        return p["intercept"] + p["compute_slope"] * np.log10(gflops) + p["year_slope"] * (np.asarray(year) - self.reference_year)

    def interval(self, gflops: np.ndarray, year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Percentile bootstrap band (:attr:`level`) of the fitted GLUE; 1-D inputs of shape ``(m,)``."""
        log_c = np.log10(np.atleast_1d(np.asarray(gflops, dtype=float)))[None, :]
        shift = (np.atleast_1d(np.asarray(year, dtype=float)) - self.reference_year)[None, :]
        d = self.draws
        values = d[:, 0:1] + d[:, 1:2] * log_c + d[:, 2:3] * shift
        tail = (1 - self.level) / 2 * 100
        low, high = np.percentile(values, [tail, 100 - tail], axis=0)
        return low, high


class EfficiencyTrend:
    """Least squares of a score on log10(compute) and release year, with a row bootstrap.

    Resamples whose design is rank-deficient (e.g. all rows from one month) are skipped and
    counted in ``n_degenerate``; the derived compute factor is only taken from resamples with a
    positive compute slope, where "less compute for the same score" is defined.
    """

    def __init__(self, n_bootstrap: int = N_BOOTSTRAP, seed: int = SEED, level: float = LEVEL) -> None:
        self.n_bootstrap = n_bootstrap
        self.seed = seed
        self.level = level

    def fit(self, gflops: np.ndarray, year: np.ndarray, score: np.ndarray) -> EfficiencyResult:
        """Fit on arrays of shape ``(n,)``: GFLOPs per example, decimal year, score (points)."""
        gflops, year, score = (np.asarray(a, dtype=float) for a in (gflops, year, score))
        reference_year = float(np.round(year.mean(), 1))
        design = np.column_stack([np.ones_like(gflops), np.log10(gflops), year - reference_year])
        coef = _weighted_lstsq(design, score, np.ones_like(score))
        samples, degenerate = [], 0
        for chunk in chunked_counts(self.seed, len(score), self.n_bootstrap):
            for weights in chunk:
                if np.linalg.matrix_rank(design[weights > 0]) < design.shape[1]:
                    degenerate += 1
                    continue
                samples.append(_weighted_lstsq(design, score, weights))
        draws = np.array(samples)
        tail = (1 - self.level) / 2 * 100
        names = ("intercept", "compute_slope", "year_slope")
        params = dict(zip(names, map(float, coef), strict=True))
        params["compute_factor_per_year"] = float(10 ** (coef[2] / coef[1]))
        ci = {name: tuple(map(float, np.percentile(draws[:, i], [tail, 100 - tail]))) for i, name in enumerate(names)}
        positive = draws[:, 1] > 0
        factors = 10 ** (draws[positive, 2] / draws[positive, 1])
        ci["compute_factor_per_year"] = tuple(map(float, np.percentile(factors, [tail, 100 - tail])))
        return EfficiencyResult(params, ci, reference_year, len(score), self.n_bootstrap, degenerate, draws, self.level)


def _weighted_lstsq(design: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    root = np.sqrt(weights)[:, None]
    coef, *_ = np.linalg.lstsq(design * root, y * root[:, 0], rcond=None)
    return coef


# ----------------------------------------------------------------------------- chapter 1


@dataclass(frozen=True)
class PretrainingAnalysis:
    """Everything chapter 1 shows: per-model points, the log-linear trend and the time trend."""

    points: pd.DataFrame
    trend: object
    curve: pd.DataFrame
    efficiency: EfficiencyResult
    adjusted: pd.DataFrame
    time_curve: pd.DataFrame
    reference_gflops: float


@functools.cache
def pretraining_analysis() -> PretrainingAnalysis:
    """Chapter 1: GLUE vs inference GFLOPs per example, joined with release dates from ``models``."""
    table = load_table("glue_pretraining")
    models = load_table("models")[["model_id", "family", "release_date"]]
    frame = table.merge(models, on="model_id", how="left", validate="one_to_one")
    points = _provenance_columns(frame).assign(
        name=frame["label"],
        gflops=frame["inference_gflops"].astype(float),
        glue=frame["glue_score"].astype(float),
        release_date=_month_start(frame["release_date"]),
    )
    trend = LogLinearTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(points["gflops"].to_numpy(), points["glue"].to_numpy())
    points["residual"] = trend.residuals(points["gflops"].to_numpy(), points["glue"].to_numpy())
    points["on_frontier"] = pareto_frontier(points["gflops"].to_numpy(), points["glue"].to_numpy())
    grid = np.geomspace(points["gflops"].min() / 1.4, points["gflops"].max() * 1.4, 60)
    low, high = trend.interval(grid, level=LEVEL)
    curve = pd.DataFrame({"gflops": grid, "fit": trend.predict(grid), "lower": low, "upper": high})

    years = decimal_year(points["release_date"])
    efficiency = EfficiencyTrend().fit(points["gflops"].to_numpy(), years, points["glue"].to_numpy())
    reference = float(10 ** np.median(np.log10(points["gflops"])))
    slope = efficiency.params["compute_slope"]
    adjusted = points.assign(glue_adjusted=points["glue"] - slope * (np.log10(points["gflops"]) - np.log10(reference)))
    time_grid = pd.date_range(points["release_date"].min(), points["release_date"].max(), periods=40)
    time_curve = _time_band(efficiency, reference, time_grid)
    return PretrainingAnalysis(points, trend, curve, efficiency, adjusted, time_curve, reference)


def _time_band(result: EfficiencyResult, reference_gflops: float, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Fitted GLUE at ``reference_gflops`` over ``dates`` with the bootstrap band of the time trend."""
    years = decimal_year(pd.Series(dates))
    gflops = np.full(len(years), reference_gflops)
    low, high = result.interval(gflops, years)
    return pd.DataFrame({"release_date": dates, "fit": result.predict(gflops, years), "lower": low, "upper": high})


# ----------------------------------------------------------------------------- chapter 2


@dataclass(frozen=True)
class CompressionAnalysis:
    """Everything chapter 2 shows: compressed models with derived ratios, and the reference size."""

    points: pd.DataFrame
    baseline_parameters: int
    baseline_size_mb: float
    baseline_source: str


@functools.cache
def compression_analysis() -> CompressionAnalysis:
    """Chapter 2: average GLUE over 8 tasks vs size, with ratios against BERT-Base in 32-bit floats.

    The figure does not show an uncompressed model, so the reference size is BERT-Base's
    published parameter count (``models`` table) times 4 bytes per 32-bit weight.
    """
    table = load_table("bert_compression")
    bert = load_table("models").set_index("model_id").loc["bert-base"]
    baseline_parameters = int(bert["parameters"])
    baseline_size = baseline_parameters * BYTES_PER_FP32_WEIGHT / MEGABYTE
    points = _provenance_columns(table).assign(
        label=table["label"].fillna(""),
        technique=table["technique"].str.replace("_", " "),
        size_mb=table["size_mb"].astype(float),
        glue=table["glue_avg"].astype(float),
    )
    points["on_frontier"] = pareto_frontier(points["size_mb"].to_numpy(), points["glue"].to_numpy())
    points["compression_ratio"] = baseline_size / points["size_mb"]
    points["glue_per_mb"] = points["glue"] / points["size_mb"]
    return CompressionAnalysis(points, baseline_parameters, baseline_size, source_text(bert["source"], bert["source_detail"]))


# ----------------------------------------------------------------------------- chapter 3


@dataclass(frozen=True)
class BenchmarkAnalysis:
    """Everything chapter 3 shows: per-model points with effective sizes, and the trend.

    ``effective_identified`` says whether the trend determines effective sizes at all: only when
    the slope's bootstrap interval lies entirely above zero (see :func:`effective_size_identified`).
    When it does not, the ``effective_*`` columns of ``points`` are NaN and ``effective_text``
    says "not determined".
    """

    points: pd.DataFrame
    trend: object
    curve: pd.DataFrame
    effective_identified: bool


NOT_DETERMINED = "not determined"
"""What the book prints for an effective size the data do not determine."""


def effective_size_identified(trend: object) -> bool:
    """Whether inverting the trend gives a bounded effective size: the slope's interval lies above zero.

    The effective size is ``10 ** ((y - intercept) / slope)``, a ratio with the slope in the
    denominator. When the slope's interval reaches zero, resamples whose trend is flat or falling
    are as plausible as the estimate, and for them no size (or every size) reaches the score: the
    confidence set of the ratio is unbounded (Fieller's problem). A trend that falls with size
    cannot be read as "performs like a larger model" either, so a negative slope does not count.
    """
    low, _high = trend.ci["slope"]
    return bool(low > 0)


def effective_sizes(trend: object, scores: np.ndarray) -> pd.DataFrame:
    """Effective size of each score, shape ``(n,)`` in, one row per score out.

    Columns ``effective_parameters``, ``effective_lower``, ``effective_upper`` (parameters; the
    trend's inverse and its bootstrap interval at :data:`LEVEL`) and ``effective_text``. All NaN,
    and the text :data:`NOT_DETERMINED`, when :func:`effective_size_identified` is false.
    """
    scores = np.asarray(scores, dtype=float)
    if not effective_size_identified(trend):
        empty = np.full(scores.shape, np.nan)
        return pd.DataFrame({"effective_parameters": empty, "effective_lower": empty, "effective_upper": empty,
                             "effective_text": [NOT_DETERMINED] * scores.size})
    effective = trend.inverse(scores)
    low, high = trend.inverse_interval(scores, level=LEVEL)
    return pd.DataFrame({
        "effective_parameters": effective, "effective_lower": low, "effective_upper": high,
        "effective_text": [f"{format_count(v)} ({format_count(lo)} to {format_count(hi)})" for v, lo, hi in zip(effective, low, high, strict=True)],
    })


@functools.cache
def benchmark_analysis() -> BenchmarkAnalysis:
    """Chapter 3: average benchmark score vs non-embedding parameters (log-linear trend)."""
    table = load_table("llm_benchmarks")
    models = load_table("models")[["model_id", "organisation", "family"]]
    frame = table.merge(models, on="model_id", how="left", validate="one_to_one")
    parameters = frame["non_embedding_params_b"].astype(float) * 1e9
    points = _provenance_columns(frame).assign(name=frame["label"], parameters=parameters, score=frame["avg_score"].astype(float))
    points["organisation"] = points["organisation"].fillna("unknown")
    family_sizes = points["family"].map(points["family"].value_counts())
    points["family_group"] = points["family"].where(family_sizes >= 2, "other families")
    trend = LogLinearTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(points["parameters"].to_numpy(), points["score"].to_numpy())
    points["residual"] = trend.residuals(points["parameters"].to_numpy(), points["score"].to_numpy())
    identified = effective_size_identified(trend)
    effective = effective_sizes(trend, points["score"].to_numpy())
    for column in effective.columns:
        points[column] = effective[column].to_numpy()
    points["parameters_text"] = [format_si(v) for v in points["parameters"]]
    grid = np.geomspace(points["parameters"].min() / 1.3, points["parameters"].max() * 1.3, 60)
    band_low, band_high = trend.interval(grid, level=LEVEL)
    curve = pd.DataFrame(
        {"parameters": grid, "fit": trend.predict(grid), "lower": band_low, "upper": band_high, "parameters_text": [format_si(v) for v in grid]}
    )
    return BenchmarkAnalysis(points, trend, curve, identified)


def effective_size_at_slope(analysis: BenchmarkAnalysis, model_id: str, slope: np.ndarray) -> np.ndarray:
    """Effective size (parameters) of one model if the trend had slope ``slope`` (points per tenfold).

    For a fixed slope ``s`` the least-squares line passes through the centroid of the points,
    ``(mean log10 N, mean score)``, so the size at which it reaches the model's score ``y`` is
    ``10 ** (mean log10 N + (y - mean score) / s)``. At the fitted slope this is the trend's own
    inverse. ``slope`` is an array of shape ``(m,)`` of non-zero slopes; returns shape ``(m,)``.
    """
    points = analysis.points
    centre_u = float(np.log10(points["parameters"]).mean())
    centre_y = float(points["score"].mean())
    score = float(points.set_index("model_id").loc[model_id, "score"])
    with np.errstate(divide="ignore", over="ignore"):  # a slope near zero: no finite size
        return 10.0 ** (centre_u + (score - centre_y) / np.asarray(slope, dtype=float))


def effective_size_profile(analysis: BenchmarkAnalysis, model_id: str, points: int = 120, ceiling: float = 1e15) -> pd.DataFrame:
    """The effective size of one model as a function of the assumed slope, for the profile chart.

    Slopes run over positive values from where the effective size falls below ``ceiling``
    (parameters) to 1.3 times the larger of the estimate and the interval's upper end. Columns:
    ``slope`` (points per tenfold parameters), ``effective_parameters``, ``inside`` (slope within
    the bootstrap interval), ``slope_text``, ``effective_text``, ``what``. Shape ``(points, 6)``.
    Only for a model scoring above the mean, whose effective size falls as the slope grows.
    """
    trend = analysis.trend
    low, high = trend.ci["slope"]
    score = float(analysis.points.set_index("model_id").loc[model_id, "score"])
    excess = score - float(analysis.points["score"].mean())
    if excess <= 0:
        raise ValueError(f"{model_id} does not score above the mean; its profile is not drawn")
    centre_u = float(np.log10(analysis.points["parameters"]).mean())
    smallest = excess / (np.log10(ceiling) - centre_u)
    largest = 1.3 * max(trend.slope, high)
    slopes = np.geomspace(smallest, largest, points)
    sizes = effective_size_at_slope(analysis, model_id, slopes)
    return pd.DataFrame({
        "slope": slopes,
        "effective_parameters": sizes,
        "inside": (slopes >= low) & (slopes <= high),
        "slope_text": [f"{format_value(s, 2)} points per tenfold" for s in slopes],
        "effective_text": [format_count(v) for v in sizes],
        "what": "best-fitting line with this slope",
    })


def slope_sign_share(trend: object) -> float:
    """Fraction of bootstrap resamples whose slope is zero or negative (the trend does not rise)."""
    return float(np.mean(trend.samples[:, 1] <= 0))


def effective_size_statement(analysis: BenchmarkAnalysis, model_id: str) -> str:
    """The effective size of one model with its interval, or why the data do not determine it."""
    row = analysis.points.set_index("model_id").loc[model_id]
    if analysis.effective_identified:
        return (
            f"{row['name']} ({format_count(row['parameters'])} non-embedding parameters) scores like a "
            f"{format_count(row['effective_parameters'])}-parameter model on the trend "
            f"({LEVEL:.0%} CI {format_count(row['effective_lower'])} to {format_count(row['effective_upper'])} parameters)"
        )
    low, high = analysis.trend.ci["slope"]
    return (
        f"the effective size of {row['name']} is {NOT_DETERMINED} by these data: the slope's {LEVEL:.0%} interval, "
        f"{number(low)} to {number(high)} points per tenfold, includes zero (in "
        f"{slope_sign_share(analysis.trend):.0%} of the bootstrap resamples the trend is flat or falls with size), "
        f"and a trend that may not rise cannot say at which size a score of {format_value(row['score'], 3)} is reached"
    )


def steepest_slope_size(analysis: BenchmarkAnalysis, model_id: str) -> float:
    """Effective size (parameters) of one model at the upper end of the slope's interval.

    For a model above the mean score, a steeper line reaches its score sooner, so this is the
    smallest effective size the slope interval allows (a lower bound, not an estimate).
    """
    _low, high = analysis.trend.ci["slope"]
    return float(effective_size_at_slope(analysis, model_id, np.array([high]))[0])


def precision_needed(trend: object) -> tuple[float, float]:
    """How much more precise the slope must be for its interval to exclude zero.

    Returns ``(factor, models)``: the interval's lower side (estimate minus lower end) would have
    to shrink by ``factor`` to reach zero, which under the usual ``1 / sqrt(n)`` scaling of a
    standard error takes about ``models = factor ** 2`` times as many models with the same
    spread of sizes and scores. Only meaningful for a positive slope estimate.
    """
    low, _high = trend.ci["slope"]
    factor = (trend.slope - low) / trend.slope
    return float(factor), float(factor**2)


def published_parameters(model_id: str) -> float:
    """Total parameters of a model from the ``models`` registry (as published)."""
    return float(load_table("models").set_index("model_id").loc[model_id, "parameters"])


# ----------------------------------------------------------------------------- computed statements


def number(value: float, digits: int = 2) -> str:
    """A number for prose with ``digits`` significant figures (a true minus sign for negatives)."""
    text = format_value(abs(value), digits)
    return f"−{text}" if value < 0 else text


def interval_text(low: float, high: float, digits: int = 2, unit: str = "") -> str:
    """``"95% CI 1.4 to 5.7 GLUE points"`` (``to`` rather than a dash, so signs stay readable)."""
    tail = f" {unit}" if unit else ""
    return f"{LEVEL:.0%} CI {number(low, digits)} to {number(high, digits)}{tail}"


def with_interval(value: float, low: float, high: float, digits: int = 2, unit: str = "") -> str:
    """``"3.4 GLUE points (95% CI 1.4 to 5.7)"``."""
    tail = f" {unit}" if unit else ""
    return f"{number(value, digits)}{tail} ({interval_text(low, high, digits)})"


def names_list(names: list[str]) -> str:
    """``["a", "b", "c"] -> "a, b and c"``."""
    names = [str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def slope_statement(trend: object, unit: str) -> str:
    """The trend's slope per tenfold increase of x, with its interval: ``"4.2 GLUE points (95% CI ...)"``."""
    low, high = trend.ci["slope"]
    return with_interval(trend.slope, low, high, unit=unit)


def slope_excludes_zero(trend: object) -> bool:
    """Whether the slope's bootstrap interval lies entirely on one side of zero."""
    low, high = trend.ci["slope"]
    return bool(low > 0 or high < 0)


def efficiency_statement(result: EfficiencyResult) -> str:
    """GLUE points gained per year at fixed compute, with its interval."""
    low, high = result.ci["year_slope"]
    return with_interval(result.params["year_slope"], low, high, unit="GLUE points per year")


def compute_factor_statement(result: EfficiencyResult) -> str:
    """How many times less compute the same GLUE needed one year later, with its interval."""
    low, high = result.ci["compute_factor_per_year"]
    return f"{number(result.params['compute_factor_per_year'])}× ({LEVEL:.0%} CI {number(low)}× to {number(high)}×)"


# ----------------------------------------------------------------------------- preface and appendices


def key_findings() -> pd.DataFrame:
    """One row per chapter finding (``chapter``, ``question``, ``finding``), every number computed.

    Chapters 4 and 5 come from :mod:`analysis.chinchilla` (the same functions those chapters call).
    """
    from analysis import chinchilla

    ch1, ch2, ch3 = pretraining_analysis(), compression_analysis(), benchmark_analysis()
    frontier = ch2.points[ch2.points["on_frontier"]].sort_values("size_mb")
    best = ch2.points.loc[ch2.points["glue"].idxmax()]
    fits = chinchilla.epoch_fits()
    gopher = chinchilla.gopher_slice(fits)
    comparison = chinchilla.parameter_comparison(fits).set_index("parameter")
    a_row = comparison.loc["a"]
    rows = [
        (
            "1",
            "How fast did the GLUE reached at fixed inference compute improve?",
            f"By {efficiency_statement(ch1.efficiency)}; the same GLUE needed {compute_factor_statement(ch1.efficiency)} "
            f"less inference compute per year ({ch1.efficiency.n_points} models, values read off a figure).",
        ),
        (
            "2",
            "Which compression gives the best score for its size?",
            f"{names_list(sorted(frontier['technique'].str.capitalize().unique()))}: the Pareto frontier is {names_list([f'{m} {l}'.strip() for m, l in zip(frontier['method'], frontier['label'], strict=True)])}; "
            f"the best score ({number(best['glue'], 3)}) is {best['method']} {best['label']} at {number(best['size_mb'])} MB, "
            f"{number(best['compression_ratio'])}× smaller than 32-bit BERT-Base.",
        ),
        (
            "3",
            "Does non-embedding size predict benchmark score?",
            _benchmark_finding(ch3),
        ),
        (
            "4",
            "Were the largest models of 2020-2021 compute-optimal?",
            f"{'No' if gopher['N_opt_hi'] < gopher['N'] else 'Not clearly'}: at Gopher's budget our Approach 3 fit puts the optimum at {format_si(gopher['N_opt'], 2)} parameters "
            f"({LEVEL:.0%} CI {format_si(gopher['N_opt_lo'], 2)} to {format_si(gopher['N_opt_hi'], 2)}), "
            f"{number(gopher['size_ratio'])}× smaller than Gopher's {format_si(gopher['N'], 2)}.",
        ),
        (
            "5",
            "How should compute be split between parameters and data?",
            f"{'In nearly equal proportion' if a_row['ours_lo'] <= 0.5 <= a_row['ours_hi'] else 'Unequally'}: our parametric fit gives N_opt ∝ C^a with a = "
            f"{with_interval(a_row['ours'], a_row['ours_lo'], a_row['ours_hi'])}, against {number(a_row['hoffmann'])} "
            f"from Hoffmann et al.'s published (rounded) parameters and "
            f"{number(chinchilla.coefficients('hoffmann2022_approach3')['a'])} in their Table 2.",
        ),
    ]
    return pd.DataFrame(rows, columns=["chapter", "question", "finding"])


def _benchmark_finding(analysis: BenchmarkAnalysis, model_id: str = "memory3-2b-sft") -> str:
    """Chapter 3's key finding: how much size explains, and what that means for the effective size."""
    trend = analysis.trend
    row = analysis.points.set_index("model_id").loc[model_id]
    explained = f"the trend explains R² = {number(trend.r_squared, 1)} of the variance in score"
    if analysis.effective_identified:
        return f"Weakly: {explained}; {effective_size_statement(analysis, model_id)}."
    low, high = trend.ci["slope"]
    return (
        f"Barely: {explained}, and its slope ({number(trend.slope)} points per tenfold, {interval_text(low, high)}) "
        f"may be zero. {row['name']} lies {number(row['residual'])} points above the trend, but how many "
        f"parameters that lead is worth (its \"effective size\") is {NOT_DETERMINED} by these data."
    )


def data_tables() -> list:
    """Machine-readable descriptions of every curated table (:func:`analysis.data.describe_tables`)."""
    from analysis.data import describe_tables

    return describe_tables()


def columns_frame(table: object) -> pd.DataFrame:
    """A table's columns as rows: ``column``, ``type``, ``unit``, ``description``."""
    return pd.DataFrame(
        [
            {"column": c.name, "type": c.type, "unit": c.unit or "", "description": c.description + (f" ({c.constraints})" if c.constraints else "")}
            for c in table.columns
        ]
    )


def build_date() -> str:
    """The build date (UTC, ``YYYY-MM-DD``): ``SOURCE_DATE_EPOCH`` when set, else today."""
    import datetime
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC) if epoch else datetime.datetime.now(tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d")


def data_checksums() -> pd.DataFrame:
    """SHA-256 of every file in ``data/`` (git-tracked curated data, not the external cache)."""
    import hashlib

    rows = []
    for path in sorted((PROJECT_ROOT / "data").glob("*")):
        if path.is_file():
            rows.append({"file": f"data/{path.name}", "bytes": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    return pd.DataFrame(rows)


def package_versions(names: tuple[str, ...] = (
    "scaling-atlas", "numpy", "scipy", "pandas", "altair", "vl-convert-python", "jinja2", "nbclient", "ipykernel",
    "pypandoc-binary", "typst",
)) -> pd.DataFrame:
    """Installed versions of the packages the book is built with."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    rows = [{"package": "python", "version": platform.python_version()}]
    for name in names:
        try:
            rows.append({"package": name, "version": version(name)})
        except PackageNotFoundError:
            rows.append({"package": name, "version": "not installed"})
    return pd.DataFrame(rows)
