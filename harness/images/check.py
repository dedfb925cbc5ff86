"""`monkeys images check`: which instance images are present, how much disk they take, and whether they work.

Always: present or missing, and per image its size (all layers) and what it adds over its nearest
base image on the engine (for kit images: the instance's layers over its environment image).
`testbed=True` starts each image once and checks /testbed is a git repository at the task's
base_commit. `run_eval=True` runs each instance's eval script in its image, unpatched, and
checks it reaches the tests: swebench's start and end markers are printed, and the instance's
log parser finds at least one of its FAIL_TO_PASS / PASS_TO_PASS tests in between.

`require_images` is the check `monkeys run` / `verify` make before anything is written: every
missing image named with the one command that makes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.config import DatasetConfig
from harness.images.targets import ImageTarget, Outcome, Status, make_command

Say = Callable[[str], None]
START, END = ">>>>> Start Test Output", ">>>>> End Test Output"  # swebench.harness.constants
LABEL = "monkeys.images.check"


def image_present(client: Any, image: str) -> bool:
    import docker  # noqa: PLC0415

    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def image_sizes(client: Any) -> dict[str, tuple[int, int]]:
    """image id -> (size, added): all its layers, and what it adds over its nearest base image on the engine
    (the image whose layers are the longest strict prefix of its own: for a kit instance, its environment image)."""
    chains: dict[str, tuple[tuple[str, ...], int]] = {}
    for summary in client.api.images():
        try:
            attrs = client.api.inspect_image(summary["Id"])
        except Exception:  # noqa: BLE001 - removed meanwhile: not a base of anything we look at
            continue
        chains[attrs["Id"]] = (tuple((attrs.get("RootFS") or {}).get("Layers") or ()), int(attrs.get("Size") or 0))
    by_layers = {layers: size for layers, size in chains.values()}
    sizes = {}
    for image_id, (layers, size) in chains.items():
        base = next((by_layers[layers[:n]] for n in range(len(layers) - 1, 0, -1) if layers[:n] in by_layers), 0)
        sizes[image_id] = (size, size - base)
    return sizes


def run_in_image(client: Any, image: str, script: str, timeout_s: float) -> tuple[int | None, str]:
    """Run `script` with bash in a new container of `image` (no network); (exit code or None on timeout, output)."""
    container = client.containers.create(image, ["bash", "-c", script], network_disabled=True, labels={LABEL: "1"},
                                         working_dir="/", user="root")
    try:
        container.start()
        try:
            code: int | None = int(container.wait(timeout=timeout_s).get("StatusCode", -1))
        except Exception:  # noqa: BLE001 - the wait timed out (requests' ReadTimeout / ConnectionError)
            container.kill()
            code = None
        return code, container.logs(stdout=True, stderr=True).decode("utf-8", errors="replace")
    finally:
        container.remove(force=True)


def check_testbed(client: Any, target: ImageTarget) -> str | None:
    """None when /testbed is a git repository at the task's base commit, else what is wrong."""
    code, out = run_in_image(client, target.image, "test -d /testbed || { echo NO-TESTBED; exit 3; }; "
                             "git -C /testbed rev-parse HEAD || { echo NO-GIT; exit 4; }", 120)
    if code == 3:
        return f"{target.instance_id}: the image {target.image} has no /testbed (the repository must be there)"
    if code != 0:
        return f"{target.instance_id}: /testbed in {target.image} is not a git repository: {out.strip()[-300:]}"
    head = out.strip().splitlines()[-1] if out.strip() else ""
    if target.base_commit and head != target.base_commit:
        return f"{target.instance_id}: /testbed in {target.image} is at {head}, the task's base_commit is {target.base_commit}"
    return None


def check_eval(client: Any, target: ImageTarget, timeout_s: float) -> str | None:
    """None when the eval script, run unpatched in the image, reaches the tests; else what is wrong."""
    if not target.eval_script:
        return f"{target.instance_id}: no eval script"
    code, out = run_in_image(client, target.image, target.eval_script, timeout_s)
    if code is None:
        return f"{target.instance_id}: the eval script did not finish within {timeout_s:.0f}s"
    tail = "\n".join(out.strip().splitlines()[-8:])
    if START not in out or END not in out:
        return (f"{target.instance_id}: the eval script never reaches the tests (exit {code}; swebench's "
                f"'{START if START not in out else END}' marker is not printed). Its last lines:\n{tail}")
    found = _parsed_tests(target, out.split(START, 1)[1].split(END, 1)[0])
    if found == 0:
        return (f"{target.instance_id}: the eval script runs, but its log parser {target.log_parser} finds none of "
                f"the instance's {len(target.tests)} tests in the output. Its last lines:\n{tail}")
    return None


def _parsed_tests(target: ImageTarget, section: str) -> int:
    from swebench.harness.log_parsers import PARSER_REGISTRY  # noqa: PLC0415

    parser = PARSER_REGISTRY.get(str(target.log_parser))
    if parser is None:
        return 0
    try:
        statuses = parser(section, None)
    except Exception:  # noqa: BLE001 - a parser that needs the full test spec: nothing found
        return 0
    return sum(1 for test in target.tests if test in statuses)


def check_one(client: Any, target: ImageTarget, sizes: dict[str, tuple[int, int]], *, testbed: bool, run_eval: bool,
              eval_timeout_s: float) -> Outcome:
    started = time.monotonic()
    if not image_present(client, target.image):
        return Outcome(instance_id=target.instance_id, image=target.image, status=Status.MISSING,
                       message=f"not on this engine: {target.image}")
    size, added = sizes.get(client.images.get(target.image).id, (None, None))
    problems = []
    try:
        if testbed:
            problems.append(check_testbed(client, target))
        if run_eval and not any(problems):
            problems.append(check_eval(client, target, eval_timeout_s))
    except Exception as exc:  # noqa: BLE001 - a broken image or engine hiccup: recorded, the next goes on
        problems.append(f"{target.instance_id}: could not run {target.image}: {exc}")
    wrong = [p for p in problems if p]
    return Outcome(instance_id=target.instance_id, image=target.image, status=Status.FAILED if wrong else Status.PRESENT,
                   size_bytes=size, added_bytes=added, message="; ".join(wrong), seconds=round(time.monotonic() - started, 2))


def check_images(client: Any, targets: list[ImageTarget], say: Say, *, testbed: bool = False, run_eval: bool = False,
                 eval_timeout_s: float = 1800, workers: int = 1) -> list[Outcome]:
    """One outcome per target, `workers` at a time: PRESENT (and working, as far as asked), MISSING, or FAILED."""
    sizes = image_sizes(client)
    lock, done = threading.Lock(), [0]

    def one(target: ImageTarget) -> Outcome:
        outcome = check_one(client, target, sizes, testbed=testbed, run_eval=run_eval, eval_timeout_s=eval_timeout_s)
        with lock:
            done[0] += 1
            say(f"[{done[0]}/{len(targets)}] {target.instance_id}: {outcome.status.value}"
                + (f": {outcome.message.splitlines()[0]}" if outcome.status is not Status.PRESENT else ""))
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="image-check") as pool:
        return list(pool.map(one, targets))


def missing_images_message(client: Any, dataset: DatasetConfig, images: dict[str, str]) -> str | None:
    """None when every instance's image is present, else which are missing and the exact command that makes them."""
    missing = [iid for iid, image in images.items() if not image_present(client, image)]
    if not missing:
        return None
    shown = ", ".join(f"{iid} ({images[iid]})" for iid in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return (f"{len(missing)} of {len(images)} instance images are not on this Docker engine: {shown}. "
            f"Make them with:\n  {make_command(dataset, missing)}")
