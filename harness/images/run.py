"""`monkeys images build|pull|check`: the dataset's targets, the action, the summary table and the record."""

from __future__ import annotations

import argparse
import sys

from harness.images.targets import BAD, dataset_config, load_targets, skipped_outcomes, summary_table, write_record


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_images_command(args: argparse.Namespace) -> int:
    from sandboxes.docker import docker_client  # noqa: PLC0415 - SandboxUnavailable says how to start the engine

    instances = [part.strip() for value in args.instances for part in value.split(",") if part.strip()]
    dataset = dataset_config(args.dataset, args.hub, args.split, instances)
    found = load_targets(dataset)
    client = docker_client()
    logs = args.out / "logs"
    if args.action == "build":
        from harness.images.build import build_images  # noqa: PLC0415

        outcomes = build_images(client, found.targets, logs, say, workers=args.workers, nocache=args.no_cache,
                                force=args.force)
    elif args.action == "pull":
        from harness.images.pull import pull_images  # noqa: PLC0415

        outcomes = pull_images(client, found.targets, logs, say, registry=args.registry, workers=args.workers,
                               force=args.force)
    else:
        from harness.images.check import check_images  # noqa: PLC0415

        outcomes = check_images(client, found.targets, say, testbed=args.testbed, run_eval=args.eval,
                                eval_timeout_s=args.eval_timeout, workers=args.workers)
    if args.action != "check":  # sizes of what was built or pulled, as check reports them
        from harness.images.check import image_present, image_sizes  # noqa: PLC0415

        sizes = image_sizes(client)
        for n, outcome in enumerate(outcomes):
            if image_present(client, outcome.image):
                size, added = sizes.get(client.images.get(outcome.image).id, (None, None))
                outcomes[n] = outcome.model_copy(update={"size_bytes": size, "added_bytes": added})
    outcomes = skipped_outcomes(found.skipped) + outcomes
    print(summary_table(outcomes))
    bad = [o for o in outcomes if o.status in BAD]
    for outcome in bad:
        say(f"{outcome.status.value}: {outcome.message}")
    print(f"record: {write_record(outcomes, args.out, args.action, sys.argv[1:])}")
    return 1 if bad else 0
