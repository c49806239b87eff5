"""Every table of a generated report, as Markdown pipe tables of preformatted text."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.fit import ParametricLossResult
from analysis.report.fits import THIS_FIT
from analysis.tables import escape_markdown, markdown_table
from analysis.text import MISSING, count, count_interval, interval, number, power_of_ten

if TYPE_CHECKING:
    from analysis.report.runtime import Report

PARAMETER_ROWS = (
    ("E", "irreducible loss, nats/token", "E"),
    ("A", "size term coefficient", "A"),
    ("B", "data term coefficient", "B"),
    ("α", "size exponent", "alpha"),
    ("β", "data exponent", "beta"),
    ("a = β/(α+β)", "N_opt ∝ C^a", "a"),
    ("b = α/(α+β)", "D_opt ∝ C^b", "b"),
)
"""The rows of the parameter table: symbol, meaning, key of the result's params or exponents."""


def numbers_table(frame: pd.DataFrame, text_columns: tuple[str, ...]) -> Markdown:
    """A Markdown table of preformatted cells: numbers right-aligned, ``text_columns`` left."""
    return markdown_table(frame, align={c: "left" if c in text_columns else "right" for c in frame.columns})


SHORT_REASON = 80
"""Characters of a declined fit's reason a table cell shows at most."""

HOLDOUT_ROWS = 12
"""The held-out table lists this many runs at most (those with the most compute)."""


def _law_row(label: str, values: Mapping[str, float], rms: float) -> dict[str, str]:
    row = {"Law": label}
    for name, header in (("E", "E"), ("A", "A"), ("B", "B"), ("alpha", "α"), ("beta", "β"), ("a", "a")):
        row[header] = number(values[name])
    row["RMS residual"] = number(rms)
    return row


def short_reason(reason: str) -> str:
    """The gist of a declined fit's reason for a table cell: without the estimator's prefix, the details in
    parentheses or after a semicolon (the text around the table gives the whole reason)."""
    gist = re.sub(r"^(isoflop|envelope): ", "", reason)
    gist = re.split(r" \(|; ", gist, maxsplit=1)[0]
    return gist if len(gist) <= SHORT_REASON else gist[: SHORT_REASON - 1].rstrip() + "…"


def law_cell(label: str) -> str:
    """A law's label as Markdown: its method and a pandoc citation, ``"Approach 3 [@key]"`` (the key is a validated
    bibliography key, the text escaped), or the text alone."""
    what, _, key = label.partition("|")
    if not key:
        return escape_markdown(what)
    if not re.fullmatch(r"[A-Za-z][\w:-]*", key):
        raise ValueError(f"not a bibliography key: {key!r}")
    return f"{escape_markdown(what)} [@{key}]"


