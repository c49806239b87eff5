"""Every sentence of a generated report that depends on the runs: what the fits found, or why not."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from IPython.display import Markdown

from analysis.fit import ComputeOptimalResult, ParametricLossResult
from analysis.report.fits import EXTRAPOLATION_DECADES, THIS_FIT
from analysis.text import count, interval, latex_number, names_list, number, percent, power_of_ten, with_unit

if TYPE_CHECKING:
    from analysis.report.runtime import Report

WIDE_INTERVAL_RUNS = 30
"""Below this many fitted runs the report warns that five parameters are barely constrained."""

SINGLE_BUDGET_DEX = 0.1
"""Runs whose compute spans less than this (in log10 FLOP) are treated as a single budget."""

EXPONENT_DISAGREEMENT = 0.1
"""Without intervals, exponents ``a`` of two approaches this far apart count as disagreeing."""

ALLOCATION_RANGE_FACTOR = 10.0
"""An allocation whose tokens per parameter lie this factor outside the runs' own range is flagged."""

HOLDOUT_ERROR_CAUTION = 0.02
"""A held-out check whose mean error exceeds this fraction of the loss is flagged."""

APPROACH_NAMES = {"parametric": "the parametric fit", "isoflop": "the IsoFLOP profiles", "envelope": "the lower envelope"}


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

    def _exponents(self) -> dict[str, tuple[float, tuple[float, float] | None]]:
        """``a`` of every approach that has one: name -> (estimate, interval or None)."""
        found = {}
        for name in APPROACH_NAMES:
            fit = getattr(self.report, name).result
            if fit is not None and np.isfinite(fit.exponents["a"]):
                found[name] = (fit.exponents["a"], fit.ci.get("a"))
        return found

    def disagreements(self) -> list[str]:
        """One sentence per pair of approaches whose exponents ``a`` disagree beyond their intervals (or by more than
        :data:`EXPONENT_DISAGREEMENT` without intervals)."""
        found = self._exponents()
        names = list(found)
        level = self.report.level_percent
        sentences = []
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                (a1, ci1), (a2, ci2) = found[first], found[second]
                apart = (ci1[1] < ci2[0] or ci2[1] < ci1[0]) if ci1 and ci2 else abs(a1 - a2) > EXPONENT_DISAGREEMENT
                if apart:
                    def show(a: float, ci: tuple[float, float] | None) -> str:
                        return f"a = {number(a)}" + (f" ({level} interval {interval(ci)})" if ci else "")
                    how = "their intervals do not overlap" if ci1 and ci2 else f"more than {number(EXPONENT_DISAGREEMENT)} apart"
                    sentences.append(
                        f"**The approaches disagree.** {APPROACH_NAMES[first].capitalize()} gives {show(a1, ci1)} and "
                        f"{APPROACH_NAMES[second]} {show(a2, ci2)}: {how}, so at least one of them misdescribes these "
                        "runs, and how to split a budget between parameters and tokens depends on which you trust.")
        return sentences

    def allocation_outside_runs(self) -> str | None:
        """A sentence when the allocation's tokens per parameter lie far outside the runs' own range."""
        fit = self.report.parametric.result
        if fit is None:
            return None
        runs = self.report.fits.fitted_runs
        ratio = runs.D / runs.N
        low, high = float(ratio.min()), float(ratio.max())
        budgets = self.report.fits.allocation_budgets()
        allocated = np.asarray(fit.tokens_per_parameter(budgets), dtype=float)
        outside = (allocated < low / ALLOCATION_RANGE_FACTOR) | (allocated > high * ALLOCATION_RANGE_FACTOR)
        if not outside.any():
            return None
        worst = int(np.argmax(np.abs(np.log(allocated / np.sqrt(low * high)))))
        budget = with_unit(power_of_ten(float(budgets[worst])), "FLOP")
        return (f"**The allocation leaves the runs behind.** At {budget} the parametric "
                f"fit allocates {number(float(allocated[worst]))} tokens per parameter, while the runs span "
                f"{number(low)} to {number(high)}: the law is used where no run tested it, and such an allocation "
                "is a guess, not a recommendation.")

    def cautions(self) -> Markdown:
        """Everything a reader must know before trusting the numbers, as one warning at the top (empty if none)."""
        report = self.report
        items = self.disagreements()
        outside = self.allocation_outside_runs()
        if outside:
            items.append(outside)
        fit = report.parametric.result
        if fit is not None:
            items += [f"**The parametric fit:** {warning}." for warning in fit.warnings]
        holdout = report.fits.holdout.result
        if holdout is not None and holdout.mean_abs_error > HOLDOUT_ERROR_CAUTION:
            items.append(f"**The held-out check:** fitted to the runs below {with_unit(number(holdout.split_flop), 'FLOP')}, the law "
                         f"misses the loss of the {len(holdout.held_out)} runs above by "
                         f"{percent(100 * holdout.mean_abs_error)} on average: expect larger errors further out.")
        for name in ("isoflop", "envelope"):
            result = getattr(report, name).result
            if result is not None:
                items += [f"**{APPROACH_NAMES[name].capitalize()}:** {warning}." for warning in result.warnings]
        if not items:
            return Markdown("")
        body = "\n".join(f"- {item}" for item in items)
        return Markdown(f"**Read this first.** These runs call for care before the numbers below are used:\n\n{body}\n")

    def headline(self) -> Markdown:
        """The report's result in a few sentences: the allocation exponent by each approach, the compute-optimal
        split at the largest run's compute, and the held-out error."""
        report = self.report
        runs = report.fits.fitted_runs
        found = self._exponents()
        level = report.level_percent
        parts = [f"**{len(runs)} runs** from {count(float(runs.N.min()))} to {count(float(runs.N.max()))} parameters "
                 f"and {number(float(runs.C.min()))} to {with_unit(number(float(runs.C.max())), 'FLOP')}."]
        if found:
            described = [f"{APPROACH_NAMES[name]} a = {number(a)}" + (f" ({level} interval {interval(ci)})" if ci else "")
                         for name, (a, ci) in found.items()]
            parts.append(f"The compute-optimal model size grows as $N_{{opt}} \\propto C^a$ with {names_list(described)}.")
        else:
            parts.append("None of the three approaches could estimate how the compute-optimal size grows with compute "
                         "on these runs; the chapters say why.")
        fit = report.parametric.result
        if fit is not None:
            largest = float(runs.C.max())
            n_opt, d_opt = float(np.asarray(fit.n_opt(largest))), float(np.asarray(fit.d_opt(largest)))
            parts.append(f"At the compute of the largest run, {with_unit(number(largest), 'FLOP')}, the parametric fit's optimum is "
                         f"{count(n_opt)} parameters on {count(d_opt)} tokens ({number(d_opt / n_opt)} tokens per parameter).")
        holdout = report.fits.holdout.result
        if holdout is not None:
            parts.append(f"Fitted to the runs below {with_unit(number(holdout.split_flop), 'FLOP')}, the law predicts "
                         f"the final loss of the {len(holdout.held_out)} runs above with a mean error of "
                         f"{percent(100 * holdout.mean_abs_error)} "
                         f"(largest {percent(100 * holdout.max_abs_error)}).")
        return Markdown(" ".join(parts))

    def holdout(self) -> str:
        """What the held-out check found, or why there is none."""
        outcome = self.report.fits.holdout
        result = outcome.result
        if result is None:
            return f"There is no held-out check: {outcome.reason}."
        direction = "high" if result.mean_error > 0 else "low"
        return (f"Held out are the {len(result.held_out)} runs with at least {with_unit(number(result.split_flop), 'FLOP')} "
                f"({result.how}); the law fitted to the other {result.n_fitted} runs predicts their final loss with "
                f"a mean absolute error of {percent(100 * result.mean_abs_error)} and at most "
                f"{percent(100 * result.max_abs_error)}, on average too {direction} by "
                f"{percent(100 * abs(result.mean_error))}.")

    def isoflop_method(self) -> Markdown:
        """How this report's IsoFLOP fit reads each budget's optimum, as a clause (Markdown: it may cite)."""
        if self.report.settings.isoflop_method == "interpolation":
            return Markdown("IsoFLOP profiles, which take the lowest point of a spline through the best run at each "
                            "size in each budget, as @porian2024resolving do")
        return Markdown("IsoFLOP profiles, which fit a parabola of loss in log N at each budget and take its minimum")

    def chart_sample(self) -> str:
        """A sentence when the charts show a sample of the runs."""
        shown, total = self.report.charts.sample_size()
        if shown == total:
            return ""
        return (f"With {total:,} runs, the charts draw {shown:,} of them, chosen at random (the same ones in every "
                "chart); every number and table uses all of them.")

    def budgets(self) -> str:
        """One sentence on the FLOP budgets detected in the runs, and what the IsoFLOP fit used."""
        fits = self.report.fits
        budgets, labels = fits.detected_budgets
        in_budgets = int((labels >= 0).sum())
        if budgets.size == 0:
            found = "No FLOP budget was detected: no group of runs shares the same training compute."
        elif budgets.size == 1:
            found = (f"The runs share a single FLOP budget, {with_unit(number(float(budgets[0])), 'FLOP')} "
                     f"({in_budgets} of {len(labels)} runs).")
        else:
            found = (f"{in_budgets} of the {len(labels)} fitted runs fall into {budgets.size} FLOP budgets, "
                     f"from {number(float(budgets.min()))} to {with_unit(number(float(budgets.max())), 'FLOP')}.")
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

    def huber_delta(self) -> str:
        """The Huber threshold, e.g. ``10⁻³``."""
        delta = self.report.settings.huber_delta
        return power_of_ten(delta) if delta == 10.0 ** round(np.log10(delta)) else number(delta)

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
            f"At {with_unit(power_of_ten(budget), 'FLOP')}, {EXTRAPOLATION_DECADES} decades or more beyond the largest run, "
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
