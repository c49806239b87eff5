"""Chapter 6: why Kaplan et al.'s and Hoffmann et al.'s compute-optimal exponents differ.

Porian et al. (2024) reproduce Kaplan et al.'s exponent and remove the differences between the two
set-ups one at a time: five settings ("steps") on each of two datasets, every one a full IsoFLOP
sweep (:mod:`analysis.chapters.porian`). The chapter refits the ten settings with the book's
interpolation estimator, sets the exponents against the published ones, and draws the
compute-optimal lines ``N_opt(C)`` against the published laws of Kaplan et al. and Hoffmann et al.

Units: ``N`` in parameters (as each step counts them), ``C`` in FLOP, losses in nats per token.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.chapters import porian
from analysis.chapters.common import SEED, fixed, provenance_columns, source_text
from analysis.chapters.compute_optimal import KAPLAN_COMPUTE_PER_MINIMUM, PF_DAY_FLOP, kaplan_law
from analysis.chapters.epoch import notable_model
from analysis.data import load_table
from analysis.fit import ComputeOptimalResult
from analysis.fit.laws import PowerLaw
from analysis.published import published_laws
from analysis.tables import markdown_table
from analysis.text import (
    C_MIN,
    LEVEL,
    bootstrap_interval,
    count,
    format_interval,
    format_power,
    format_signed,
    format_value,
    names_list,
)

PROFILE_DATASET = "rw"
"""The dataset whose IsoFLOP profiles the chapter draws (RefinedWeb, the dataset of the paper's Figure 1)."""
PROFILE_STEPS = (1, 5)
"""The first and last settings, drawn side by side."""
MARKED_MODEL = "chinchilla"
"""The model whose budget the fitted lines are extrapolated to (its size and budget C = 6ND are marked)."""
C_RANGE = (1e16, 1e25)
"""Budgets (FLOP) over which the lines are drawn: the runs' budgets up to beyond Chinchilla's."""
LINE_POINTS = 37
"""Budgets per line, evenly spaced in log C."""

KAPLAN_PORIAN = "porian2024_kaplan_law"
"""Kaplan et al.'s law as Porian et al. compare with it (``a`` and ``N_e`` at C = 1 PF-day)."""
KAPLAN_TABLE6 = "kaplan2020_compute_efficient"
"""Kaplan et al.'s compute-efficient law as they print it (Table 6), in C_min."""
KAPLAN_QUOTED = "kaplan2020"
"""Kaplan et al.'s exponent as Hoffmann et al. quote it (Table 2)."""
HOFFMANN = "hoffmann2022_approach1"
"""Hoffmann et al.'s Approach 1, whose projections (Table 3) are the chapter's Chinchilla line."""

DROP_DECIMALS = 2
"""Decimals of every drop of the exponent the chapter and the preface print (the intervals of ``a`` are wider)."""

SHORT_NAMES = {1: ("Kaplan", "set-up"), 2: ("last layer", "counted"), 3: ("short", "warmup"),
               4: ("decay", "matched"), 5: ("AdamW", "tuned")}
"""A few words per step for chart axes, in two lines (the published names are in
:meth:`KaplanChinchillaChapter.setting`)."""


def setting_names() -> dict[int, str]:
    """What each step is, from the published rows' descriptions: ``{1: "Kaplan et al.'s set-up reproduced", ...}``.

    Raises:
        ValueError: when the two datasets' rows describe a step differently.
    """
    names: dict[int, str] = {}
    for law_id, law in published_laws().items():
        if law_id.startswith("porian2024_") and "_step" in law_id:
            step = int(law_id.rsplit("step", 1)[1])
            name = law.approach.split(": ", 1)[1]
            if names.setdefault(step, name) != name:
                raise ValueError(f"step {step} is described as {names[step]!r} and as {name!r} in scaling_laws.csv")
    return dict(sorted(names.items()))


def reference_laws() -> pd.DataFrame:
    """Kaplan et al.'s laws the chapter compares with, as power laws: one row per law with ``law_id``, ``law``
    (label), ``a``, ``c_ref`` (FLOP), ``n_ref`` (parameters at ``c_ref``), ``source`` (author-year and where),
    ``source_key``, ``source_detail``, ``value_kind`` and ``note``. The Table 6 law is in ``C_min`` and
    non-embedding parameters, read against the training budget as chapter 4 reads it
    (:func:`analysis.chapters.compute_optimal.kaplan_law`)."""
    laws = published_laws()
    porian_law, table6 = laws[KAPLAN_PORIAN], laws[KAPLAN_TABLE6]
    read_as_chapter_4 = kaplan_law()
    return pd.DataFrame([
        {"law_id": KAPLAN_PORIAN, "law": f"Kaplan et al., a = {format_value(porian_law.coefficients['a'], 2)} in C",
         "a": porian_law.coefficients["a"], "c_ref": PF_DAY_FLOP, "n_ref": porian_law.coefficients["N_e"],
         "source": source_text(porian_law.source, porian_law.source_detail), "source_key": porian_law.source,
         "source_detail": porian_law.source_detail, "value_kind": "exact",
         "note": "Non-embedding parameters against the FLOP count, as Porian et al. draw Kaplan et al.'s law."},
        {"law_id": KAPLAN_TABLE6, "law": f"Kaplan et al., a = {format_value(read_as_chapter_4.exponent, 2)} in {C_MIN} (Table 6)",
         "a": read_as_chapter_4.exponent, "c_ref": read_as_chapter_4.c_ref, "n_ref": read_as_chapter_4.n_ref,
         "source": source_text(table6.source, table6.source_detail), "source_key": table6.source,
         "source_detail": table6.source_detail, "value_kind": "exact",
         "note": f"Non-embedding parameters against {C_MIN}, read as C / {format_value(KAPLAN_COMPUTE_PER_MINIMUM, 1)} "
                 "(training at the critical batch size), as chapter 4 draws it."},
    ])


def reference_exponents() -> pd.DataFrame:
    """The exponents the staircase marks as rules: ``law_id``, ``label``, ``a``, ``source`` (author-year and
    where), ``source_key``, ``source_detail``: Kaplan et al.'s as Porian et al. compare with it and as Hoffmann
    et al. quote it, and Hoffmann et al.'s Approach 1."""
    laws = published_laws()
    described = ((KAPLAN_PORIAN, "Kaplan et al., as Porian et al. compare"),
                 (KAPLAN_QUOTED, f"Kaplan et al., as Hoffmann et al. quote ({C_MIN})"),
                 (HOFFMANN, "Hoffmann et al., Approach 1"))
    rows = []
    for law_id, label in described:
        law = laws[law_id]
        rows.append({"law_id": law_id, "label": f"{label}: {format_value(law.coefficients['a'], 2)}",
                     "a": law.coefficients["a"], "source": source_text(law.source, law.source_detail),
                     "source_key": law.source, "source_detail": law.source_detail})
    return pd.DataFrame(rows)


def marked_model() -> pd.Series:
    """The marked model (:data:`MARKED_MODEL`): ``name``, ``N``, ``D``, ``C = 6ND`` and its provenance (``source``
    as text, ``source_key``, ``source_detail``)."""
    return notable_model(MARKED_MODEL)


def hoffmann_projections() -> pd.DataFrame:
    """Hoffmann et al.'s Table 3 (Approach 1): ``C`` (FLOP), ``N`` (parameters), ``D`` (tokens), ``source``,
    ``source_key``, ``source_detail``, ``value_kind``, one row per projected model size, ascending."""
    table = load_table("hoffmann_projections")
    rows = table[table["approach"] == 1]
    return pd.DataFrame({
        "C": rows["training_flops"].astype(float), "N": rows["parameters"].astype(float),
        "D": rows["training_tokens"].astype(float),
        "source": [source_text(k, d) for k, d in zip(rows["source"], rows["source_detail"], strict=True)],
        "source_key": rows["source"], "source_detail": rows["source_detail"], "value_kind": rows["value_kind"],
    }).sort_values("C").reset_index(drop=True)


def fitted_lines(results: dict[tuple[str, int], ComputeOptimalResult], budget_range: tuple[float, float],
                 c_range: tuple[float, float] = C_RANGE, points: int = LINE_POINTS) -> pd.DataFrame:
    """Every setting's ``N_opt(C)`` on a log grid of budgets, with its bootstrap band.

    Returns one row per (setting, budget): ``dataset``, ``step``, ``C`` (FLOP), ``N``, ``N_lo``, ``N_hi``
    (parameters) and ``extrapolated`` (the budget lies outside ``budget_range``, the runs' budgets). The
    grid holds both ends of ``budget_range``, so the fitted and extrapolated parts meet.
    """
    grid = np.unique(np.concatenate([np.geomspace(*c_range, points), budget_range]))
    frames = []
    for (dataset, step), result in results.items():
        low, high = result.n_opt_interval(grid, level=LEVEL)
        frames.append(pd.DataFrame({
            "dataset": dataset, "step": step, "C": grid, "N": result.n_opt(grid), "N_lo": low, "N_hi": high,
            "extrapolated": (grid < budget_range[0] * (1 - 1e-9)) | (grid > budget_range[1] * (1 + 1e-9)),
        }))
    return pd.concat(frames, ignore_index=True)


def budget_optima(results: dict[tuple[str, int], ComputeOptimalResult]) -> pd.DataFrame:
    """Every setting's per-budget optimum: ``dataset``, ``step``, ``C`` (FLOP), ``N_opt``, ``N_opt_lo``,
    ``N_opt_hi`` (parameters, median and percentile interval of the resampled minima), ``loss_opt``
    (nats/token), ``included`` (in the power-law fit) and ``reason`` (why not)."""
    frames = [result.budgets.assign(dataset=dataset, step=step) for (dataset, step), result in results.items()]
    columns = ["dataset", "step", "C", "N_opt", "N_opt_lo", "N_opt_hi", "loss_opt", "included", "reason"]
    return pd.concat(frames, ignore_index=True)[columns]


def interpolated_profiles(result: ComputeOptimalResult, runs: pd.DataFrame, points: int = 40) -> pd.DataFrame:
    """One setting's interpolated IsoFLOP profiles: ``C`` (FLOP), ``N`` (parameters), ``loss`` (nats/token),
    each budget's curve over the sizes it sampled."""
    frames = []
    for budget, group in runs.groupby("C"):
        sizes = np.geomspace(group["N"].min(), group["N"].max(), points)
        frames.append(pd.DataFrame({"C": budget, "N": sizes, "loss": result.profile(budget, sizes)}))
    return pd.concat(frames, ignore_index=True).dropna(subset=["loss"])


@dataclass(frozen=True)
class KaplanChinchillaChapter:
    """Everything chapter 6 shows.

    Attributes:
        results: the ten refits keyed ``(dataset, step)``.
        exponents: one row per setting (:func:`analysis.chapters.porian.exponent_frame`) plus ``dataset_name``
            and ``setting``.
        runs: the 1,160 runs (:func:`analysis.chapters.porian.load_runs`).
        lines: the fitted lines (:func:`fitted_lines`).
        optima: the per-budget optima (:func:`budget_optima`).
        profiles: interpolated profiles of :data:`PROFILE_DATASET`, steps :data:`PROFILE_STEPS`, with ``step``.
        references: Kaplan et al.'s published laws (:func:`reference_laws`).
        reference_exponents: the staircase's reference exponents (:func:`reference_exponents`).
        projections: Hoffmann et al.'s Table 3 (:func:`hoffmann_projections`).
        marked: the marked model (:data:`MARKED_MODEL`): ``name``, ``N``, ``D``, ``C``, provenance.
        settings: what each step is (:func:`setting_names`).
    """

    results: dict[tuple[str, int], ComputeOptimalResult]
    exponents: pd.DataFrame
    runs: pd.DataFrame
    lines: pd.DataFrame
    optima: pd.DataFrame
    profiles: pd.DataFrame
    references: pd.DataFrame
    reference_exponents: pd.DataFrame
    projections: pd.DataFrame
    marked: pd.Series
    settings: dict[int, str]

    def row(self, dataset: str, step: int) -> pd.Series:
        """One row of :attr:`exponents`."""
        match = self.exponents[(self.exponents["dataset"] == dataset) & (self.exponents["step"] == step)]
        if match.empty:
            raise KeyError(f"no setting {dataset!r}, step {step}")
        return match.iloc[0]

    def a(self, dataset: str, step: int) -> float:
        """Our exponent ``a`` of one setting."""
        return float(self.row(dataset, step)["a"])

    def exponent(self, dataset: str, step: int, digits: int = 3) -> str:
        """Our exponent of one setting as text: ``"0.835"``."""
        return format_value(self.a(dataset, step), digits)

    def interval(self, dataset: str, step: int, digits: int = 3, *, named: bool = False) -> str:
        """Our 95% bootstrap interval of one setting's exponent: ``"0.823–0.846"``; ``named``, with the words that
        say what it is (``"95% bootstrap interval 0.823–0.846"``, :func:`analysis.text.bootstrap_interval`)."""
        row = self.row(dataset, step)
        if named:
            return bootstrap_interval(row["a_lo"], row["a_hi"], digits=digits)
        return format_interval(row["a_lo"], row["a_hi"], digits)

    def covers(self, dataset: str, step: int, value: float) -> bool:
        """Whether ``value`` lies inside our interval of one setting's exponent."""
        row = self.row(dataset, step)
        return bool(row["a_lo"] <= value <= row["a_hi"])

    def position(self, dataset: str, step: int, value: float) -> str:
        """Where ``value`` lies against our interval of one setting's exponent: ``"inside"``, ``"above"`` or
        ``"below"``."""
        row = self.row(dataset, step)
        return "inside" if self.covers(dataset, step, value) else "above" if value > row["a_hi"] else "below"

    def position_text(self, step: int, value: float) -> str:
        """Where ``value`` lies against one step's intervals on both datasets: ``"below both intervals"`` or
        ``"above the RefinedWeb interval and inside the OpenWebText2 one"``."""
        places = {dataset: self.position(dataset, step, value) for dataset in porian.DATASETS}
        if len(set(places.values())) == 1:
            return f"{next(iter(places.values()))} both intervals"
        (first, where), *rest = places.items()
        return f"{where} the {porian.DATASETS[first]} interval and " + " and ".join(
            f"{place} the {porian.DATASETS[dataset]} one" for dataset, place in rest)

    def setting(self, step: int) -> str:
        """What a step is, as the published rows name it: ``"short warmup"``."""
        return self.settings[step]

    def drop(self, dataset: str, step: int) -> float:
        """How much a step lowers the exponent from the setting it changes (:data:`porian.BASE_STEP`):
        ``a(base) - a(step)`` (steps 2 to 5)."""
        if step not in porian.BASE_STEP:
            raise ValueError(f"step {step} changes no earlier step")
        return self.a(dataset, porian.BASE_STEP[step]) - self.a(dataset, step)

    def drop_text(self, dataset: str, step: int) -> str:
        """:meth:`drop` as the book prints it, to :data:`DROP_DECIMALS` decimals (``"0.10"``), the same for every step."""
        return fixed(self.drop(dataset, step), DROP_DECIMALS)

    def drops_text(self, step: int) -> str:
        """A step's drop on every dataset (:meth:`drop_text`): ``"0.10 on both datasets"`` when they print the same,
        else ``"0.10 on RefinedWeb and 0.08 on OpenWebText2"``."""
        texts = {name: self.drop_text(dataset, step) for dataset, name in porian.DATASETS.items()}
        if len(set(texts.values())) == 1:
            every = "both datasets" if len(texts) == 2 else "every dataset"
            return f"{next(iter(texts.values()))} on {every}"
        return names_list(f"{text} on {name}" for name, text in texts.items())

    @property
    def drops(self) -> pd.DataFrame:
        """Every step's drop (:meth:`drop`): ``dataset``, ``step``, ``drop``, ``share`` (of the whole fall from
        step 1 to step 5 on that dataset; the shares of the steps on :data:`porian.PATH_STEPS` add up to one)."""
        rows = []
        for dataset in porian.DATASETS:
            total = self.whole_fall(dataset)
            for step in porian.STEPS[1:]:
                rows.append({"dataset": dataset, "step": step, "drop": self.drop(dataset, step),
                             "share": self.drop(dataset, step) / total})
        return pd.DataFrame(rows)

    def ranked_steps(self, dataset: str) -> list[int]:
        """Steps 2 to 5 of one dataset, largest drop first."""
        drops = self.drops[self.drops["dataset"] == dataset]
        return [int(s) for s in drops.sort_values("drop", ascending=False)["step"]]

    def ranked_everywhere(self, step: int, rank: int) -> bool:
        """Whether ``step`` has drop rank ``rank`` (0 = largest, -1 = smallest) on both datasets."""
        return all(self.ranked_steps(dataset)[rank] == step for dataset in porian.DATASETS)

    def ranking_text(self, dataset: str) -> str:
        """The steps of one dataset from the largest drop to the smallest: ``"step 2 (last layer counted), ..."``."""
        return names_list(f"step {step} ({self.setting(step)})" for step in self.ranked_steps(dataset))

    @property
    def same_ranking(self) -> bool:
        """Whether the steps rank the same by drop on both datasets."""
        return len({tuple(self.ranked_steps(d)) for d in porian.DATASETS}) == 1

    @property
    def every_step_lowers(self) -> bool:
        """Whether every step lowers the exponent on both datasets."""
        return bool((self.drops["drop"] > 0).all())

    @property
    def max_abs_difference(self) -> float:
        """The largest ``|ours - published|`` over the ten settings."""
        return float(self.exponents["difference"].abs().max())

    @property
    def published_inside(self) -> int:
        """How many of the ten published exponents lie inside our intervals."""
        e = self.exponents
        return int(((e["a_lo"] <= e["published"]) & (e["published"] <= e["a_hi"])).sum())

    def reference_a(self, law_id: str) -> float:
        """The exponent ``a`` of a published law (:data:`KAPLAN_PORIAN`, :data:`KAPLAN_TABLE6`, :data:`KAPLAN_QUOTED`,
        :data:`HOFFMANN`)."""
        return float(published_laws()[law_id].coefficients["a"])

    @property
    def budget_range(self) -> tuple[float, float]:
        """Smallest and largest budget (FLOP) of the runs."""
        return float(self.runs["C"].min()), float(self.runs["C"].max())

    @property
    def extrapolation_factor(self) -> float:
        """How far the marked model's budget lies beyond the runs' largest budget (a ratio of FLOP)."""
        return float(self.marked["C"]) / self.budget_range[1]

    @property
    def extrapolation_decades(self) -> float:
        """:attr:`extrapolation_factor` in decades."""
        return math.log10(self.extrapolation_factor)

    def n_opt_at_marked(self, dataset: str, step: int) -> dict[str, float]:
        """One setting's line at the marked model's budget: ``N_opt``, ``N_opt_lo``, ``N_opt_hi`` (parameters) and
        ``ratio`` (``N_opt`` over the marked model's size)."""
        result, budget = self.results[(dataset, step)], float(self.marked["C"])
        low, high = (float(np.asarray(v)) for v in result.n_opt_interval(budget, level=LEVEL))
        n_opt = float(np.asarray(result.n_opt(budget)))
        return {"N_opt": n_opt, "N_opt_lo": low, "N_opt_hi": high, "ratio": n_opt / float(self.marked["N"])}

    def n_opt_text(self, dataset: str, step: int, digits: int = 3) -> str:
        """One setting's ``N_opt`` at the marked model's budget with its interval:
        ``"77.0B parameters (95% bootstrap interval 69.6B–86.1B)"``."""
        at = self.n_opt_at_marked(dataset, step)
        interval = bootstrap_interval(at["N_opt_lo"], at["N_opt_hi"], lambda v: count(v, digits))
        return f"{count(at['N_opt'], digits)} parameters ({interval})"

    def holds_marked(self, step: int) -> bool:
        """Whether the step's intervals of ``N_opt`` at the marked model's budget hold its size, on both datasets."""
        size = float(self.marked["N"])
        return all(self.n_opt_at_marked(d, step)["N_opt_lo"] <= size <= self.n_opt_at_marked(d, step)["N_opt_hi"]
                   for d in porian.DATASETS)

    def spread_at(self, dataset: str, budget: float) -> float:
        """How far apart the five steps' lines are at ``budget`` (FLOP): largest over smallest ``N_opt``."""
        sizes = [float(np.asarray(self.results[(dataset, step)].n_opt(budget))) for step in porian.STEPS]
        return max(sizes) / min(sizes)

    def optimum_growth(self, dataset: str, step: int) -> dict[str, float]:
        """How a setting's per-budget optimum grows across its used budgets: ``budget_factor`` (largest over
        smallest budget), ``size_factor`` (the optima's ratio) and ``N_first``, ``N_last`` (parameters)."""
        used = self.optima[(self.optima["dataset"] == dataset) & (self.optima["step"] == step) & self.optima["included"]]
        used = used.sort_values("C")
        first, last = used.iloc[0], used.iloc[-1]
        return {"budget_factor": float(last["C"] / first["C"]), "size_factor": float(last["N_opt"] / first["N_opt"]),
                "N_first": float(first["N_opt"]), "N_last": float(last["N_opt"])}

    @property
    def excluded_budgets(self) -> pd.DataFrame:
        """The budgets left out of a setting's power law: ``dataset_name``, ``step``, ``C`` (FLOP), ``reason``."""
        left_out = self.optima[~self.optima["included"]]
        return left_out.assign(dataset_name=left_out["dataset"].map(porian.DATASETS))[
            ["dataset_name", "step", "C", "reason"]].reset_index(drop=True)

    @property
    def excluded_text(self) -> str:
        """The budgets left out, as text: ``"step 2 at 1.25e16 FLOP on both datasets"`` or ``"RefinedWeb step 2 at
        ..."`` (``"none"`` without any)."""
        budgets = self.excluded_budgets
        datasets = budgets.groupby(["step", "C"], sort=False)["dataset_name"].agg(list)
        every = len(porian.DATASETS)
        return names_list(
            f"step {step} at {format_power(C, 3, 'FLOP')} on both datasets" if len(names) == every
            else f"{names_list(names)} step {step} at {format_power(C, 3, 'FLOP')}"
            for (step, C), names in datasets.items()) or "none"

    def whole_fall(self, dataset: str) -> float:
        """How much the exponent falls from the first step to the last on one dataset (along :data:`porian.PATH_STEPS`)."""
        return self.a(dataset, porian.PATH_STEPS[0]) - self.a(dataset, porian.PATH_STEPS[-1])

    def gap_factor(self, gap: float) -> float:
        """The factor in ``N_opt`` that a difference ``gap`` in the exponent makes at the marked model's budget,
        two lines meeting at the runs' largest budget: ``10 ** (gap * extrapolation_decades)``."""
        return 10 ** (gap * self.extrapolation_decades)

    def reference_n_opt_at_marked(self, law_id: str) -> float:
        """A published Kaplan et al. law at the marked model's budget (parameters)."""
        row = self.references.set_index("law_id").loc[law_id]
        return PowerLaw(row["a"], row["c_ref"], row["n_ref"]).at(float(self.marked["C"]))

    @property
    def model_sizes(self) -> pd.DataFrame:
        """The models of one dataset in both counts, smallest first: ``kaplan`` (step 1: without the last layer)
        and ``full`` (step 2: with it), parameters, and ``last_layer_share`` (``1 - kaplan / full``).

        Steps 1 and 2 train the same models (same hyper-parameters, warmup and decay; only the count and the loss
        read differ), so the i-th smallest size of one is the i-th smallest of the other.
        """
        runs = self.runs[self.runs["dataset"] == PROFILE_DATASET]
        kaplan = np.sort(runs.loc[runs["step"] == 1, "N"].unique())
        full = np.sort(runs.loc[runs["step"] == 2, "N"].unique())
        if kaplan.size != full.size or np.any(kaplan >= full):
            raise ValueError("steps 1 and 2 do not hold the same models in two counts")
        return pd.DataFrame({"kaplan": kaplan, "full": full, "last_layer_share": 1 - kaplan / full})

    @property
    def profile_runs(self) -> pd.DataFrame:
        """The runs of the profile figure (:data:`PROFILE_DATASET`, :data:`PROFILE_STEPS`), provenance as
        :func:`analysis.chapters.common.provenance_columns` gives it."""
        runs = self.runs
        chosen = runs[(runs["dataset"] == PROFILE_DATASET) & runs["step"].isin(PROFILE_STEPS)].reset_index(drop=True)
        return provenance_columns(chosen)

    def exponent_table(self) -> Markdown:
        """:meth:`exponent_frame` as a table."""
        return markdown_table(self.exponent_frame(), widths={"Dataset": 12, "Step": 28, "a, fitted here": 10,
                                                             f"{LEVEL:.0%} interval": 16, "a, Porian et al.": 10,
                                                             "Difference": 10})

    def exponent_frame(self) -> pd.DataFrame:
        """The ten exponents as text: dataset, step and what it changes, ours with its interval, the paper's,
        and the difference."""
        rows = []
        for row in self.exponents.itertuples(index=False):
            rows.append({
                "Dataset": row.dataset_name,
                "Step": f"{row.step}: {row.setting}",
                "a, fitted here": format_value(row.a, 3),
                f"{LEVEL:.0%} interval": format_interval(row.a_lo, row.a_hi, 3),
                "a, Porian et al.": format_value(row.published, 3),
                "Difference": format_signed(round(row.difference, 3), decimals=3, plus=True),
            })
        return pd.DataFrame(rows)


def chapter_for(results: dict[tuple[str, int], ComputeOptimalResult]) -> KaplanChinchillaChapter:
    """Chapter 6's result for a given set of refits (the book's, or a test's with fewer resamples)."""
    runs = porian.load_runs()
    settings = setting_names()
    exponents = porian.exponent_frame(results)
    exponents["dataset_name"] = exponents["dataset"].map(porian.DATASETS)
    exponents["setting"] = exponents["step"].map(settings)
    budget_range = (float(runs["C"].min()), float(runs["C"].max()))
    profile_frames = []
    for step in PROFILE_STEPS:
        chosen = runs[(runs["dataset"] == PROFILE_DATASET) & (runs["step"] == step)]
        profile_frames.append(interpolated_profiles(results[(PROFILE_DATASET, step)], chosen).assign(step=step))
    return KaplanChinchillaChapter(
        results=results, exponents=exponents, runs=runs, lines=fitted_lines(results, budget_range),
        optima=budget_optima(results), profiles=pd.concat(profile_frames, ignore_index=True),
        references=reference_laws(), reference_exponents=reference_exponents(), projections=hoffmann_projections(),
        marked=marked_model(),
        settings=settings,
    )


@functools.cache
def kaplan_chinchilla_chapter(n_bootstrap: int = porian.N_BOOTSTRAP, seed: int = SEED) -> KaplanChinchillaChapter:
    """Chapter 6 (cached): the ten settings refitted with ``n_bootstrap`` resamples each."""
    return chapter_for(porian.refit_results(n_bootstrap, seed))
