"""The `monkeys` command: run, verify, report, export, replay, select, audit, images.

The parser and the handler of each command live in `harness.commands`; this module puts
them together and turns a handler's outcome into output and an exit status.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import __version__
from harness.commands.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_WORK_LOST, RAW
from harness.commands.common import executor_overrides
from harness.commands.images import add_images_parser, cmd_images
from harness.commands.run import add_run_parser, add_verify_parser, cmd_run, cmd_verify
from harness.commands.select import add_select_parser, cmd_select
from harness.commands.stored import (add_audit_parser, add_export_parser, add_replay_parser, add_report_parser, cmd_audit,
                                     cmd_export, cmd_replay, cmd_report)
from harness.config import ConfigError
from harness.executors.base import ExecutorFailure
from harness.models.base import BackendUnavailable
from harness.problems.base import DatasetError
from sandboxes.base import SandboxUnavailable

__all__ = ["build_parser", "executor_overrides", "headline", "main"]  # executor_overrides: tests use it from here

DESCRIPTION = """\
monkeys: repeated sampling with automatic verification.

Sample many attempts per problem from a model, verify every attempt, and report how
coverage (pass@k) grows with the number of samples. Runs are stored in a directory and
resume where they stopped: run the same command again after an interruption.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monkeys", description=DESCRIPTION, formatter_class=RAW)
    parser.add_argument("--version", action="version", version=f"monkeys {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (add_run_parser, add_verify_parser, add_report_parser, add_export_parser, add_replay_parser,
                add_select_parser, add_audit_parser, add_images_parser):
        add(sub)
    return parser


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
