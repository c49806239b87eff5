"""The preface: one finding per chapter, every number computed by the chapters' own modules."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd
from IPython.display import Markdown

from analysis.chapters.appendices import approximate_rows, data_tables
from analysis.chapters.benchmarks import benchmarks_chapter
from analysis.chapters.common import fixed
from analysis.chapters.compression import compression_chapter
from analysis.chapters.compute_optimal import OURS3, PUB1, PUB2, PUB3, PUB3_ROUNDED, compute_optimal_chapter
from analysis.chapters.kaplan_chinchilla import KaplanChinchillaChapter, kaplan_chinchilla_chapter
from analysis.chapters.parametric_loss import HOFFMANN, HOFFMANN_ROUNDED, OURS, parametric_loss_chapter
from analysis.chapters.pretraining import pretraining_chapter
from analysis.tables import markdown_table
from analysis.text import bootstrap_interval, format_si, names_list, number, times, with_interval, with_unit

EQUAL_SPLIT = 0.5
"""The exponent ``a`` of an allocation that grows parameters and tokens in equal proportion."""


@dataclass(frozen=True)
class Preface:
    """The preface's numbers: the key findings and the size of the curated data.

    Attributes:
        n_rows: rows of the curated tables.
        n_approximate: rows marked approximate, ``n_read_off`` of them read off a published figure and the rest
            approximate for another reason their source detail gives.
    """

    findings: pd.DataFrame
    n_rows: int
    n_approximate: int
    n_read_off: int

    @property
    def n_other_approximate(self) -> int:
        """Approximate rows not read off a figure (a value taken from another model, a derived count, ...)."""
        return self.n_approximate - self.n_read_off

    def findings_table(self) -> Markdown:
        """The key findings as a table: chapter, question, finding."""
        return markdown_table(self.findings, columns={"chapter": "Chapter", "question": "Question", "finding": "Finding"},
                              widths={"chapter": 8, "question": 26, "finding": 66})


def key_findings() -> pd.DataFrame:
    """One row per chapter finding (``chapter``, ``question``, ``finding``), every number computed."""
    ch1, ch2, ch3 = pretraining_chapter(), compression_chapter(), benchmarks_chapter()
    ch4, ch5, ch6 = compute_optimal_chapter(), parametric_loss_chapter(), kaplan_chinchilla_chapter()
    best = ch2.best
    gopher = ch4.optimum("gopher", OURS3)
    published_below = all(ch4.optimum("gopher", law)["N_opt"] < gopher["N_opt"] for law in (PUB1, PUB2, PUB3, PUB3_ROUNDED))
    a_row = ch5.comparison.loc["a"]
    rows = [
        (
            "1",
            "How fast did the GLUE score reachable at fixed inference compute improve?",
            f"By {ch1.efficiency_statement}; the same GLUE needed {ch1.compute_factor_statement} "
            f"less inference compute per year ({ch1.efficiency.n_points} models, {ch1.n_approximate} of them with "
            "approximate values).",
        ),
        (
            "2",
            "Which compression gives the best score for its size?",
            f"{names_list(sorted(ch2.frontier['technique'].str.capitalize().unique()))}: the Pareto frontier is "
            f"{ch2.frontier_names}; the best score ({fixed(best['glue'])}) is {ch2.name(best)} at "
            f"{with_unit(fixed(best['size_mb'], 0), 'MB')}, {times(best['compression_ratio'])} smaller than 32-bit BERT-Base.",
        ),
        ("3", "Does non-embedding size predict benchmark score?", ch3.key_finding()),
        (
            "4",
            "Were the largest models of 2020–2021 compute-optimal?",
            f"{'No' if gopher['N_opt_hi'] < gopher['N'] else 'Not clearly'}: at Gopher's budget "
            f"({with_unit(number(gopher['C'], 3), 'FLOP')} by 6ND) this book's Approach 3 fit to the Chinchilla runs puts the "
            f"optimum at {format_si(gopher['N_opt'], 2)} parameters "
            f"({bootstrap_interval(gopher['N_opt_lo'], gopher['N_opt_hi'], lambda v: format_si(v, 2))}), "
            f"{times(gopher['size_ratio'])} smaller than Gopher's "
            f"{format_si(gopher['N'], 2)}; Hoffmann et al.'s published laws put it "
            f"{'lower still' if published_below else 'on both sides of it'}.",
        ),
        (
            "5",
            "How should compute be split between parameters and data?",
            f"{'In nearly equal proportion' if a_row['ours_lo'] <= EQUAL_SPLIT <= a_row['ours_hi'] else 'Unequally'}: "
            "this book's parametric fit has the compute-optimal size grow as compute to the power "
            f"{with_interval(a_row[OURS], a_row['ours_lo'], a_row['ours_hi'], digits=3)}, against {number(a_row[HOFFMANN], 3)} "
            f"from Hoffmann et al.'s unrounded parameters ({number(a_row[HOFFMANN_ROUNDED], 3)} from the parameters "
            f"as printed, {number(ch5.table2_a, 2)} in their Table 2). Rounding explains why the printed parameters "
            f"overpredict {100 * ch5.summary(HOFFMANN_ROUNDED, 'share_overpredicted'):.0f}% of the runs; it does not "
            "explain the exponent.",
        ),
        ("6", "Why do Kaplan et al.'s and Hoffmann et al.'s exponents differ?", _staircase_finding(ch6)),
    ]
    return pd.DataFrame(rows, columns=["chapter", "question", "finding"])


def _staircase_finding(ch6: KaplanChinchillaChapter) -> str:
    """Chapter 6's finding: the exponent at the first and last step on RefinedWeb, and the largest drop."""
    first, last = ch6.row("rw", 1), ch6.row("rw", 5)
    largest = ch6.ranked_steps("rw")[0]
    return (
        f"Set-up choices: on Porian et al.'s RefinedWeb runs the exponent a falls from "
        f"{with_interval(first['a'], first['a_lo'], first['a_hi'], 3)} in Kaplan et al.'s set-up to "
        f"{with_interval(last['a'], last['a_lo'], last['a_hi'], 3)} once the last layer is counted, the warmup "
        f"shortened and AdamW tuned per size with a constant learning rate; step {largest} "
        f"({ch6.setting(largest)}) moves it most, by {ch6.drop_text('rw', largest)}."
    )


@functools.cache
def preface() -> Preface:
    """The preface (cached)."""
    tables = data_tables()
    return Preface(key_findings(), sum(t.n_rows for t in tables), sum(t.n_approximate for t in tables),
                   int(approximate_rows()["read_off"].sum()))