class ReportTables:
    """The tables of one report (:class:`analysis.report.runtime.Report`)."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def settings(self) -> Markdown:
        """The settings of ``report.yml``, one row each, with what they mean."""
        s = self.report.settings
        rows = [
            ("runs", s.runs, "table of training runs, one row per run"),
            ("n_col", s.n_col, "column with model size N (parameters)"),
            ("d_col", s.d_col or "(none)", "column with training tokens D"),
            ("c_col", s.c_col or "(none)", "column with training compute C (FLOP)"),
            ("loss_col", s.loss_col, "column with the final loss (nats/token)"),
            ("exclude_top_loss", str(s.exclude_top_loss), "highest-loss runs left out of every fit"),
            ("bootstrap", str(s.bootstrap), "bootstrap resamples of the runs for the intervals"),
            ("seed", str(s.seed), "seed of the bootstrap"),
            ("level", f"{s.level:g}", "coverage of the percentile intervals"),
            ("sep", repr(s.sep) if s.sep else "(recognised)", "field delimiter of the runs table"),
            ("huber_delta", f"{s.huber_delta:g}", "Huber threshold of the parametric fit, on residuals of ln(loss)"),
            ("max_iter", str(s.max_iter), "Newton iterations per start of the parametric fit"),
            ("fix_alpha", "(fitted)" if s.fix_alpha is None else f"{s.fix_alpha:g}", "alpha held at this value"),
            ("fix_beta", "(fitted)" if s.fix_beta is None else f"{s.fix_beta:g}", "beta held at this value"),
            ("isoflop_method", s.isoflop_method, "how the IsoFLOP fit reads each budget's optimum"),
            ("loss_noise", "(none)" if s.loss_noise is None else f"{s.loss_noise:g}",
             "seed-to-seed sd of the loss (nats/token) the IsoFLOP bootstrap adds"),
        ]
        return markdown_table(pd.DataFrame(rows, columns=["Setting", "Value", "Meaning"]))

    def data(self) -> Markdown:
        """Range of every quantity over the runs: minimum, median and maximum, with units."""
        runs = self.report.runs
        quantities = [
            ("Model size N", "parameters", runs.N, count),
            ("Training tokens D", "tokens", runs.D, count),
            ("Training compute C = 6ND", "FLOP", runs.C, number),
            ("Tokens per parameter D/N", "tokens/parameter", runs.D / runs.N, number),
            ("Final loss", "nats/token", runs.loss, number),
        ]
        frame = pd.DataFrame([
            {"Quantity": name, "Unit": unit, "Minimum": show(float(np.min(values))),
             "Median": show(float(np.median(values))), "Maximum": show(float(np.max(values)))}
            for name, unit, values, show in quantities
        ])
        return numbers_table(frame, text_columns=("Quantity", "Unit"))

    def budgets(self) -> Markdown:
        """Each detected FLOP budget: its runs, the IsoFLOP optimum, or why it was left out.

        The status of every row is that budget's own; when the fit was declined before judging
        single budgets, the rows say so and the sentence above gives the reason once.
        """
        fits = self.report.fits
        budgets = fits.isoflop_budgets()
        if budgets is not None:
            used = ["yes" if included else f"no: {reason}"
                    for included, reason in zip(budgets["included"], budgets["reason"], strict=True)]
        else:
            centres, labels = fits.detected_budgets
            budgets = pd.DataFrame({
                "C": centres if centres.size else [math.nan],
                "n_runs": [int((labels == k).sum()) for k in range(centres.size)] or [0],
                "N_opt": math.nan, "D_opt": math.nan, "loss_opt": math.nan,
            })
            used = ["not assessed: the IsoFLOP fit was declined (see above)"] * len(budgets)
        frame = pd.DataFrame({
            "Budget C (FLOP)": [number(c) if math.isfinite(c) else "none found" for c in budgets["C"]],
            "Runs": budgets["n_runs"].astype(int).astype(str),
            "N_opt (parameters)": [count(v) for v in budgets["N_opt"]],
            "D_opt (tokens)": [count(v) for v in budgets["D_opt"]],
            "Loss at N_opt": [number(v) for v in budgets["loss_opt"]],
            "Used": used,
        })
        return numbers_table(frame, text_columns=("Used",))

    def parameters(self) -> Markdown:
        """Fitted parameters and exponents with their bootstrap intervals."""
        fit = self.report.parametric.result
        values = {**fit.params, **fit.exponents} if fit is not None else {}
        ci = fit.ci if fit is not None else {}
        frame = pd.DataFrame([
            {"Parameter": symbol, "Meaning": meaning, "Estimate": number(values.get(key, math.nan)),
             f"{self.report.level_percent} interval": interval(ci.get(key))}
            for symbol, meaning, key in PARAMETER_ROWS
        ])
        return numbers_table(frame, text_columns=("Parameter", "Meaning"))

    def exponents(self) -> Markdown:
        """N_opt ∝ C^a and D_opt ∝ C^b from each approach, with intervals or the reason for none."""
        report = self.report
        approaches = [
            ("Parametric loss (Approach 3)", report.parametric),
            ("IsoFLOP profiles (Approach 2)", report.isoflop),
            ("Lower envelope (Approach 1 analogue)", report.envelope),
        ]
        records = []
        for name, outcome in approaches:
            fit = outcome.result
            exponents = fit.exponents if fit is not None else {}
            ci = fit.ci if fit is not None else {}
            records.append({
                "Approach": name,
                "a": number(exponents.get("a", math.nan)),
                f"a, {report.level_percent} interval": interval(ci.get("a")),
                "b": number(exponents.get("b", math.nan)),
                f"b, {report.level_percent} interval": interval(ci.get("b")),
                "Note": "" if fit is not None else f"declined: {short_reason(outcome.reason or '')}",
            })
        return numbers_table(pd.DataFrame(records), text_columns=("Approach", "Note"))

    def allocation(self) -> Markdown:
        """Compute-optimal N, D, tokens per parameter and loss per budget, from the parametric fit.

        Budgets beyond the largest run (or below the smallest) are marked as extrapolated.
        """
        report = self.report
        fit = report.parametric.result
        if fit is None:
            return Markdown(f"No allocation table: the parametric fit was declined ({report.parametric.reason}).")
        budgets = report.fits.allocation_budgets()
        n_opt = np.asarray(fit.n_opt(budgets), dtype=float)
        d_opt = np.asarray(fit.d_opt(budgets), dtype=float)
        low, high = float(report.runs.C.min()), float(report.runs.C.max())
        frame = pd.DataFrame({
            "Budget C (FLOP)": [power_of_ten(c) for c in budgets],
            "N_opt (parameters)": [count(v) for v in n_opt],
            f"N_opt, {report.level_percent} interval": self._n_opt_band(fit, budgets),
            "D_opt (tokens)": [count(v) for v in d_opt],
            "Tokens per parameter": [number(v) for v in d_opt / n_opt],
            "Loss (nats/token)": [number(float(v)) for v in np.asarray(fit.loss_at_budget(budgets))],
            "Range": ["extrapolated, below the runs" if c < low
                      else "extrapolated, beyond the runs" if c > high else "within the data" for c in budgets],
        })
        return numbers_table(frame, text_columns=("Range",))

    def _n_opt_band(self, fit: ParametricLossResult, budgets: np.ndarray) -> list[str]:
        if not fit.ci:
            return [MISSING] * len(budgets)
        lo, hi = fit.n_opt_interval(budgets, level=self.report.settings.level)
        return [count_interval((float(a), float(b))) for a, b in zip(np.atleast_1d(lo), np.atleast_1d(hi), strict=True)]

    def published(self) -> Markdown:
        """This fit beside the published laws: parameters, the exponent ``a`` and the RMS residual on these runs.

        Sources are citations, which pandoc renders as author and year on the site and in the PDF.
        """
        report = self.report
        rms = report.rms_residuals()
        rows = []
        fit = report.parametric.result
        if fit is not None:
            rows.append(_law_row(THIS_FIT, {**fit.params, **fit.exponents}, rms[THIS_FIT]))
        for law in report.published.values():
            method = law.description.split(")", 1)[-1].strip()
            rows.append(_law_row(f"{method[:1].upper()}{method[1:]}|{law.source}", {**law.law.params, **law.law.exponents},
                                 rms[law.description]))
        frame = pd.DataFrame(rows)
        return markdown_table(frame, formats={"Law": law_cell}, markdown_columns=("Law",),
                              align={c: "left" if c == "Law" else "right" for c in frame.columns})

    def holdout(self) -> Markdown:
        """The held-out runs with the most compute: observed and predicted loss and the error."""
        result = self.report.fits.holdout.result
        if result is None:
            return Markdown("")
        shown = result.held_out.tail(HOLDOUT_ROWS)
        frame = pd.DataFrame({
            "N (parameters)": [count(v) for v in shown["N"]],
            "D (tokens)": [count(v) for v in shown["D"]],
            "C (FLOP)": [number(v) for v in shown["C"]],
            "Observed loss": [number(v, 4) for v in shown["loss"]],
            "Predicted loss": [number(v, 4) for v in shown["predicted"]],
            "Error": [f"{100 * v:+.2f}%" for v in shown["error"]],
        })
        return numbers_table(frame, text_columns=())
