"""`monkeys images build | pull | check`: the Docker images of a SWE-bench dataset's instances."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands.common import RAW

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
                            epilog=IMAGES_EPILOG, formatter_class=RAW)
    actions = images.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("build", "build a task repo's Dockerfiles (each task directory is its build context)"),
                         ("pull", "pull published images from a registry"),
                         ("check", "which images are present, their disk use, and (optionally) whether they work")):
        one = actions.add_parser(action, help=text, epilog=IMAGES_EPILOG, formatter_class=RAW)
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
