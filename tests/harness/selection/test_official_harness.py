"""predictions.jsonl as the official swebench 5.0.2 harness takes it: `monkeys select` on a task repo (blanked or
not: the same file), then swebench's own `run_evaluation.main` grades it against the same task repo in Docker."""

import json
import uuid

import pytest

from harness.cli import main
from tests.swebench_task_repo import GOLD, write_task_repo

WRONG = GOLD.replace("a + b", "a * b")


@pytest.fixture
def tagged_images(docker_engine):
    made: list[str] = []
    yield made
    for image in made:
        try:
            docker_engine.images.remove(image, force=True)
        except Exception:  # noqa: BLE001 - already gone
            pass


def test_the_official_harness_accepts_and_grades_the_selected_patches(tmp_path, monkeypatch, docker_engine, tagged_images):
    from swebench.harness.run_evaluation import main as run_evaluation

    tag = uuid.uuid4().hex[:10]
    ids = ["tiny__calc-1", "tiny__calc-2", "tiny__calc-3"]
    repos = {}
    for kind in ("full", "blank"):
        root = tmp_path / kind
        for iid in ids:
            write_task_repo(root, [iid], image=f"monkeys-test/sweb.eval.x86_64.{iid}:{tag}")
        repos[kind] = root
    for task in (repos["blank"] / "tasks").iterdir():
        (task / "tests.json").write_text(json.dumps({"FAIL_TO_PASS": [], "PASS_TO_PASS": []}))
        (task / "gold.patch").write_text("")
        (task / "test.patch").write_text("")
    preds = tmp_path / "attempts.jsonl"
    # calc-1: the fix wins the vote; calc-2: a wrong patch wins it; calc-3: only an empty attempt
    attempts = [("tiny__calc-1", GOLD), ("tiny__calc-1", WRONG), ("tiny__calc-1", GOLD),
                ("tiny__calc-2", WRONG), ("tiny__calc-2", GOLD), ("tiny__calc-2", WRONG), ("tiny__calc-3", "")]
    preds.write_text("".join(json.dumps({"instance_id": i, "model_name_or_path": "agent", "model_patch": p}) + "\n"
                             for i, p in attempts))
    outs = {}
    for kind, root in repos.items():
        out = tmp_path / f"sel-{kind}"
        assert main(["select", "--dataset", str(root), "--samples", str(preds), "--out", str(out),
                     "--model", "team/monkeys-vote"]) == 0
        outs[kind] = out / "predictions.jsonl"
    assert outs["full"].read_text() == outs["blank"].read_text()
    for iid in ids[:2]:  # the official harness pulls a missing image; here none can be pulled
        image = f"monkeys-test/sweb.eval.x86_64.{iid}:{tag}"
        docker_engine.images.build(path=str(repos["full"] / "tasks" / iid), tag=image, rm=True)
        tagged_images.append(image)
    monkeypatch.chdir(tmp_path)  # the harness writes logs/ under the working directory
    report_path = run_evaluation(dataset_name="SWE-bench/SWE-bench_Lite", split="test", instance_ids=None,
                                 predictions_path=str(outs["full"]), max_workers=1, open_file_limit=4096,
                                 run_id=f"select-{tag}", timeout=300, rewrite_reports=False, modal=False,
                                 report_dir=str(tmp_path / "reports"), task_repo=str(repos["full"]))
    report = json.loads(open(report_path).read())
    assert report["submitted_ids"] == ["tiny__calc-1", "tiny__calc-2"]  # no line for calc-3, no empty patch sent
    assert report["resolved_ids"] == ["tiny__calc-1"] and report["unresolved_ids"] == ["tiny__calc-2"]
    assert report["error_ids"] == [] and report["empty_patch_ids"] == []
