"""The commands on a stored run: `monkeys report`, `export`, `replay` and `audit`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.commands.common import EXIT_DISAGREE, RAW
from harness.config import load_cost_config

REPLAY_EPILOG = """\
Verifies the attempt's stored candidate again with the task's current verifier (configured
from RUN_DIR/config.yaml) and prints the stored and the new verdict with their evidence.
Nothing in the store changes. SWE-bench logs of the replay go to RUN_DIR/replay/.
Exit status: 0 when the verdicts agree (or there is no candidate to verify), 1 when they
disagree, 2 on bad input.

example:
  monkeys replay runs/demo/demo_gsm8k 17 3        # problem 17, attempt 3
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


def add_report_parser(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="recompute the report and the HTML audit site (RUN_DIR/audit/index.html) from the store")
    report.add_argument("run_dir", type=Path)
    report.add_argument("--cost", type=Path, metavar="FILE",
                        help="price the run with this YAML cost section from now on (stored in the run); "
                             "see configs/cost_example.yaml")


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="write every attempt with its verdict as JSON lines")
    export.add_argument("run_dir", type=Path)
    export.add_argument("--out", type=Path, help="output file (default: RUN_DIR/attempts.jsonl)")


def add_replay_parser(sub: argparse._SubParsersAction) -> None:
    replay = sub.add_parser("replay", help="verify one stored attempt again and compare with its stored verdict",
                            epilog=REPLAY_EPILOG, formatter_class=RAW)
    replay.add_argument("run_dir", type=Path)
    replay.add_argument("problem_id", help="the problem's id as stored (see verdicts.jsonl or the audit site)")
    replay.add_argument("attempt", type=int, help="the attempt index (sample_index in verdicts.jsonl)")
    replay.add_argument("--recheck-flakes", action="store_true",
                        help="SWE-bench: run the gold-patch flake check again instead of reusing the run's")
    replay.add_argument("--json", action="store_true", help="print the result as JSON")


def add_audit_parser(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="errors, flaky verdicts, dedup and stale verdicts of a run; optionally replay a sample",
                           epilog=AUDIT_EPILOG, formatter_class=RAW)
    audit.add_argument("run_dir", type=Path)
    audit.add_argument("--replay", type=int, default=0, metavar="N",
                       help="verify N random unique candidates again and compare (default: 0, none)")
    audit.add_argument("--seed", type=int, default=0, help="which candidates --replay picks (default: 0)")
    audit.add_argument("--workers", type=int, default=2, help="verifier processes for --replay (default: 2)")
    audit.add_argument("--json", type=Path, metavar="PATH", help="also write the JSON here (it is always written to RUN_DIR/audit.json)")


def cmd_report(args: argparse.Namespace) -> dict[str, Path]:
    from harness.pipeline import report_existing

    return report_existing(args.run_dir, cost=load_cost_config(args.cost) if args.cost is not None else None)


def cmd_export(args: argparse.Namespace) -> dict[str, Path]:
    from harness.export import export_attempts

    out = args.out or args.run_dir / "attempts.jsonl"
    export_attempts(args.run_dir, out)
    return {"attempts": out}


def cmd_replay(args: argparse.Namespace) -> int:
    from harness.audit.replay import replay

    result = replay(args.run_dir, args.problem_id, args.attempt, recheck_flakes=args.recheck_flakes)
    print(json.dumps(result.to_json(), indent=2, ensure_ascii=False) if args.json else result.render())
    return EXIT_DISAGREE if result.agrees is False else 0


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
