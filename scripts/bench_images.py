#!/usr/bin/env python3
"""Kit instance images: build time per instance once the environment images exist, and disk per instance image.

    flock /work/wt/heavy.lock python scripts/bench_images.py --kit ../shared/swebench_real \
        --instances pallets__flask-4045,sympy__sympy-20154,pylint-dev__pylint-7228,sphinx-doc__sphinx-10325

Each named task directory is built without the layer cache two ways, alternating, under names of the
benchmark's own (monkeys-bench/...: the kit's images stay as its prepare.sh made them), and removed after:

- docker CLI: `docker build --no-cache -q -t NAME tasks/ID` (what the kit's prepare.sh runs);
- monkeys: `harness.images.build.build_one` (the docker SDK's build API, streaming the steps), --no-cache.

Both need the environment and source images (prepare.sh builds them): only the instance's own steps run
(the checkout of its commit from the source image, the editable install). Then `monkeys images check`'s
disk numbers for every instance of the kit: size (all layers) and added over its environment image.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.images.build import build_one  # noqa: E402
from harness.images.check import image_present, image_sizes  # noqa: E402
from harness.images.targets import ImageTarget, Status, dataset_config, load_targets  # noqa: E402
from sandboxes.docker import docker_client  # noqa: E402


def cli_build(target: ImageTarget, name: str) -> float:
    started = time.monotonic()
    subprocess.run(["docker", "build", "--no-cache", "-q", "-t", name, str(target.context)], check=True,
                   capture_output=True)
    return time.monotonic() - started


def monkeys_build(client: object, target: ImageTarget, name: str, logs: Path) -> float:
    started = time.monotonic()
    outcome = build_one(client, dataclasses.replace(target, image=name), logs, lambda _t: None, nocache=True)
    if outcome.status is not Status.BUILT:
        raise SystemExit(f"{target.instance_id}: {outcome.message}")
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kit", type=Path, required=True)
    parser.add_argument("--instances", required=True, help="comma-separated instance ids to rebuild")
    parser.add_argument("--rounds", type=int, default=1, help="builds per instance and side (default 1)")
    args = parser.parse_args()
    client = docker_client()
    targets = load_targets(dataset_config(args.kit, None, "test", args.instances.split(","))).targets
    rows = []
    for target in targets:
        cli_s, ours_s = [], []
        for round_ in range(args.rounds):
            order = ["cli", "monkeys"] if round_ % 2 == 0 else ["monkeys", "cli"]
            for side in order:
                name = f"monkeys-bench/{target.instance_id}:{side}"
                if side == "cli":
                    cli_s.append(cli_build(target, name))
                else:
                    ours_s.append(monkeys_build(client, target, name, Path("/tmp/bench-images-logs")))
                client.images.remove(name, force=True)
        rows.append((target.instance_id, statistics.median(cli_s), statistics.median(ours_s)))
        print(f"{target.instance_id}: docker build {rows[-1][1]:.1f}s, monkeys {rows[-1][2]:.1f}s", flush=True)
    print("\n| instance | docker build --no-cache (s) | monkeys images build --no-cache (s) | ratio |\n|---|---|---|---|")
    for iid, cli, ours in rows:
        print(f"| {iid} | {cli:.1f} | {ours:.1f} | {ours / cli:.2f} |")
    everything = load_targets(dataset_config(args.kit, None, "test", [])).targets
    sizes = image_sizes(client)
    added = {t.instance_id: sizes[client.images.get(t.image).id] for t in everything if image_present(client, t.image)}
    by_repo: dict[str, list[tuple[int, int]]] = {}
    for iid, size in added.items():
        by_repo.setdefault(iid.split("__")[0], []).append(size)
    print("\n| repository | instances | image size (MB, median) | added over its env image (MB, median / max) |\n|---|---|---|---|")
    for repo, values in sorted(by_repo.items()):
        print(f"| {repo} | {len(values)} | {statistics.median(v[0] for v in values) / 1e6:.0f} | "
              f"{statistics.median(v[1] for v in values) / 1e6:.1f} / {max(v[1] for v in values) / 1e6:.1f} |")
    total_added = sum(v[1] for v in added.values())
    print(f"\n{len(added)} instance images; added over their environment images: {total_added / 1e9:.2f} GB in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
