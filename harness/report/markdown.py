"""report.md: the numbers of report.json, for people."""

from __future__ import annotations

from typing import Any


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _fit_lines(stats: dict[str, Any]) -> list[str]:
    power, beta = stats["power_law"], stats["beta_binomial"]
    lines = ["| k | power law | beta-binomial |", "|---:|---:|---:|"]
    for k, value in beta["predicted"].items():
        extrapolated = " (extrapolated)" if int(k) in stats["extrapolated_ks"] else ""
        lines.append(f"| {k}{extrapolated} | {_pct(power.get('predicted', {}).get(k))} | {_pct(value)} |")
    power_text = (f"a = {power['a']:.4f}, b = {power['b']:.4f}, R² (log coverage) = {_pct(power['r2'])}"
                  if "error" not in power else f"not fitted: {power['error']}")
    beta_text = (f"alpha = {beta['alpha']:.4f}, beta = {beta['beta']:.4f}"
                 + (" (**at a search bound: degenerate fit**)" if beta["at_bound"] else ""))
    return [f"- Power law log C(k) = a k^b: {power_text}", f"- Beta-binomial: {beta_text}", ""] + lines + [""]


def _check_lines(check: dict[str, Any] | None) -> list[str]:
    if check is None:
        return ["Too few samples per problem for an extrapolation check.", ""]
    lines = [f"Both models fitted on the first {check['fit_on_first']} samples of every problem, "
             "against the curve from all of them (k beyond the fit only):", ""]
    for name in ("beta_binomial", "power_law"):
        err = check[f"{name}_errors"]
        if err is not None:
            lines.append(f"- {name.replace('_', '-')}: max |error| {err['max_abs_error']:.4f}, "
                         f"at the largest k {err['error_at_largest_k']:+.4f}")
    return lines + [""]


def render_statistics(stats: dict[str, Any], fits_plot: str, selection_plot: str) -> list[str]:
    """report.md lines for report_statistics' section (empty when there is none)."""
    if not stats:
        return []
    band, sel = stats["coverage_band"], stats["selection"]
    lines = ["## Coverage band and scaling fits", "",
             f"{round(100 * band['level'])}% band from {band['n_boot']} resamples of the problems: "
             + ", ".join(f"k={k}: [{lo:.3f}, {hi:.3f}]" for k, lo, hi in zip(band["ks"], band["lo"], band["hi"])),
             ""] + _fit_lines(stats) + _check_lines(stats["extrapolation_check"])
    lines += [f"![coverage with band and fits]({fits_plot})", "",
              f"## Selection without a verifier against k (mean over {sel['n_subsets']} random subsets)", "",
              ] + _selection_table(sel)
    if sel.get("scores_note"):
        lines += ["", f"Reward-model scores on {sel['scored_attempts']} of {sel['attempts']} attempts; {sel['scores_note']}."]
    return lines + ["", f"![selection against coverage]({selection_plot})", ""]


def _selection_table(sel: dict[str, Any]) -> list[str]:
    """Coverage, majority vote and, where there are scores, the reward-model columns, per k."""
    columns = [("coverage", "coverage"), ("majority vote", "majority_vote"),
               ("best of k (RM)", "best_of_k"), ("weighted vote (RM)", "weighted_vote")]
    shown = [(title, key) for title, key in columns if sel.get(key) is not None]
    lines = ["| k | " + " | ".join(title for title, _ in shown) + " |", "|---:|" + "---:|" * len(shown)]
    for i, k in enumerate(sel["ks"]):
        lines.append(f"| {k} | " + " | ".join(f"{sel[key][i]:.4f}" for _, key in shown) + " |")
    return lines
