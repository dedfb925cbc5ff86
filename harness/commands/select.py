"""`monkeys select`: one patch per instance, chosen without the hidden tests, optionally graded afterwards."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.commands.common import RAW
from harness.config import ConfigError

SELECT_EPILOG = """\
Reads no hidden field: instances reach the selectors without FAIL_TO_PASS, PASS_TO_PASS,
test_patch or the gold patch. The first selector of --config makes OUT/predictions.jsonl
(swebench's format, one line per instance that has a non-empty candidate); OUT/selection.json
says what every step kept and why. With grades (a verdicts.jsonl of the same attempts), every
selector's picks are graded afterwards: OUT/report.json (`selection`), report.md, selection_k.png.
Default selectors: majority vote over normalized patches, reward score, random.

examples:
  monkeys select runs/swebench_lite
  monkeys select --dataset lite.jsonl --samples preds.jsonl --out sel --grades verdicts.jsonl
"""

DEFAULT_SELECTORS: list[dict] = [{"choose": "majority_vote"}, {"choose": "reward_score"}, {"choose": "random"}]


def add_select_parser(sub: argparse._SubParsersAction) -> None:
    select = sub.add_parser("select", help="one patch per instance, chosen without the hidden tests -> predictions.jsonl",
                            epilog=SELECT_EPILOG, formatter_class=RAW)
    select.add_argument("run_dir", type=Path, nargs="?", help="a run directory (or give --dataset and --samples)")
    select.add_argument("--dataset", type=Path, help="the instances, as `monkeys verify` takes them")
    select.add_argument("--samples", type=Path, help="samples or swebench predictions, any number per instance")
    select.add_argument("--out", type=Path, help="output directory (default: RUN_DIR/selection)")
    select.add_argument("--config", type=Path, help="YAML: `selectors: [{filters: [...], choose: ...}, ...]`")
    select.add_argument("--grades", type=Path, help="verdicts.jsonl to grade the picks with, after selection "
                        "(default: RUN_DIR/verdicts.jsonl when present)")
    select.add_argument("--model", default="monkeys", help="model_name_or_path in predictions.jsonl")
    select.add_argument("--selection-model-url", metavar="URL", help="an OpenAI-compatible server (.../v1) whose model "
                        "writes the reproduction tests and chooses (reproduction_rank, model_choice)")
    select.add_argument("--selection-model", default="default", help="the model name at --selection-model-url")
    select.add_argument("--simulated-tests", type=Path, metavar="FILE",
                        help="JSONL {instance_id, name, source}: the SIMULATED model writes its reproduction tests "
                        "from these (demo, tests); model_choice is then the simulated chooser too")


def _run_dir_pools(run_dir: Path) -> list:
    from harness.runview import open_store
    from harness.selection.pools import build_pools

    with open_store(run_dir) as store:
        problems = store.problems()
        attempts: dict[str, list] = {}
        for attempt in store.attempts():
            attempts.setdefault(attempt.problem_id, []).append(attempt)
        samples = {}
        for problem in problems:
            contents = store.candidate_contents(problem.id)
            rows = sorted(attempts.get(problem.id, []), key=lambda a: a.index)
            samples[problem.id] = [(contents.get(a.candidate_key, "") if a.candidate_key else "", a.score) for a in rows]
        return build_pools([{**p.data, "instance_id": p.id} for p in problems], samples, source=run_dir.name)


def _select_steps(scripted: Path | None, url: str | None = None, model: str = "default") -> dict:
    from harness.selection.choice import ModelChooser, SimulatedChooser
    from harness.selection.containers import GeneratedTest
    from harness.selection.reproduction import ModelTestWriter, SimulatedTestWriter
    from harness.selection.steps import extra_steps

    if url is not None:
        from harness.selection.http_model import ChatCompletion

        complete = ChatCompletion(url, model)
        return extra_steps(writer=ModelTestWriter(complete), chooser=ModelChooser(complete))
    if scripted is None:
        return extra_steps()  # the regression filter needs no model
    tests: dict[str, list[GeneratedTest]] = {}
    for line in scripted.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            tests.setdefault(str(row["instance_id"]), []).append(GeneratedTest(name=row["name"], source=row["source"]))
    print("monkeys select: the SIMULATED model writes the reproduction tests and chooses", file=sys.stderr)
    return extra_steps(writer=SimulatedTestWriter(tests), chooser=SimulatedChooser())


def cmd_select(args: argparse.Namespace) -> dict[str, Path]:
    import yaml

    from harness.report.selection_eval import write_selection_report
    from harness.selection.pools import pools_from_files, read_grades
    from harness.selection.run import total_cost, write_selection
    from harness.selection.selectors import SelectionConfig

    if args.run_dir is not None:
        pools = _run_dir_pools(args.run_dir)
    elif args.dataset is not None and args.samples is not None:
        pools = pools_from_files(args.dataset, args.samples)
    else:
        raise ConfigError("select: give a run directory, or --dataset and --samples")
    out = args.out or (args.run_dir / "selection" if args.run_dir is not None else None)
    if out is None:
        raise ConfigError("select: --out is needed with --dataset/--samples")
    specs = DEFAULT_SELECTORS
    if args.config is not None:
        specs = (yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}).get("selectors") or []
    try:
        configs = [SelectionConfig(**spec) for spec in specs]
    except ValueError as exc:
        raise ConfigError(f"select --config: {exc}") from None
    if not configs:
        raise ConfigError("select --config: no selectors")
    steps = _select_steps(args.simulated_tests, args.selection_model_url, args.selection_model)
    try:
        results, paths = write_selection(pools, configs, out, args.model, steps)
    except ValueError as exc:
        raise ConfigError(f"select: {exc}") from None
    grades_path = args.grades or (args.run_dir / "verdicts.jsonl" if args.run_dir is not None else None)
    if grades_path is not None and grades_path.is_file():
        costs = {name: total_cost(chosen) for name, chosen in results.items()}
        paths |= write_selection_report(pools, read_grades(grades_path), results, costs, out, args.model,
                                        configs[0].label())
    return paths
