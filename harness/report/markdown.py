"""report.md: the numbers of report.json, for people, section by section."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.report.plots import FITS_PLOT_NAME, SELECTION_PLOT_NAME

SIMULATED_BANNER = "**SIMULATED MODEL — these numbers do not describe any real model.**"
HARDEST_SHOWN = 10


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _facts_lines(report: dict[str, Any]) -> list[str]:
    per_problem = str(report["samples_per_problem"])
    if report["samples_per_problem_max"] != report["samples_per_problem"]:
        per_problem += f" (min; max {report['samples_per_problem_max']})"
    return [
        "## Run", "",
        f"- Task: `{report['task']}`", f"- Model: `{report['model']}`",
        f"- Backend: `{report['backend']}`",
        f"- Simulated model: {'**yes**' if report['simulated'] else 'no'}",
        f"- Verifier: `{report['verifier'] or 'n/a'}`",
        f"- Problems: {report['n_problems']} ({report['solved']} solved by at least one attempt)"
        + (f", {report['n_problems_excluded']} excluded" if report["n_problems_excluded"] else ""),
        f"- Samples per problem: {per_problem}", "",
    ]


def _pass_at_k_lines(report: dict[str, Any]) -> list[str]:
    lines = ["## Coverage (pass@k)", ""]
    if not report["pass_at_k"]:
        return lines + ["No attempts, so no coverage.", ""]
    lines += ["| k | pass@k |", "|---:|---:|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in report["pass_at_k"].items()]
    conventional = ", ".join(f"pass@{k} = {_fmt(v)}" for k, v in report["pass_at_k_conventional"].items())
    return lines + ["", f"Conventional: {conventional}", ""]


def _selection_lines(report: dict[str, Any]) -> list[str]:
    n = str(report["samples_per_problem"])
    return [
        "## Picking one answer vs. coverage", "",
        "| measure | value |", "|---|---:|",
        f"| pass@1 | {_fmt(report['pass_at_k'].get('1'))} |",
        f"| majority vote (over {n} samples) | {_fmt(report['majority_vote'])} |",
        f"| pass@{n} (coverage) | {_fmt(report['pass_at_k'].get(n))} |", "",
    ]


def _flaky_lines(report: dict[str, Any]) -> list[str]:
    flaky = report.get("flaky")
    if not flaky:
        return []
    strict, aside, steady = report["pass_at_k"], flaky["pass_at_k_flaky_tests_set_aside"], flaky["pass_at_k_without_flaky_problems"]
    lines = ["## Flaky tests", "",
             f"{len(flaky['flaky_problems'])} problem(s) have tests whose outcome varied when the reference solution was re-run: "
             + (", ".join(f"`{pid}`" for pid in flaky["flaky_problems"]) or "none") + ".", "",
             f"| k | strict | flaky tests set aside | without flaky problems ({flaky['n_problems_without_flaky']}) |",
             "|---:|---:|---:|---:|"]
    lines += [f"| {k} | {_fmt(strict.get(k))} | {_fmt(aside.get(k))} | {_fmt(steady.get(k))} |" for k in strict]
    if "flaky" in report.get("plots", {}):
        lines += ["", f"![effect of flaky tests]({report['plots']['flaky']})"]
    return lines + [""]


def _attempt_lines(report: dict[str, Any]) -> list[str]:
    counts = report["attempts"]
    lines = ["## Attempts", "", "| status | count |", "|---|---:|"]
    lines += [f"| {name} | {count} |" for name, count in counts.items()]
    problems = [("model_error", "model errors: the backend never answered"),
                ("error", "verifier errors"), ("timeout", "verifier timeouts")]
    for status, what in problems:
        if counts.get(status):
            # Loud on purpose: these count as failures and depress every rate above.
            lines += ["", f"**WARNING: {counts[status]} {what}; counted as failed attempts.**"]
    ratio = report["dedup_ratio"]
    lines += ["", f"Unique candidates verified: {report['unique_candidates']} "
              f"(attempts per unique candidate: {_fmt(ratio, 2)})", ""]
    return lines


def _token_lines(report: dict[str, Any]) -> list[str]:
    tokens = report["tokens"]
    wall = report["sampling_wall_s"]
    estimate = (["- **Estimated**: the imported samples had no token counts; completions are counted as "
                 "one token per 4 characters and prompts as 0, so costs from them are rough"]
                if tokens.get("estimated") else [])
    return ["## Tokens", "", *estimate,
            f"- Prompt (summed over attempts): {tokens['prompt']}",
            f"- Completion: {tokens['completion']}",
            f"- Per attempt (mean): {_fmt(tokens['per_attempt_prompt_mean'], 1)} prompt, "
            f"{_fmt(tokens['per_attempt_completion_mean'], 1)} completion",
            f"- Sampling time (measured, all invocations): {'not measured' if wall is None else f'{wall:.1f} s'}", ""]


def _cost_lines(report: dict[str, Any]) -> list[str]:
    if report["cost"] is None:
        return []
    lines = render_cost_section(report["cost"])
    if "cost_coverage" in report["plots"]:
        lines += [f"![cost against coverage]({report['plots']['cost_coverage']})", ""]
    return lines


def _hardest_lines(report: dict[str, Any]) -> list[str]:
    rows = [r for r in report["per_problem"] if not r["excluded"]]
    rows.sort(key=lambda r: (r["pass_at_1"], r["majority_correct"], r["problem_id"]))
    unsolved = sum(r["c"] == 0 for r in rows)
    lines = [f"## Hardest problems ({unsolved} unsolved)", ""]
    if not rows:
        return lines + ["None.", ""]
    lines += ["| problem | n | c | pass@1 | majority correct |", "|---|---:|---:|---:|---:|"]
    lines += [f"| `{r['problem_id']}` | {r['n']} | {r['c']} | {_fmt(r['pass_at_1'])} | "
              f"{_fmt(r['majority_correct'])} |" for r in rows[:HARDEST_SHOWN]]
    return lines + [""]


def render_markdown(report: dict[str, Any], plot_name: str) -> str:
    """report.md: the same numbers as report.json, readable, with the plot embedded."""
    lines = [f"# Repeated sampling report: {report['run']}", ""]
    if report["simulated"]:
        lines += [SIMULATED_BANNER, ""]
    lines += _facts_lines(report)
    if report["notes"]:
        lines += ["## Notes", ""] + [f"- {note}" for note in report["notes"]] + [""]
    lines += _pass_at_k_lines(report)
    lines += [f"![coverage against samples]({plot_name})", ""]
    lines += render_statistics(report.get("statistics") or {}, FITS_PLOT_NAME, SELECTION_PLOT_NAME)
    lines += _flaky_lines(report) + _selection_lines(report) + _attempt_lines(report) + _token_lines(report)
    lines += _cost_lines(report)
    lines += _hardest_lines(report)
    return "\n".join(lines)


# ---------------------------------------------------------------- statistics


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


# ---------------------------------------------------------------- cost


def _money(value: float) -> str:
    """Dollars as the paper prints them: 0.0072, 0.13, 10.8, 39 (trailing zeros dropped)."""
    text = f"{value:.3g}" if abs(value) < 0.1 else f"{value:.2f}"  # 3 significant digits below 10 cents
    return text.rstrip("0").rstrip(".") if "." in text else text


def render_cost_table(table: Sequence[dict[str, Any]]) -> str:
    """Markdown for cost_table's rows."""
    lines = ["| model | cost per attempt (USD) | attempts | % solved | total cost (USD) |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['system']} | {_money(r['cost_per_attempt_usd'])} | {r['attempts']} | "
              f"{r['percent_solved']:.2f} | {_money(r['total_usd'])} |" for r in table]
    return "\n".join(lines) + "\n"


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${_money(value)}"


