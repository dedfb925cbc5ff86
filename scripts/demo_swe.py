"""The toy SWE-bench agent demo (scripts/demo.sh runs it after the offline demo), or why it is skipped.

    python scripts/demo_swe.py [--out DIR] [monkeys run options]   -> DIR/demo_swe_agent (default runs/demo)

It needs a reachable Docker engine, git, and the base image monkeys-base:bookworm (all from
scripts/setup_docker.sh): the toy instance's image is built locally from that base, its
dataset row is written to runs/toy_swe.jsonl, and `monkeys run configs/demo_swe_agent.yaml`
plays the repair agent on it with the simulated model, judging every patch in Docker; then
`monkeys select` picks one patch (the simulated model writes the reproduction tests and chooses).
Without them it prints why it skips and exits 0, so the rest of the demo still counts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.swebench_toy builds the toy instance

CONFIG = ROOT / "configs" / "demo_swe_agent.yaml"
SELECT_CONFIG = ROOT / "configs" / "selection" / "demo.yaml"
SELECT_TESTS = ROOT / "configs" / "selection" / "toy_tests.jsonl"  # the simulated test writer's script
ROW_FILE = ROOT / "runs" / "toy_swe.jsonl"  # where the config's dataset.path points


def skip_reason() -> str | None:
    """Why the SWE-bench demo cannot run here, or None when it can."""
    from sandboxes.base import SandboxUnavailable
    from sandboxes.docker import docker_client, require_image
    from tests.swebench_toy import BASE_IMAGE

    if shutil.which("git") is None:
        return "git is not installed (the toy repository is made with it)"
    try:
        require_image(docker_client(timeout_s=10), BASE_IMAGE)
    except SandboxUnavailable as exc:
        return str(exc)
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="the demo's folder (the run goes to OUT/demo_swe_agent)")
    parser.add_argument("--row-file", type=Path, default=ROW_FILE, help="where the toy instance's dataset row is written")
    args, rest = parser.parse_known_args(argv)
    reason = skip_reason()
    if reason is not None:
        print(f"SKIPPED the toy SWE-bench agent demo: {reason}", file=sys.stderr)
        return 0
    from harness.cli import main as monkeys
    from tests.swebench_toy import build_toy_instance

    print("toy SWE-bench agent demo: building the toy instance image (cached after the first time)", file=sys.stderr)
    row, image = build_toy_instance()
    args.row_file.parent.mkdir(parents=True, exist_ok=True)
    args.row_file.write_text(json.dumps(row) + "\n")
    print(f"toy instance {row['instance_id']} in {image}; row written to {args.row_file}", file=sys.stderr)
    dataset = [] if args.row_file.resolve() == ROW_FILE else ["--set", f"dataset.path={args.row_file.resolve()}"]
    status = monkeys(["run", str(CONFIG), "--out", str(args.out / "demo_swe_agent"), *dataset, *rest])
    if status != 0:
        return status
    print("selection: one patch per instance; the SIMULATED model writes the tests and chooses", file=sys.stderr)
    return monkeys(["select", str(args.out / "demo_swe_agent"), "--config", str(SELECT_CONFIG),
                    "--simulated-tests", str(SELECT_TESTS), "--test-timeout", "20", "--model", "demo_swe_agent"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
