"""The selection section: each selector's picked patch graded with the hidden tests, against a
random pick and the oracle (some candidate passes), with bootstrap intervals over instances.

This is the only place grades meet selection, and only after every pick was made. Grades are
per (instance, attempt index): passed or not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.report.selection_curve import selection_curve
from harness.selection.normalize import NO_OP_KEY, vote_key
from harness.selection.records import Pool, Selection

SELECTION_EVAL_PLOT = "selection_k.png"
Grades = Mapping[str, Mapping[int, bool]]


def _per_instance(pools: Sequence[Pool], grades: Grades) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Instances with a candidate; per instance the random-pick expectation and the oracle."""
    ids, rand, oracle = [], [], []
    for pool in pools:
        nonempty = [c.index for c in pool.candidates if c.patch.strip()]
        if not nonempty:
            continue
        passed = [bool(grades.get(pool.instance.instance_id, {}).get(i, False)) for i in nonempty]
        ids.append(pool.instance.instance_id)
        rand.append(sum(passed) / len(passed))
        oracle.append(float(any(passed)))
    return ids, np.array(rand), np.array(oracle)


def _gap(sel: np.ndarray, rand: np.ndarray, oracle: np.ndarray) -> float | None:
    gap = oracle.mean() - rand.mean()
    return None if gap <= 1e-12 else float((sel.mean() - rand.mean()) / gap)


def _interval(values: list[float]) -> list[float] | None:
    clean = [v for v in values if v is not None]
    return None if not clean else [float(np.percentile(clean, 2.5)), float(np.percentile(clean, 97.5))]


def selection_section(pools: Sequence[Pool], grades: Grades, selections: Mapping[str, Sequence[Selection]],
                      costs: Mapping[str, dict[str, Any]] | None = None, n_boot: int = 1000,
                      seed: int = 0) -> dict[str, Any]:
    """report.json's `selection`: per selector accuracy, random, oracle, gap closed, intervals, cost."""
    ids, rand, oracle = _per_instance(pools, grades)
    without = sorted(p.instance.instance_id for p in pools if not any(c.patch.strip() for c in p.candidates))
    rng = np.random.default_rng(seed)
    boots = rng.integers(0, len(ids), size=(n_boot, len(ids))) if ids else np.zeros((0, 0), dtype=int)
    selectors: dict[str, Any] = {}
    for name, chosen in selections.items():
        picked = {s.instance_id: s.selected for s in chosen}
        sel = np.array([float(grades.get(i, {}).get(picked.get(i), False)) if picked.get(i) is not None else 0.0
                        for i in ids])
        row: dict[str, Any] = {"accuracy": float(sel.mean()) if ids else None, "gap_closed": _gap(sel, rand, oracle)
                               if ids else None}
        if ids:
            row["accuracy_ci95"] = _interval([float(sel[b].mean()) for b in boots])
            row["gap_closed_ci95"] = _interval([_gap(sel[b], rand[b], oracle[b]) for b in boots])
            row["minus_random_ci95"] = _interval([float(sel[b].mean() - rand[b].mean()) for b in boots])
        if costs and name in costs:
            row["cost"] = costs[name]
        selectors[name] = row
    return {
        "instances": len(pools), "instances_with_candidates": len(ids), "instances_without_candidates": without,
        "random": float(rand.mean()) if ids else None, "oracle": float(oracle.mean()) if ids else None,
        "random_ci95": _interval([float(rand[b].mean()) for b in boots]) if ids else None,
        "oracle_ci95": _interval([float(oracle[b].mean()) for b in boots]) if ids else None,
        "bootstrap": {"resamples": n_boot, "over": "instances with a candidate", "seed": seed},
        "selectors": selectors,
        "graded_by": "the hidden tests, after selection (selectors never saw them)",
    }


