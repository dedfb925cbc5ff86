"""What several commands share: exit statuses and the executor and instance arguments."""

from __future__ import annotations

import argparse
import json

EXIT_BAD_INPUT = 2
EXIT_DISAGREE = 1  # replay / audit: a stored verdict differs from what the verifier says now
EXIT_INTERRUPTED = 130
EXIT_WORK_LOST = 1  # the executor lost work for good (Ray workers died past their retries); a rerun resumes

UNSAFE_HELP = ("UNSAFE: run generated code without bubblewrap (weaker isolation, or none) when bubblewrap is "
               "missing; without this flag such a run stops before it writes anything (exit 2)")

RAW = argparse.RawDescriptionHelpFormatter


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
