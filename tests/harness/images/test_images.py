"""`monkeys images build|pull|check` on a real Docker engine, real registries on 127.0.0.1 and task repos the tests write.

Bad input (a Dockerfile that fails, a task directory missing a file, no Dockerfile, an eval script that never
reaches the tests, an image without /testbed, a registry that refuses, an image the registry lacks): each is named
by instance with what is wrong, recorded in OUT/<action>.json, and the other images are made or checked.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import docker
import pytest

from harness.cli import main
from harness.images.build import build_images
from harness.images.targets import Status, dataset_config, load_targets
from tests.harness.images.conftest import image_name
from tests.swebench_task_repo import BASE_IMAGE, write_task

pytestmark = pytest.mark.timeout(900)


def record(out: Path, action: str) -> dict[str, dict[str, Any]]:
    data = json.loads((out / f"{action}.json").read_text())
    return {o["instance_id"]: o for o in data["outcomes"]}


def present(engine: docker.DockerClient, image: str) -> bool:
    try:
        engine.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def test_build_a_task_repo_where_some_tasks_are_broken(engine: docker.DockerClient, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    good, failing, no_dockerfile, unreadable = "tiny__good-1", "tiny__fails-1", "tiny__nodockerfile-1", "tiny__broken-1"
    for iid in (good, failing, no_dockerfile, unreadable):
        write_task(root, iid, image=image_name(iid))
    (root / "tasks" / failing / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nRUN echo about to fail && exit 7\n")
    (root / "tasks" / no_dockerfile / "Dockerfile").unlink()
    (root / "tasks" / unreadable / "tests.json").unlink()
    out = tmp_path / "out"

    code = main(["images", "build", "--dataset", str(root), "--workers", "2", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    outcomes = record(out, "build")
    assert {iid: o["status"] for iid, o in outcomes.items()} == {
        good: "built", failing: "failed", no_dockerfile: "failed", unreadable: "skipped"}
    assert present(engine, image_name(good)) and not present(engine, image_name(failing))
    assert failing in outcomes[failing]["message"] and "failed to build" in outcomes[failing]["message"]
    assert "exit 7" in outcomes[failing]["message"] or "code: 7" in outcomes[failing]["message"]
    assert "about to fail" in Path(outcomes[failing]["log"]).read_text()
    assert "no Dockerfile" in outcomes[no_dockerfile]["message"]
    assert "missing tests.json" in outcomes[unreadable]["message"] and unreadable in outcomes[unreadable]["message"]
    assert f"{good}: Step 1/" in captured.err  # per-image progress
    assert "instance" in captured.out and "1 built" in captured.out and "2 failed" in captured.out  # the table
    # the image holds the task directory's files (the build context) as the repository at base_commit
    assert engine.containers.run(image_name(good), ["cat", "/testbed/calc.py"], remove=True).decode().startswith("def add")

    # present images are kept; only those named are looked at
    assert main(["images", "build", "--dataset", str(root), "--instances", good, "--out", str(out)]) == 0
    assert record(out, "build")[good]["status"] == "present"


def test_parallel_builds_are_bounded_by_the_setting(engine: docker.DockerClient, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    ids = [f"tiny__par-{n}" for n in range(4)]
    for n, iid in enumerate(ids):
        write_task(root, iid, image=image_name(iid), marker=f"{iid}-{n}")
    targets = load_targets(dataset_config(root, None, "test", [])).targets

    class Counting:  # the real client; its build API counts the streams open at once
        def __init__(self, client: docker.DockerClient) -> None:
            self.images, self.most, self.now, self.lock = client.images, 0, 0, threading.Lock()
            real = client.api

            class Api:
                def build(inner, **kwargs: Any) -> Any:  # noqa: N805
                    with self.lock:
                        self.now += 1
                        self.most = max(self.most, self.now)
                    try:
                        yield from real.build(**kwargs)
                    finally:
                        with self.lock:
                            self.now -= 1
            self.api = Api()

    counting = Counting(engine)
    outcomes = build_images(counting, targets, tmp_path / "logs", lambda _t: None, workers=2, nocache=True)
    assert [o.status for o in outcomes] == [Status.BUILT] * 4
    assert counting.most == 2


def test_check_finds_missing_images_no_testbed_and_eval_scripts_that_never_reach_the_tests(
        engine: docker.DockerClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    good, no_testbed, bad_eval, missing = "tiny__chk-1", "tiny__notestbed-1", "tiny__badeval-1", "tiny__missing-1"
    for iid in (good, no_testbed, bad_eval, missing):
        write_task(root, iid, image=image_name(iid))
    (root / "tasks" / no_testbed / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nRUN echo no repository here\n")
    (root / "tasks" / bad_eval / "eval.sh").write_text("#!/bin/bash\ncd /testbed\ngit apply /nonexistent.patch || exit 1\n"
                                                       ": '>>>>> Start Test Output'\npython3 -m pytest -rA\n")
    out = tmp_path / "out"
    assert main(["images", "build", "--dataset", str(root), "--instances", f"{good},{no_testbed},{bad_eval}",
                 "--out", str(out)]) == 0
    code = main(["images", "check", "--dataset", str(root), "--testbed", "--eval", "--eval-timeout", "300", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    outcomes = record(out, "check")
    assert {iid: o["status"] for iid, o in outcomes.items()} == {
        good: "present", no_testbed: "failed", bad_eval: "failed", missing: "missing"}
    assert "has no /testbed" in outcomes[no_testbed]["message"] and no_testbed in outcomes[no_testbed]["message"]
    assert "never reaches the tests" in outcomes[bad_eval]["message"] and bad_eval in outcomes[bad_eval]["message"]
    assert outcomes[good]["size_bytes"] > outcomes[good]["added_bytes"] > 0
    assert "4 instance(s): 1 present, 1 missing, 2 failed" in captured.out
    assert not engine.containers.list(all=True, filters={"label": "monkeys.images.check"})


def test_check_without_eval_markers_from_a_parser_that_finds_nothing(engine: docker.DockerClient, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    iid = "tiny__noparse-1"
    write_task(root, iid, image=image_name(iid), eval_script="#!/bin/bash\nset -x\n: '>>>>> Start Test Output'\necho nothing ran\n"
                                                            ": '>>>>> End Test Output'\n")
    out = tmp_path / "out"
    assert main(["images", "build", "--dataset", str(root), "--out", str(out)]) == 0
    assert main(["images", "check", "--dataset", str(root), "--eval", "--out", str(out)]) == 1
    assert "finds none of the instance's 1 tests" in record(out, "check")[iid]["message"]


def test_a_run_without_its_image_names_the_command_that_makes_it(engine: docker.DockerClient, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    iid = "tiny__norun-1"
    write_task(root, iid, image=image_name(iid))
    config = tmp_path / "run.yaml"
    config.write_text(f"name: r\ntask: swebench\ndataset: {{path: {root}}}\nmodel: {{backend: simulated}}\n"
                      "sampling: {samples_per_problem: 1}\n")
    assert main(["run", str(config), "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"monkeys images build --dataset {root.resolve()} --instances {iid}" in err
    assert not (tmp_path / "run").exists()
    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"instance_id": iid, "model_patch": "", "model_name_or_path": "m"}) + "\n")
    assert main(["verify", "--task", "swebench", "--dataset", str(root), "--samples", str(samples),
                 "--out", str(tmp_path / "v"), "--no-progress"]) == 2
    assert f"--instances {iid}" in capsys.readouterr().err


def _publish(engine: docker.DockerClient, tmp_path: Path, registry: str, iid: str) -> None:
    """Build the instance's image, push it to the registry under the same name, and remove it locally."""
    root = tmp_path / "publish"
    write_task(root, iid, image=image_name(iid, registry), marker=f"published-{iid}")
    assert main(["images", "build", "--dataset", str(root), "--out", str(tmp_path / "publish-out")]) == 0
    name, tag = image_name(iid, registry).rsplit(":", 1)
    for line in engine.api.push(name, tag=tag, stream=True, decode=True):
        assert "error" not in line, line
    engine.images.remove(image_name(iid, registry), force=True)


