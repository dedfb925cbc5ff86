"""`monkeys images pull`: published instance images from a registry, through the docker SDK.

Each image is pulled as named by its row, or as REGISTRY/<name> with `--registry` (a mirror, or a
registry of one's own), then tagged with the row's name so runs find it. Progress is reported per
layer (each layer's state changes, and downloads at every quarter); a refused or failed pull is
recorded with the registry's answer and the other images are pulled all the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.images.check import image_present
from harness.images.targets import ImageTarget, Outcome, Status

Say = Callable[[str], None]


def split_reference(reference: str) -> tuple[str, str]:
    """'host:5000/a/b:tag' -> ('host:5000/a/b', 'tag'); no tag means 'latest' (a digest stays in the name)."""
    if "@" in reference:
        return reference, ""
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:  # the colon was a registry port
        return reference, "latest"
    return name, tag


def source_reference(image: str, registry: str | None) -> str:
    return f"{registry.rstrip('/')}/{image}" if registry else image


class LayerProgress:
    """Turns the pull stream's per-layer events into a few lines: state changes and download quarters."""

    def __init__(self, instance_id: str, say: Say) -> None:
        self.instance_id, self.say = instance_id, say
        self.state: dict[str, str] = {}
        self.quarter: dict[str, int] = {}
        self.layers: set[str] = set()

    def event(self, chunk: dict[str, Any]) -> None:
        layer, status = chunk.get("id"), str(chunk.get("status") or "")
        if not layer or not status or status.startswith(("Pulling from", "Digest:", "Status:")):
            return
        self.layers.add(layer)
        detail = chunk.get("progressDetail") or {}
        if status == "Downloading" and detail.get("total"):
            quarter = int(4 * detail.get("current", 0) / detail["total"])
            if quarter > self.quarter.get(layer, -1):
                self.quarter[layer] = quarter
                self.say(f"{self.instance_id}: layer {layer} downloading {25 * quarter}% of "
                         f"{detail['total'] / 1e6:.1f} MB")
            return
        if self.state.get(layer) != status:
            self.state[layer] = status
            self.say(f"{self.instance_id}: layer {layer} {status.lower()}")


def pull_one(client: Any, target: ImageTarget, registry: str | None, log_dir: Path, say: Say) -> Outcome:
    import docker  # noqa: PLC0415

    started = time.monotonic()
    reference = source_reference(target.image, registry)
    repository, tag = split_reference(reference)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{target.instance_id}.pull.log"
    progress = LayerProgress(target.instance_id, say)
    error = ""
    say(f"{target.instance_id}: pulling {reference}")
    try:
        with log.open("w", encoding="utf-8") as sink:
            for chunk in client.api.pull(repository, tag=tag or None, stream=True, decode=True):
                sink.write(f"{chunk}\n")
                if "error" in chunk:
                    error = str(chunk.get("error"))
                    continue
                progress.event(chunk)
        if not error and reference != target.image:
            name, name_tag = split_reference(target.image)
            client.api.tag(reference, name, name_tag or None)
    except (docker.errors.APIError, OSError) as exc:
        error = str(getattr(exc, "explanation", None) or exc)
    seconds = round(time.monotonic() - started, 2)
    if error:
        say(f"{target.instance_id}: FAILED to pull {reference}: {error}")
        return Outcome(instance_id=target.instance_id, image=target.image, status=Status.FAILED, seconds=seconds,
                       message=f"{target.instance_id}: the registry refused or failed the pull of {reference}: {error}",
                       log=str(log))
    say(f"{target.instance_id}: pulled {reference} ({len(progress.layers)} layers) in {seconds:.1f}s")
    return Outcome(instance_id=target.instance_id, image=target.image, status=Status.PULLED, seconds=seconds,
                   message=f"from {reference}" if reference != target.image else "", log=str(log))


def pull_images(client: Any, targets: list[ImageTarget], log_dir: Path, say: Say, *, registry: str | None = None,
                workers: int = 2, force: bool = False) -> list[Outcome]:
    """Every target pulled (present ones kept unless `force`), `workers` at a time, outcomes in order."""
    lock = threading.Lock()

    def locked_say(text: str) -> None:
        with lock:
            say(text)

    def one(target: ImageTarget) -> Outcome:
        if not force and image_present(client, target.image):
            return Outcome(instance_id=target.instance_id, image=target.image, status=Status.PRESENT,
                           message="already present (--force pulls again)")
        try:
            return pull_one(client, target, registry, log_dir, locked_say)
        except Exception as exc:  # noqa: BLE001 - one image's surprise never stops the others
            return Outcome(instance_id=target.instance_id, image=target.image, status=Status.FAILED,
                           message=f"{target.instance_id}: unexpected error while pulling: {exc!r}")

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="image-pull") as pool:
        return list(pool.map(one, targets))
