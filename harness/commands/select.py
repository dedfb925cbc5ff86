"""`monkeys select`: one patch per instance, chosen without the hidden tests, optionally graded afterwards."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.commands.common import RAW
from harness.config import ConfigError

SELECT_EPILOG = """\
Picks one patch per instance without the hidden tests and writes OUT/predictions.jsonl in swebench's
format ({instance_id, model_name_or_path, model_patch}), one line per instance that has a non-empty
candidate, ready for `python -m swebench.harness.run_evaluation --predictions_path` or sb-cli.

Input: a run directory (its attempts), or --dataset (SWE-bench rows as JSON/JSONL, or a swebench 5
task repo directory) with --samples (swebench predictions as .jsonl or .json, or samples JSONL
{"problem_id", "completion"}; any number per instance; an optional "score" is a reward-model score).
Selection reads no hidden field: FAIL_TO_PASS, PASS_TO_PASS, test_patch and the gold patch may be
blank or absent, the predictions are the same.

Selectors (--config YAML; the first makes predictions.jsonl, every one is recorded):
  selectors:
    - {filters: [regression_filter, reproduction_rank], choose: model_choice, top_k: 3}
    - {choose: majority_vote}
  filters: regression_filter   the repository's tests near the edited files, run in the instance image
                               with and without each candidate; a candidate that breaks one is dropped
           reproduction_rank   model-written tests that fail on the base commit, run against every
                               candidate in warm containers; the candidates passing most are kept
  choose:  majority_vote (AST-normalized patches), reward_score, model_choice (top_k), random, first
Default: majority_vote, reward_score, random (no container, no model). reproduction_rank and
model_choice need --selection-model-url (or --simulated-tests for demos); the test-running steps
need the instance images on the Docker engine (`monkeys images build --dataset ...`).

Outputs: predictions.jsonl; selection.json (per selector and instance: what each step kept and why,
evidence of discarded tests); report.json + report.md (instances without a candidate, tests run,
container seconds, tokens; with --grades, or RUN_DIR/verdicts.jsonl, also each selector's accuracy
against a random pick and the oracle with bootstrap intervals, and selection_k.png).

examples:
  monkeys select runs/swebench_lite
  monkeys select --dataset ../shared/swebench_real --samples preds.jsonl --out sel --model team/agent
  monkeys select --dataset lite.jsonl --samples preds.jsonl --out sel --grades verdicts.jsonl --config sel.yaml
"""

def add_select_parser(sub: argparse._SubParsersAction) -> None:
    select = sub.add_parser("select", help="one patch per instance, chosen without the hidden tests -> predictions.jsonl",
                            epilog=SELECT_EPILOG, formatter_class=RAW)
    select.add_argument("run_dir", type=Path, nargs="?", help="a run directory (or give --dataset and --samples)")
    select.add_argument("--dataset", type=Path, help="the instances: a JSON/JSONL file of SWE-bench rows or a "
                        "swebench 5 task repo directory")
    select.add_argument("--samples", type=Path, help="the candidates: swebench predictions (.jsonl/.json) or samples "
                        "JSONL, any number per instance")
    select.add_argument("--out", type=Path, help="output directory (default: RUN_DIR/selection)")
    select.add_argument("--config", type=Path, help="YAML: `selectors: [{filters: [...], choose: ...}, ...]` "
                        "(see below)")
    select.add_argument("--grades", type=Path, help="verdicts.jsonl to grade the picks with, after selection "
                        "(default: RUN_DIR/verdicts.jsonl when present)")
    select.add_argument("--model", default="monkeys", help="model_name_or_path in predictions.jsonl (default: monkeys)")
    select.add_argument("--selection-model-url", metavar="URL", help="an OpenAI-compatible server (.../v1) whose model "
                        "writes the reproduction tests and chooses (reproduction_rank, model_choice)")
    select.add_argument("--selection-model", default="default", metavar="NAME",
                        help="the model name at --selection-model-url (default: default)")
    select.add_argument("--test-timeout", type=float, default=120.0, metavar="S",
                        help="seconds one generated test may run before it counts as hanging (default: 120)")
    select.add_argument("--tests-per-instance", type=int, default=5, metavar="N",
                        help="reproduction tests the model writes per instance (default: 5)")
    select.add_argument("--simulated-tests", type=Path, metavar="FILE",
                        help="JSONL {instance_id, name, source}: the SIMULATED model writes its reproduction tests "
                        "from these (demo, tests); model_choice is then the simulated chooser too")


def _run_dir_pools(run_dir: Path) -> tuple[list, bool]:
    """The run's pools, and whether its attempts came from the simulated model."""
    from harness.runview import open_store
    from harness.selection.pools import build_pools

    with open_store(run_dir) as store:
        meta = store.meta()
        problems = store.problems()
        attempts: dict[str, list] = {}
        for attempt in store.attempts():
            attempts.setdefault(attempt.problem_id, []).append(attempt)
        samples = {}
        for problem in problems:
            contents = store.candidate_contents(problem.id)
            rows = sorted(attempts.get(problem.id, []), key=lambda a: a.index)
            samples[problem.id] = [(contents.get(a.candidate_key, "") if a.candidate_key else "", a.score) for a in rows]
        pools = build_pools([{**p.data, "instance_id": p.id} for p in problems], samples, source=run_dir.name)
        return pools, bool(meta and meta.simulated)


def cmd_select(args: argparse.Namespace) -> dict[str, Path]:
    from harness.report.selection_eval import write_selection_report
    from harness.selection.pools import pools_from_files, read_grades
    from harness.selection.run import total_cost, write_selection
    from harness.selection.steps import check_images, load_configs, steps_for

    if args.run_dir is not None and (args.dataset is not None or args.samples is not None):
        raise ConfigError("select: give a run directory, or --dataset and --samples, not both")
    if args.run_dir is None and (args.dataset is None or args.samples is None):
        raise ConfigError("select: give a run directory, or --dataset and --samples (see `monkeys select --help`)")
    out = args.out or (args.run_dir / "selection" if args.run_dir is not None else None)
    if out is None:
        raise ConfigError("select: --out DIR is needed with --dataset/--samples (where predictions.jsonl goes)")
    if args.grades is not None and not args.grades.is_file():
        raise ConfigError(f"--grades: not found: {args.grades}")
    configs = load_configs(args.config)
    steps = steps_for(configs, scripted=args.simulated_tests, url=args.selection_model_url, model=args.selection_model,
                      test_timeout_s=args.test_timeout, tests_per_instance=args.tests_per_instance)
    pools, simulated = _run_dir_pools(args.run_dir) if args.run_dir is not None else (
        pools_from_files(args.dataset, args.samples), False)
    if simulated:
        print("monkeys select: the run's attempts came from the SIMULATED model (not a real one)", file=sys.stderr)
    check_images(pools, configs)
    results, paths = write_selection(pools, configs, out, args.model, steps)
    grades_path = args.grades or (args.run_dir / "verdicts.jsonl" if args.run_dir is not None else None)
    grades = read_grades(grades_path) if grades_path is not None and grades_path.is_file() else None
    costs = {name: total_cost(chosen) for name, chosen in results.items()}
    paths |= write_selection_report(pools, grades, results, costs, out, args.model, configs[0].label(),
                                    attempts_simulated=simulated)
    without = [s.instance_id for s in results[configs[0].label()] if s.selected is None]
    print(f"monkeys select: predictions.jsonl holds {len(pools) - len(without)} of {len(pools)} instances"
          + (f"; no candidate (no line): {', '.join(without[:5])}{' ...' if len(without) > 5 else ''}" if without else ""),
          file=sys.stderr)
    return paths