def _reach_text(reach: dict[str, Any] | None) -> str:
    if reach is None:
        return "not reached with the samples taken"
    return (f"{reach['k']} attempt{'' if reach['k'] == 1 else 's'} per problem (coverage {reach['coverage_at_k']:.4f}), "
            f"{_usd(reach['total_usd'])} in all")


def _basis_text(basis: dict[str, Any]) -> str:
    price = basis["price"]
    if "input_usd_per_mtok" in price:
        rate = f"${price['input_usd_per_mtok']:g} / ${price['output_usd_per_mtok']:g} per million input / output tokens"
    else:
        rate = f"${price['usd_per_gpu_hour']:g} per GPU-hour"
    text = f"`{basis['price_name']}` at {rate} ({price['source']}"
    text += f", {price['as_of']})" if price.get("as_of") else ")"
    if basis["kind"] == "gpu_hours":
        how = (f"measured sampling time {basis['sampling_wall_s']:.1f} s x {basis['n_gpus']} GPU(s)"
               if basis["gpu_hours_measured"] else "as configured")
        text += f" for {basis['gpu_hours']:.4g} GPU-hours ({how})"
    elif basis["kind"] == "gpu_throughput":
        text += f" for completion tokens at {basis['tokens_per_second']:g} tokens/s on {basis['n_gpus']} GPU(s)"
    return text


def render_cost_section(cost: dict[str, Any]) -> list[str]:
    """report.md lines for report_cost's section."""
    lines = ["## Cost", "", f"- Priced: {_basis_text(cost['basis'])}"]
    if cost["unavailable"]:
        lines.append(f"- **Not priced: {cost['unavailable']}**")
    else:
        lines += [f"- Total: {_usd(cost['total_usd'])} for {cost['attempts']} attempts "
                  f"({_usd(cost['per_attempt_usd'])} per attempt)",
                  f"- Per solved problem: {_usd(cost['per_solved_problem_usd'])} ({cost['solved']} solved)"]
    lines += [f"- To match {b['name']} ({100 * b['resolve_rate']:.2f}% single attempt; {b['source']}): "
              f"{_reach_text(b['to_reach'])}" for b in cost["baselines"]]
    lines += [f"- Note: {note}" for note in cost["notes"]]
    if cost["table"]:
        lines += ["", render_cost_table(cost["table"])]
    return lines + [""]
