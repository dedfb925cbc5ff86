"""Opt-in: `monkeys images` on a real SWE-bench task repo (the kit) and its built images.

    MONKEYS_KIT=../shared/swebench_real pytest -m kit tests/kit/test_kit_images.py

Every instance's image is present, /testbed is a git repository at the task's base_commit, and one short
instance's eval script reaches its tests; one task directory is built again (as its build context, under a
name of the test's own, so the kit's images stay as prepare.sh made them) and the result checks the same.
Selected without the kit it fails naming what is missing; it never skips.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from pathlib import Path

import pytest

from harness.cli import main
from harness.images.build import build_images
from harness.images.check import check_images
from harness.images.targets import Status, dataset_config, load_targets

pytestmark = [pytest.mark.kit, pytest.mark.timeout(3600)]
KIT = os.environ.get("MONKEYS_KIT", "")
SHORT = "pallets__flask-4045"  # its eval script takes seconds


def kit() -> Path:
    if not KIT or not (Path(KIT) / "tasks").is_dir():
        pytest.fail(f"MONKEYS_KIT={KIT!r} is not a swebench 5 task repo: e.g. MONKEYS_KIT=../shared/swebench_real pytest -m kit")
    return Path(KIT)


def test_every_kit_image_is_present_with_its_repository_at_the_base_commit(tmp_path: Path) -> None:
    code = main(["images", "check", "--dataset", str(kit()), "--testbed", "--out", str(tmp_path)])
    outcomes = json.loads((tmp_path / "check.json").read_text())["outcomes"]
    wrong = {o["instance_id"]: o["message"] for o in outcomes if o["status"] != "present"}
    assert wrong == {} and code == 0, (f"build the missing ones with monkeys images build --dataset {KIT}", wrong)
    assert len(outcomes) == len(list((kit() / "tasks").iterdir()))
    assert all(o["added_bytes"] and o["added_bytes"] < o["size_bytes"] for o in outcomes)


def test_a_kit_eval_script_reaches_its_tests(tmp_path: Path) -> None:
    assert main(["images", "check", "--dataset", str(kit()), "--instances", SHORT, "--eval", "--out", str(tmp_path)]) == 0


def test_a_kit_task_directory_builds_as_its_context() -> None:
    from sandboxes.docker import docker_client

    [target] = load_targets(dataset_config(kit(), None, "test", [SHORT])).targets
    mine = dataclasses.replace(target, image=f"monkeys-test/kit-rebuild-{SHORT}:{uuid.uuid4().hex[:8]}")
    client = docker_client()
    try:
        [built] = build_images(client, [mine], Path("/tmp") / "kit-build-logs", lambda _t: None, force=True)
        assert built.status is Status.BUILT, built.message
        [checked] = check_images(client, [mine], lambda _t: None, testbed=True, run_eval=True, eval_timeout_s=600)
        assert checked.status is Status.PRESENT, checked.message
    finally:
        client.images.remove(mine.image, force=True)
