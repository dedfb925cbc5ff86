"""A run's report: report.json (every number), report.md (for people) and its PNG plots.

Everything here is a function of a RunSummary alone, so a report can be rebuilt from an
export without the store. Attempts that produced no answer or hit a model error stay in n:
dropping them would inflate coverage exactly when the backend misbehaves.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.records import VerdictStatus
from harness.report.outcomes import AttemptOutcome, ProblemOutcome, RunSummary
from harness.report.passk import conventional_ks, k_grid, mean_pass_at_ks
from harness.report.plots_extra import (
    COST_PLOT_NAME,
    FITS_PLOT_NAME,
    FLAKY_PLOT_NAME,
    SELECTION_PLOT_NAME,
    cost_coverage_figure,
    coverage_fits_figure,
    flaky_figure,
    selection_figure,
)
from harness.report.cost import render_cost_section, report_cost
from harness.report.stats import render_statistics
from harness.select import majority_vote

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SIMULATED_BANNER = "**SIMULATED MODEL — these numbers do not describe any real model.**"
PLOT_NAME = "coverage.png"
HARDEST_SHOWN = 10
# Statuses that mean no candidate reached a verifier, so they cannot have been deduplicated.
_NO_CANDIDATE = (VerdictStatus.NO_ANSWER, VerdictStatus.MODEL_ERROR)


# ---------------------------------------------------------------- building the numbers


def _correct_class_key(problem: ProblemOutcome, notes: list[str]) -> str | None:
    """The class majority vote must pick to be right: the key the passed attempts share."""
    keys = [a.class_key for a in problem.attempts if a.passed and a.class_key is not None]
    if len(set(keys)) > 1:
        # The producer promises one class for correct answers; say so when it breaks that.
        notes.append(
            f"problem {problem.problem_id}: passed attempts carry {len(set(keys))} different "
            f"class keys; majority vote counted only {keys[0]!r} as correct"
        )
    return keys[0] if keys else None


def _problem_row(problem: ProblemOutcome, notes: list[str]) -> dict[str, Any]:
    if problem.n == 0:
        return {"problem_id": problem.problem_id, "n": 0, "c": 0, "pass_at_1": None,
                "majority_correct": None, "excluded": True}
    correct_key = _correct_class_key(problem, notes)
    majority = majority_vote([a.class_key for a in problem.attempts], correct_key)
    return {"problem_id": problem.problem_id, "n": problem.n, "c": problem.c,
            "pass_at_1": problem.c / problem.n, "majority_correct": float(majority),
            "excluded": False}


def _coverage(measured: list[ProblemOutcome]) -> tuple[dict[str, float], dict[str, float]]:
    """pass@k on the power-of-two grid and at the conventional ks, k <= the smallest n."""
    if not measured:
        return {}, {}
    ns = [p.n for p in measured]
    cs = [p.c for p in measured]
    grid = k_grid(min(ns))
    conventional = conventional_ks(min(ns))
    values = dict(zip(grid + conventional, mean_pass_at_ks(ns, cs, grid + conventional)))
    return ({str(k): values[k] for k in grid}, {str(k): values[k] for k in conventional})


def _grid_coverage(ns: list[int], cs: list[int]) -> dict[str, float]:
    grid = k_grid(min(ns))
    return dict(zip(map(str, grid), mean_pass_at_ks(ns, cs, grid)))


def _flaky_section(measured: list[ProblemOutcome]) -> dict[str, Any] | None:
    """Coverage strictly graded, with flaky tests set aside, and without flaky problems at all."""
    graded = any(a.lenient_passed is not None for p in measured for a in p.attempts)
    if not measured or not (graded or any(p.flaky for p in measured)):
        return None
    lenient_cs = [sum(a.passed if a.lenient_passed is None else a.lenient_passed for a in p.attempts) for p in measured]
    steady = [p for p in measured if not p.flaky]
    return {
        "flaky_problems": [p.problem_id for p in measured if p.flaky],
        "pass_at_k_flaky_tests_set_aside": _grid_coverage([p.n for p in measured], lenient_cs),
        "n_problems_without_flaky": len(steady),
        "pass_at_k_without_flaky_problems": _grid_coverage([p.n for p in steady], [p.c for p in steady]) if steady else {},
    }


def _attempt_counts(attempts: list[AttemptOutcome]) -> dict[str, int]:
    """Totals, then one count per VerdictStatus (zeros included, so errors are never absent)."""
    counts: dict[str, int] = {"total": len(attempts)}
    counts["not_passed"] = sum(not a.passed for a in attempts)
    for status in VerdictStatus:
        counts[status.value] = sum(a.status is status for a in attempts)
    return counts


def _dedup_ratio(counts: dict[str, int], unique_candidates: int) -> float | None:
    with_candidate = counts["total"] - sum(counts[s.value] for s in _NO_CANDIDATE)
    return with_candidate / unique_candidates if unique_candidates > 0 else None


def _tokens(attempts: list[AttemptOutcome], estimated: bool) -> dict[str, Any]:
    prompt, completion = sum(a.prompt_tokens for a in attempts), sum(a.completion_tokens for a in attempts)
    return {
        "prompt": prompt,
        "completion": completion,
        "per_attempt_prompt_mean": prompt / len(attempts) if attempts else None,
        "per_attempt_completion_mean": completion / len(attempts) if attempts else None,
        "estimated": estimated,
    }


def _cost(summary: RunSummary, measured: list[ProblemOutcome], notes: list[str]) -> dict[str, Any] | None:
    """The cost section when the run has cost settings; a failure costs the section, never the report."""
    if summary.cost is None:
        return None
    try:
        section = report_cost(measured, summary.model, summary.cost, summary.sampling_wall_s)
        json.dumps(section, allow_nan=False)  # the report is strict JSON
    except (ValueError, ArithmeticError) as exc:
        notes.append(f"cost section left out: {exc}")
        return None
    return section


def _plots(report: dict[str, Any]) -> dict[str, str]:
    """Plot name -> file name, for the plots this report has data for."""
    plots = {"coverage": PLOT_NAME}
    if report["statistics"]:
        plots |= {"coverage_fits": FITS_PLOT_NAME, "selection": SELECTION_PLOT_NAME}
    cost = report["cost"]
    if cost is not None and cost["per_attempt_usd"] is not None and cost["by_k"]:
        plots["cost_coverage"] = COST_PLOT_NAME
    if report["flaky"] and report["pass_at_k"]:
        plots["flaky"] = FLAKY_PLOT_NAME
    return plots


def _sample_count_notes(problems: list[ProblemOutcome], measured: list[ProblemOutcome]) -> list[str]:
    notes: list[str] = []
    excluded = [p.problem_id for p in problems if p.n == 0]
    if excluded:
        notes.append(f"{len(excluded)} problem(s) with no attempts are listed but excluded "
                     f"from every rate: {', '.join(excluded[:20])}{' ...' if len(excluded) > 20 else ''}")
    ns = sorted({p.n for p in measured})
    if len(ns) > 1:
        notes.append(f"problems have unequal sample counts ({ns[0]} to {ns[-1]}); "
                     f"pass@k is reported only up to k = {ns[0]}, the smallest n")
    return notes


def build_report(summary: RunSummary) -> dict[str, Any]:
    """Every number of the report, as a JSON-able dict."""
    measured = [p for p in summary.problems if p.n > 0]
    attempts = [a for p in measured for a in p.attempts]
    notes = _sample_count_notes(summary.problems, measured) + summary.backend_notes
    rows = [_problem_row(p, notes) for p in summary.problems]
    pass_at_k, conventional = _coverage(measured)
    counts = _attempt_counts(attempts)
    majorities = [r["majority_correct"] for r in rows if not r["excluded"]]
    report = {
        "run": summary.run_name, "task": summary.task, "model": summary.model,
        "backend": summary.backend, "simulated": summary.simulated, "verifier": summary.verifier,
        "n_problems": len(measured),
        "n_problems_excluded": len(summary.problems) - len(measured),
        "samples_per_problem": min((p.n for p in measured), default=0),
        "samples_per_problem_max": max((p.n for p in measured), default=0),
        "solved": sum(p.c > 0 for p in measured),
        "pass_at_k": pass_at_k,
        "pass_at_k_conventional": conventional,
        "majority_vote": sum(majorities) / len(majorities) if majorities else None,
        "attempts": counts,
        "unique_candidates": summary.unique_candidates,
        "dedup_ratio": _dedup_ratio(counts, summary.unique_candidates),
        "tokens": _tokens(attempts, summary.tokens_estimated),
        "sampling_wall_s": summary.sampling_wall_s,
        "backend_notes": summary.backend_notes,
        "cost": _cost(summary, measured, notes),
        "notes": notes,
        "flaky": _flaky_section(measured),
        "statistics": _statistics(measured, notes),
        "per_problem": rows,
    }
    return report | {"plots": _plots(report)}


def _statistics(measured: list[ProblemOutcome], notes: list[str]) -> dict[str, Any]:
    """Bands, fits and selection precision; a failure here costs the section, never the report."""
    from harness.report.stats import report_statistics  # lazy: scipy.optimize is slow to import

    try:
        stats = report_statistics(measured)
        json.dumps(stats, allow_nan=False)  # the report is strict JSON
    except (ValueError, FloatingPointError, ArithmeticError) as exc:
        notes.append(f"statistics section left out: {exc}")
        return {}
    return stats


# ---------------------------------------------------------------- markdown


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


# ---------------------------------------------------------------- plot


def coverage_figure(report: dict[str, Any]) -> Figure:
    """Coverage against k on a log2 axis, majority vote as a dashed line."""
    import matplotlib  # lazy: reports are optional and matplotlib is slow to import

    matplotlib.use("Agg")  # headless: runs on machines without a display
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    fig = Figure(figsize=(7, 4.5))  # a bare Figure keeps no global pyplot state
    ax = fig.subplots()
    ks = [int(k) for k in report["pass_at_k"]]
    if ks:
        ax.plot(ks, list(report["pass_at_k"].values()), marker="o", label="coverage (pass@k)", clip_on=False)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, labels=[str(k) for k in ks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(min(ks) / 1.3, max(ks) * 1.3)
    else:
        ax.text(0.5, 0.5, "no attempts", ha="center", va="center", transform=ax.transAxes)
    if report["majority_vote"] is not None:
        ax.axhline(report["majority_vote"], linestyle="--", color="C1",
                   label=f"majority vote ({report['majority_vote']:.3f})")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("samples per problem (k)")
    ax.set_ylabel("coverage")
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{report['run']}" + (" (simulated model)" if report["simulated"] else ""))
    if ks or report["majority_vote"] is not None:
        ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_coverage(report: dict[str, Any], path: Path) -> None:
    """The coverage plot as a PNG at 150 dpi."""
    # format given: write_report passes a temp name without a .png suffix
    coverage_figure(report).savefig(path, dpi=150, format="png")


# ---------------------------------------------------------------- files


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """write(tmp) to a temp file beside path, then rename: readers never see half a file."""
    # A fresh name (not mkstemp, whose 0600 mode would survive the rename) in the same dir,
    # so os.replace is a same-filesystem rename.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_FIGURES: dict[str, tuple[str, Callable[[dict[str, Any]], Figure]]] = {
    # report["plots"] name -> (key in write_report's result, figure)
    "coverage": ("plot", coverage_figure),
    "coverage_fits": ("fits_plot", coverage_fits_figure),
    "selection": ("selection_plot", selection_figure),
    "cost_coverage": ("cost_plot", cost_coverage_figure),
    "flaky": ("flaky_plot", flaky_figure),
}


def write_report(summary: RunSummary, out_dir: Path) -> dict[str, Path]:
    """Write report.json, report.md and every plot report["plots"] lists into out_dir; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(summary)
    paths = {"json": out_dir / "report.json", "markdown": out_dir / "report.md"}
    text_json = json.dumps(report, indent=2, allow_nan=False) + "\n"
    text_md = render_markdown(report, PLOT_NAME)
    _write_atomically(paths["json"], lambda tmp: tmp.write_text(text_json, encoding="utf-8"))
    _write_atomically(paths["markdown"], lambda tmp: tmp.write_text(text_md, encoding="utf-8"))
    _write_atomically(out_dir / PLOT_NAME, lambda tmp: plot_coverage(report, tmp))
    paths["plot"] = out_dir / PLOT_NAME
    for name, file_name in report["plots"].items():
        if name == "coverage":
            continue  # written above through plot_coverage
        key, figure = _FIGURES[name]
        paths[key] = out_dir / file_name
        _write_atomically(paths[key], lambda tmp, figure=figure: figure(report).savefig(tmp, dpi=150, format="png"))
    return paths