def test_pull_from_a_real_registry_with_layer_progress(engine: docker.DockerClient, tmp_path: Path, registry: str,
                                                       refusing_registry: str, capsys: pytest.CaptureFixture[str]) -> None:
    published, unpublished = "tiny__pub-1", "tiny__unpub-1"
    _publish(engine, tmp_path, registry, published)
    root = tmp_path / "repo"
    for iid in (published, unpublished):
        write_task(root, iid, image=image_name(iid))
    out = tmp_path / "out"
    capsys.readouterr()

    code = main(["images", "pull", "--dataset", str(root), "--registry", registry, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    outcomes = record(out, "pull")
    assert outcomes[published]["status"] == "pulled" and outcomes[unpublished]["status"] == "failed"
    assert unpublished in outcomes[unpublished]["message"] and registry in outcomes[unpublished]["message"]
    assert present(engine, image_name(published))  # tagged with the row's own name
    assert f"{published}: layer " in captured.err and "pull complete" in captured.err
    assert engine.containers.run(image_name(published), ["git", "-C", "/testbed", "log", "--format=%s"],
                                 remove=True).decode().strip() == "base"

    # a registry that refuses: the message says so and names the instance; nothing else stops
    engine.images.remove(image_name(published), force=True)
    code = main(["images", "pull", "--dataset", str(root), "--registry", refusing_registry, "--out", str(out)])
    assert code == 1
    outcomes = record(out, "pull")
    assert [o["status"] for o in outcomes.values()] == ["failed", "failed"]
    assert all("refused or failed" in o["message"] and refusing_registry in o["message"] for o in outcomes.values())
    assert "token" in outcomes[published]["message"] or "unauthorized" in outcomes[published]["message"].lower()
