"""Every sentence of a generated report that depends on the runs: what the fits found, or why not."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from IPython.display import Markdown

from analysis.fit import ComputeOptimalResult, ParametricLossResult
from analysis.report.fits import EXTRAPOLATION_DECADES, THIS_FIT
from analysis.text import count, latex_number, number, power_of_ten

if TYPE_CHECKING:
    from analysis.report.runtime import Report

WIDE_INTERVAL_RUNS = 30
"""Below this many fitted runs the report warns that five parameters are barely constrained."""

SINGLE_BUDGET_DEX = 0.1
"""Runs whose compute spans less than this (in log10 FLOP) are treated as a single budget."""


def converged_only(subject: str, fit: ParametricLossResult | ComputeOptimalResult, succeeded: str) -> str:
    """Sentences saying that ``subject`` (some intervals) rest only on the bootstrap refits that worked.

    Args:
        subject: what the intervals are, e.g. ``"The intervals"``.
        fit: a result with ``n_bootstrap`` and ``n_bootstrap_failed`` (resamples).
        succeeded: what a refit that worked did, e.g. ``"converged"``.
    """
    kept = fit.n_bootstrap - fit.n_bootstrap_failed
    return (
        f"{subject} therefore come only from the {kept} of {fit.n_bootstrap} bootstrap refits that "
        f"{succeeded}, and may be too narrow: refits fail most on the resamples that constrain the "
        "fit least, and those are missing from the intervals."
    )


class ReportText:
    """The sentences of one report (:class:`analysis.report.runtime.Report`)."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def budgets(self) -> str:
        """One sentence on the FLOP budgets detected in the runs, and what the IsoFLOP fit used."""
        fits = self.report.fits
        budgets, labels = fits.detected_budgets
        in_budgets = int((labels >= 0).sum())
        if budgets.size == 0:
            found = "No FLOP budget was detected: no group of runs shares the same training compute."
        elif budgets.size == 1:
            found = (f"The runs share a single FLOP budget, {number(float(budgets[0]))} FLOP "
                     f"({in_budgets} of {len(labels)} runs).")
        else:
            found = (f"{in_budgets} of the {len(labels)} fitted runs fall into {budgets.size} FLOP budgets, "
                     f"from {number(float(budgets.min()))} to {number(float(budgets.max()))} FLOP.")
        per_budget = fits.isoflop_budgets()
        if fits.isoflop.result is None:
            if per_budget is not None:
                usable = int(per_budget["included"].sum())
                return (f"{found} {usable} of them can be used (the table below gives each budget's reason), "
                        "and IsoFLOP profiles need at least two, so they are absent.")
            return f"{found} IsoFLOP profiles are therefore absent: {fits.isoflop.reason}."
        used = int(fits.isoflop.result.budgets["included"].sum())
        return (f"{found} {used} of them have enough runs, with a loss minimum inside the sizes "
                "they sampled, to enter the IsoFLOP fit.")

    def exclusion(self) -> str:
        """Which runs the fits leave out, as a sentence."""
        k = self.report.settings.exclude_top_loss
        if k == 0:
            return "All runs enter the fits."
        return (f"The {k} highest-loss runs are left out of every fit (exclude_top_loss: {k} in "
                f"report.yml), leaving {len(self.report.fits.fitted_runs)} runs.")

    def parametric_summary(self) -> Markdown:
        """The fitted law as an equation with its diagnostics, or why there is none."""
        outcome = self.report.parametric
        fit = outcome.result
        if fit is None:
            return Markdown(f"**The parametric fit was declined:** {outcome.reason}.")
        p = fit.params
        lines = [
            f"Fitted to {fit.n_points} runs, the law is",
            "",
            "$$",
            f"L(N, D) = {latex_number(p['E'])} + \\frac{{{latex_number(p['A'])}}}{{N^{{{latex_number(p['alpha'])}}}}}"
            f" + \\frac{{{latex_number(p['B'])}}}{{D^{{{latex_number(p['beta'])}}}}}",
            "$$",
            "",
            f"with N in parameters, D in tokens and L in nats/token. The optimiser started from "
            f"{fit.n_starts} points, {fit.n_best_basin} of which reached the best optimum "
            f"(mean Huber loss {number(fit.objective)}).",
        ]
        if fit.n_bootstrap:
            lines.append(f"The intervals come from {fit.n_bootstrap} bootstrap resamples (seed {fit.seed}).")
        else:
            lines.append("No bootstrap was requested (bootstrap: 0 in report.yml), so there are no intervals.")
        for warning in fit.warnings:
            lines += ["", f"**Warning:** {warning}."]
        if fit.n_bootstrap_failed:
            lines += ["", converged_only("The intervals", fit, "converged")]
        if np.ptp(np.log10(self.report.fits.fitted_runs.C)) < SINGLE_BUDGET_DEX:
            lines += [
                "",
                "**Single budget:** every run used about the same compute, so N and D are tied by "
                "C = 6ND and the fit cannot tell the size term from the data term; expect very wide "
                "intervals, and extrapolation to other budgets is guesswork.",
            ]
        if fit.n_points < WIDE_INTERVAL_RUNS:
            lines += ["", f"**Few runs:** {fit.n_points} runs barely constrain five parameters; "
                          "expect wide intervals and read the estimates as rough."]
        return Markdown("\n".join(lines))

    def approaches(self) -> Markdown:
        """What the IsoFLOP and envelope fits found, or plainly why they could not be made."""
        report = self.report
        parts = []
        absent = {}
        for name, outcome in (("IsoFLOP", report.isoflop), ("lower-envelope", report.envelope)):
            if outcome.result is not None:
                exponents = outcome.result.exponents
                parts.append(f"The {name} fit gives $N_{{opt}} \\propto C^{{{number(exponents['a'])}}}$ and "
                             f"$D_{{opt}} \\propto C^{{{number(exponents['b'])}}}$.")
                if outcome.result.n_bootstrap_failed:
                    parts.append(converged_only("Its intervals", outcome.result, "found two usable budgets"))
            else:
                absent[name] = outcome.reason
        if len(absent) == 2 and len(set(absent.values())) == 1:
            parts.append(f"The IsoFLOP and lower-envelope fits are absent: {absent['IsoFLOP']}.")
        else:
            parts += [f"The {name} fit is absent: {reason}." for name, reason in absent.items()]
        if "IsoFLOP" in absent:
            parts.append(
                "IsoFLOP profiles need several training budgets, each with models of different "
                "sizes trained at that same compute; "
                + ("the allocation below therefore rests on the parametric fit alone." if report.parametric.available
                   else "with the parametric fit declined too, there is no allocation below.")
            )
        return Markdown(" ".join(parts))

    def largest_budget(self) -> str:
        """N_opt and D_opt at the largest budget of the allocation table, as a sentence."""
        fit = self.report.parametric.result
        if fit is None:
            return "Without a parametric fit there is no compute-optimal allocation to extrapolate."
        budget = float(self.report.fits.allocation_budgets()[-1])
        n_opt, d_opt = float(np.asarray(fit.n_opt(budget))), float(np.asarray(fit.d_opt(budget)))
        return (
            f"At {power_of_ten(budget)} FLOP, {EXTRAPOLATION_DECADES} decades or more beyond the largest run, "
            f"the fit would train a model of {count(n_opt)} parameters on {count(d_opt)} tokens "
            f"({number(d_opt / n_opt)} tokens per parameter)."
        )

    def residuals(self) -> str:
        """Spread of log-loss residuals of the parametric fit over the fitted runs."""
        report = self.report
        fit = report.parametric.result
        if fit is None:
            return f"No residuals: the parametric fit was declined ({report.parametric.reason})."
        runs = report.fits.fitted_runs
        residuals = np.log(runs.loss) - np.log(np.asarray(fit.loss(runs.N, runs.D), dtype=float))
        worst = int(np.argmax(np.abs(residuals)))
        rms = float(np.sqrt(np.mean(residuals**2)))
        return (
            f"Over the {len(runs)} fitted runs, log-loss residuals have a root mean square of "
            f"{number(rms)} (a typical relative error of {number(100 * float(np.expm1(rms)), 2)}%); the largest, "
            f"{number(float(residuals[worst]), 2)}, is at {runs.labels[worst]}."
        )

    def published(self) -> str:
        """Which law describes these runs best, by the RMS of the log-loss residuals."""
        report = self.report
        rms = report.rms_residuals()
        names = {label: "this report's fit" if label == THIS_FIT else label for label in rms.index}
        best = str(rms.idxmin())
        others = "; ".join(f"{names[label]}, {number(value)}" for label, value in rms.items() if label != best)
        text = (f"On these runs the lowest RMS residual is that of {names[best]}, "
                f"{number(float(rms[best]))} (others: {others}).")
        if not report.parametric.available:
            text += f" This report has no fit of its own to compare: {report.parametric.reason}."
        return text