def ungraded_section(pools: Sequence[Pool], selections: Mapping[str, Sequence[Selection]],
                     costs: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The selection section without grades (a submission): what was picked, what it cost, who had nothing."""
    without = sorted(p.instance.instance_id for p in pools if not any(c.patch.strip() for c in p.candidates))
    selectors = {name: {"selected": sum(s.selected is not None for s in chosen), **({"cost": costs[name]}
                        if costs and name in costs else {})} for name, chosen in selections.items()}
    return {"instances": len(pools), "instances_with_candidates": len(pools) - len(without),
            "instances_without_candidates": without, "selectors": selectors,
            "graded_by": None, "note": "not graded: no verdicts given (--grades); accuracy needs the hidden tests"}


def vote_curve(pools: Sequence[Pool], grades: Grades, n_subsets: int = 200) -> dict[str, Any] | None:
    """Majority vote over normalized patches against k, beside coverage (random k-subsets), over the
    same instances and candidates as the section: at k=1 both equal the random pick's expectation."""
    problems = []  # as the section counts: instances with a candidate, their non-empty candidates
    for pool in pools:
        got = grades.get(pool.instance.instance_id, {})
        # a no-op patch (scratch files only) never votes here; the selector lets it vote only when alone,
        # and such patches are almost never right (1 of 335 in the Lite pools), so the curves agree
        problems.append([(None if vote_key(c.patch) == NO_OP_KEY else vote_key(c.patch), bool(got.get(c.index, False)),
                          c.score) for c in pool.candidates if c.patch.strip()])
    problems = [p for p in problems if p]
    if not problems:
        return None
    curve = selection_curve(problems, n_subsets=n_subsets, weighted_vote=False)
    return curve.to_dict()


def _render_ungraded(section: dict[str, Any]) -> list[str]:
    lines = ["## Selection", "", f"{section['instances_with_candidates']} of {section['instances']} instances have a "
             f"candidate; {section['note']}.", "", "| selector | instances selected | tests run | container s | tokens |",
             "|---|---|---|---|---|"]
    for name, row in section["selectors"].items():
        cost = row.get("cost", {})
        lines.append(f"| {name} | {row['selected']} | {cost.get('test_executions', 0)} | {cost.get('container_s', 0.0):.0f} | "
                     f"{cost.get('prompt_tokens', 0) + cost.get('completion_tokens', 0)} |")
    return lines


def render_selection(section: dict[str, Any], plot_name: str | None) -> list[str]:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    def ci(pair: list[float] | None, scale: float = 100) -> str:
        return "" if not pair else f" [{scale * pair[0]:.1f}, {scale * pair[1]:.1f}]"

    if section.get("graded_by") is None:
        return _tail(section, _render_ungraded(section), None)
    lines = ["## Selection", "",
             f"{section['instances_with_candidates']} of {section['instances']} instances have a candidate; "
             f"graded by {section['graded_by']}. Random pick {pct(section['random'])}{ci(section['random_ci95'])}, "
             f"oracle (coverage) {pct(section['oracle'])}{ci(section['oracle_ci95'])}; 95% bootstrap intervals "
             f"over instances.", "",
             "| selector | selected accuracy | minus random (points) | gap closed | tests run | container s | tokens |",
             "|---|---|---|---|---|---|---|"]
    for name, row in section["selectors"].items():
        cost = row.get("cost", {})
        gap = "n/a" if row["gap_closed"] is None else f"{row['gap_closed']:.2f}{ci(row.get('gap_closed_ci95'), 1)}"
        lines.append(f"| {name} | {pct(row['accuracy'])}{ci(row.get('accuracy_ci95'))} | "
                     f"{ci(row.get('minus_random_ci95')).strip() or 'n/a'} | {gap} | {cost.get('test_executions', 0)} | "
                     f"{cost.get('container_s', 0.0):.0f} | {cost.get('prompt_tokens', 0) + cost.get('completion_tokens', 0)} |")
    return _tail(section, lines, plot_name)


def _tail(section: dict[str, Any], lines: list[str], plot_name: str | None) -> list[str]:
    if section.get("attempts_simulated"):
        lines += ["", "The candidate patches were made by the SIMULATED model (not a real one): these are not a "
                  "real model's numbers."]
    if section.get("simulated_model_in"):
        lines += ["", "The SIMULATED model (not a real one) wrote the tests or chose in: "
                  + ", ".join(section["simulated_model_in"])]
    if section["instances_without_candidates"]:
        lines += ["", "No candidate (no line in predictions.jsonl): " + ", ".join(section["instances_without_candidates"])]
    if plot_name:
        lines += ["", f"![selected accuracy against k]({plot_name})"]
    return lines + [""]


def plot_vote_curve(curve: dict[str, Any], path: Path, title: str, random_pick: float | None = None) -> None:
    import matplotlib  # lazy: slow to import

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    ax.plot(curve["ks"], curve["coverage"], marker="o", label="coverage (oracle)")
    ax.plot(curve["ks"], curve["majority_vote"], marker="s", label="majority vote (normalized patches)")
    if random_pick is not None:  # a random pick's expected accuracy does not depend on k
        ax.axhline(random_pick, color="grey", linestyle="--", label="random pick (expected)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(curve["ks"], labels=[str(k) for k in curve["ks"]])
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("candidates per instance (k)")
    ax.set_ylabel("share of instances")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def write_selection_report(pools: Sequence[Pool], grades: Grades | None, results: Mapping[str, Sequence[Selection]],
                           costs: Mapping[str, dict[str, Any]], out: Path, title: str,
                           predictions_from: str, attempts_simulated: bool = False) -> dict[str, Path]:
    """report.json (its `selection` section), report.md and, with grades, the plot of selected accuracy
    against k. Without grades (a submission) the section says what was picked and what it cost."""
    import json  # noqa: PLC0415

    section = selection_section(pools, grades, results, costs) if grades is not None else ungraded_section(
        pools, results, costs)
    section["simulated_model_in"] = sorted(name for name, chosen in results.items()
                                           if any("simulated model" in note for s in chosen for r in s.steps
                                                  for note in r.notes))
    section["attempts_simulated"] = attempts_simulated
    curve = vote_curve(pools, grades) if grades is not None else None
    plot = None
    if curve is not None:
        section["majority_vote_against_k"] = curve
        plot = SELECTION_EVAL_PLOT
        plot_vote_curve(curve, out / plot, f"{title}: selected (majority vote) vs coverage"
                        + (" (SIMULATED model)" if attempts_simulated else ""), section.get("random"))
    paths = {"selection_report": out / "report.json", "selection_report_md": out / "report.md"}
    paths["selection_report"].write_text(json.dumps({"run": title, "predictions_from": predictions_from,
                                           "selection": section}, indent=1), encoding="utf-8")
    paths["selection_report_md"].write_text("\n".join([f"# Selection: {title}", "", *render_selection(section, plot)]),
                                  encoding="utf-8")
    if plot:
        paths["plot"] = out / plot
    return paths
