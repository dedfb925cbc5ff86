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

from harness.outcomes import AttemptOutcome, ProblemOutcome, RunSummary
from harness.records import VerdictStatus
from harness.report.cost import report_cost
from harness.report.markdown import render_markdown
from harness.report.passk import conventional_ks, k_grid, mean_pass_at_ks
from harness.report.plots import (
    COST_PLOT_NAME,
    FITS_PLOT_NAME,
    FLAKY_PLOT_NAME,
    PLOT_NAME,
    SELECTION_PLOT_NAME,
    cost_coverage_figure,
    coverage_figure,
    coverage_fits_figure,
    flaky_figure,
    plot_coverage,
    selection_figure,
)
from harness.select import majority_vote

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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


def _stopped_early_notes(stopped: dict[str, int]) -> list[str]:
    if not stopped:
        return []
    listed = ", ".join(f"{pid} ({n} samples)" for pid, n in sorted(stopped.items())[:20])
    return [f"{len(stopped)} problem(s) stopped sampling early, once they had sampling.stop_after_solutions verified "
            f"solutions: {listed}{' ...' if len(stopped) > 20 else ''}. pass@k beyond a problem's sample count is "
            "not measured for it"]


def build_report(summary: RunSummary) -> dict[str, Any]:
    """Every number of the report, as a JSON-able dict."""
    measured = [p for p in summary.problems if p.n > 0]
    attempts = [a for p in measured for a in p.attempts]
    notes = _stopped_early_notes(summary.stopped_early) + _sample_count_notes(summary.problems, measured) + summary.backend_notes
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
        "stopped_early": summary.stopped_early,
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
