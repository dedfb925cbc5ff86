"""`monkeys images build`: each task directory of a task repo built as its instance's image.

As in swebench 5 (`swebench.task.repo.task_paths`), the task directory is the Dockerfile's build
context and the image is named by the task's `image` field. swebench's own builder
(`swebench.image_builder.docker_build.build_image`) shells out to `docker buildx`, which Debian's
docker.io lacks, names images by its ImageSpec rather than the task's `image` and gives no
progress; so the build goes through the docker SDK's build API, streaming each step. Builds run
`workers` at a time; a failed one is recorded with the end of its log and the others go on.
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
LOG_TAIL_LINES = 12


def _log_name(target: ImageTarget) -> str:
    return f"{target.instance_id}.build.log"


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    text = path.read_text(errors="replace").splitlines() if path.is_file() else []
    return "\n".join(text[-lines:])


def build_one(client: Any, target: ImageTarget, log_dir: Path, say: Say, *, nocache: bool = False,
              force: bool = False) -> Outcome:
    """Build one instance image; every failure becomes a FAILED outcome naming the instance and the cause."""
    import docker  # noqa: PLC0415

    started = time.monotonic()

    def outcome(status: Status, message: str = "", log: Path | None = None) -> Outcome:
        return Outcome(instance_id=target.instance_id, image=target.image, status=status,
                       seconds=round(time.monotonic() - started, 2), message=message, log=str(log) if log else None)

    if target.context is None:
        return outcome(Status.FAILED, "no task directory: only a task repo's instances can be built "
                                      "(rows from a file or the hub name prebuilt images: `monkeys images pull`)")
    dockerfile = target.context / "Dockerfile"
    if not dockerfile.is_file():
        return outcome(Status.FAILED, f"{target.context}: no Dockerfile in the task directory")
    if not (force or nocache) and image_present(client, target.image):
        return outcome(Status.PRESENT, "already present (--force rebuilds)")
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / _log_name(target)
    say(f"{target.instance_id}: building {target.image} from {target.context}")
    error = ""
    try:
        with log.open("w", encoding="utf-8") as sink:
            stream = client.api.build(path=str(target.context), tag=target.image, nocache=nocache, rm=True,
                                      forcerm=True, pull=False, decode=True,
                                      labels={"monkeys.instance": target.instance_id})
            for chunk in stream:
                text = chunk.get("stream") or chunk.get("status") or ""
                if text:
                    sink.write(text if text.endswith("\n") else text + "\n")
                    if text.startswith("Step "):  # one progress line per Dockerfile step
                        say(f"{target.instance_id}: {text.strip()[:150]}")
                if "error" in chunk:
                    error = str(chunk.get("error") or chunk.get("errorDetail"))
                    sink.write(f"ERROR: {error}\n")
    except (docker.errors.APIError, docker.errors.BuildError, OSError) as exc:
        error = str(exc)
        with log.open("a", encoding="utf-8") as sink:
            sink.write(f"ERROR: {error}\n")
    if error:
        say(f"{target.instance_id}: FAILED ({error.strip().splitlines()[-1][:200]}); log: {log}")
        return outcome(Status.FAILED, f"{target.instance_id}: the Dockerfile in {target.context} failed to build: "
                                      f"{error.strip()}\n{_tail(log)}", log)
    say(f"{target.instance_id}: built {target.image} in {time.monotonic() - started:.1f}s")
    return outcome(Status.BUILT, "", log)


def build_images(client: Any, targets: list[ImageTarget], log_dir: Path, say: Say, *, workers: int = 2,
                 nocache: bool = False, force: bool = False) -> list[Outcome]:
    """Every target built, `workers` at a time; outcomes in the targets' order."""
    lock = threading.Lock()
    done = [0]

    def locked_say(text: str) -> None:
        with lock:
            say(text)

    def one(target: ImageTarget) -> Outcome:
        try:
            result = build_one(client, target, log_dir, locked_say, nocache=nocache, force=force)
        except Exception as exc:  # noqa: BLE001 - one image's surprise never stops the others
            result = Outcome(instance_id=target.instance_id, image=target.image, status=Status.FAILED,
                             message=f"{target.instance_id}: unexpected error while building: {exc!r}")
        with lock:
            done[0] += 1
            say(f"[{done[0]}/{len(targets)}] {target.instance_id}: {result.status.value}")
        return result

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="image-build") as pool:
        return list(pool.map(one, targets))
