"""SWE-bench datasets as users hold them: a swebench 5 task repo directory, JSON exports, the hub.

The task repo is written by the test (tests/swebench_task_repo.py) in the layout of a real one; the hub is
unreachable here, so `datasets.load_dataset` is replaced by a function returning rows the test made.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import ConfigError, DatasetConfig, config_from_dict
from harness.problems.base import DatasetError, SkipsInstances
from harness.problems.gsm8k import GSM8KTask
from harness.problems.swebench import SWEBenchTask
from tests.swebench_task_repo import GOLD, write_task, write_task_repo

IDS = ["tiny__calc-1", "tiny__calc-2", "tiny__calc-3"]


def test_a_task_repo_reads_as_swebench_reads_it(tmp_path: Path) -> None:
    from swebench.task.repo import load_task_repo

    root = write_task_repo(tmp_path / "repo", IDS)
    task = SWEBenchTask()
    problems = task.load(DatasetConfig(path=root))
    assert [p.id for p in problems] == IDS and task.skipped_instances() == {}
    theirs = {row["instance_id"]: row for row in load_task_repo(root)}
    for problem in problems:
        row = theirs[problem.id]
        for name in ("patch", "test_patch", "eval_script", "image", "log_parser", "eval_type", "base_commit",
                     "FAIL_TO_PASS", "PASS_TO_PASS", "hints_text"):
            assert problem.data[name] == row[name], name
        assert problem.question == row["problem_statement"]
    assert problems[0].data["patch"] == GOLD


def test_split_and_ids(tmp_path: Path) -> None:
    root = write_task_repo(tmp_path / "repo", IDS[:2])
    write_task(root, "tiny__calc-9", split="dev")
    assert [p.id for p in SWEBenchTask().load(DatasetConfig(path=root))] == IDS[:2]
    assert [p.id for p in SWEBenchTask().load(DatasetConfig(path=root, split="dev"))] == ["tiny__calc-9"]
    # named by id, an instance comes from any split (as swebench's select_tasks does)
    assert [p.id for p in SWEBenchTask().load(DatasetConfig(path=root, ids=["tiny__calc-9", "tiny__calc-1"]))] == [
        "tiny__calc-1", "tiny__calc-9"]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("# wanted\ntiny__calc-2\n\n")
    assert [p.id for p in SWEBenchTask().load(DatasetConfig(path=root, ids_file=ids_file))] == ["tiny__calc-2"]
    with pytest.raises(DatasetError, match="no task directory for 1 instance id.*tiny__calc-7"):
        SWEBenchTask().load(DatasetConfig(path=root, ids=["tiny__calc-7", "tiny__calc-1"]))


@pytest.mark.parametrize(("breakage", "needle"), [
    (lambda d: (d / "tests.json").unlink(), "missing tests.json"),
    (lambda d: (d / "eval.sh").unlink(), "missing eval.sh"),
    (lambda d: (d / "task.yaml").unlink(), "missing task.yaml"),
    (lambda d: (d / "tests.json").write_text("{not json"), "tests.json: not valid JSON"),
    (lambda d: (d / "task.yaml").write_text("a: [b\n"), "task.yaml: not valid YAML"),
    (lambda d: (d / "task.yaml").write_text(yaml.safe_dump({**yaml.safe_load((d / "task.yaml").read_text()),
                                                            "instance_id": "other__x-1"})), "differs from its directory"),
    (lambda d: (d / "task.yaml").write_text(yaml.safe_dump({**yaml.safe_load((d / "task.yaml").read_text()),
                                                            "log_parser": "parse_nothing"})), "not a swebench parser"),
    (lambda d: (d / "eval.sh").write_text("  \n"), "eval.sh is empty"),
])
def test_a_broken_task_directory_is_named_and_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       breakage: Any, needle: str) -> None:
    root = write_task_repo(tmp_path / "repo", IDS)
    breakage(root / "tasks" / "tiny__calc-2")
    task = SWEBenchTask()
    problems = task.load(DatasetConfig(path=root))
    assert [p.id for p in problems] == ["tiny__calc-1", "tiny__calc-3"]
    assert isinstance(task, SkipsInstances)
    [(instance, message)] = task.skipped_instances().items()
    assert instance == "tiny__calc-2" and needle in message and "instance tiny__calc-2" in message
    assert message in capsys.readouterr().err
    # a later load of the good instances only has nothing to report
    assert [p.id for p in task.load(DatasetConfig(path=root, ids=["tiny__calc-3"]))] == ["tiny__calc-3"]
    assert task.skipped_instances() == {}
    with pytest.raises(DatasetError, match="no readable task selected.*tiny__calc-2"):
        task.load(DatasetConfig(path=root, ids=["tiny__calc-2"]))


def test_not_a_task_repo(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="swebench 5 task repo, with a tasks/ folder"):
        SWEBenchTask().load(DatasetConfig(path=tmp_path / "empty"))
    with pytest.raises(DatasetError, match="only task swebench reads a directory"):
        GSM8KTask().load(DatasetConfig(path=tmp_path / "empty"))


def test_a_run_config_names_a_task_repo_and_a_missing_one_fails_early(tmp_path: Path) -> None:
    from harness.pipeline import prepare

    root = write_task_repo(tmp_path / "repo", IDS[:1])
    base = {"name": "t", "task": "swebench", "model": {"backend": "simulated"}, "sampling": {"samples_per_problem": 1}}
    prepared = prepare(config_from_dict({**base, "dataset": {"path": "repo"}}, "t.yaml", tmp_path), )
    assert [p.id for p in prepared.problems] == IDS[:1]
    with pytest.raises(ConfigError, match="dataset.path: file not found: .*nowhere"):
        prepare(config_from_dict({**base, "dataset": {"path": "nowhere"}}, "t.yaml", tmp_path))


def test_the_hub_full_swebench_with_lite_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`SWE-bench/SWE-bench` rows (here made by the test, as the hub would give them), Lite's ids from a file."""
    from swebench.task.repo import load_task_repo

    root = write_task_repo(tmp_path / "repo", IDS)
    hub_rows = [{**row, "FAIL_TO_PASS": json.dumps(row["FAIL_TO_PASS"])} for row in load_task_repo(root)]
    calls = []

    def load_dataset(name: str, config: str | None, split: str) -> list[dict[str, Any]]:
        calls.append((name, split))
        return hub_rows

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    lite = tmp_path / "lite_ids.txt"
    lite.write_text("tiny__calc-3\ntiny__calc-1\n")
    problems = SWEBenchTask().load(DatasetConfig(hub="SWE-bench/SWE-bench", ids_file=lite))
    assert calls == [("SWE-bench/SWE-bench", "test")]
    assert [p.id for p in problems] == ["tiny__calc-1", "tiny__calc-3"]
    assert problems[0].data["FAIL_TO_PASS"] == ["test_calc.py::test_add"]
    lite.write_text("tiny__calc-1\nnot__there-1\n")
    with pytest.raises(DatasetError, match="dataset.ids_file: 1 unknown problem id.*not__there-1"):
        SWEBenchTask().load(DatasetConfig(hub="SWE-bench/SWE-bench", ids_file=lite))


@pytest.mark.parametrize("name", ["swebench_real.yaml", "agent/kit_simulated.yaml"])
def test_the_kit_configs_name_the_task_repo_beside_the_checkout(name: str, tmp_path: Path) -> None:
    from harness.config import load_config
    from harness.pipeline import prepare

    root = Path(__file__).resolve().parents[3]
    config = load_config(root / "configs" / name)
    assert config.task == "swebench" and config.agent is not None
    assert config.dataset.path == (root.parent / "shared" / "swebench_real").resolve()
    repo = write_task_repo(tmp_path / "kit", IDS[:2])  # the path is overridable
    prepared = prepare(load_config(root / "configs" / name, [f"dataset.path={repo}"]))
    assert [p.id for p in prepared.problems] == IDS[:2]


def test_skipped_instances_are_recorded_in_the_run(tmp_path: Path) -> None:
    from harness.pipeline import open_run, prepare, record_skipped_instances

    root = write_task_repo(tmp_path / "repo", IDS[:2])
    (root / "tasks" / IDS[1] / "gold.patch").unlink()
    config = config_from_dict({"name": "t", "task": "swebench", "model": {"backend": "simulated"},
                               "dataset": {"path": str(root)}, "sampling": {"samples_per_problem": 1}}, "t")
    prepared = prepare(config)
    store = open_run(prepared, tmp_path / "run")
    try:
        record_skipped_instances(store, prepared.task)
        meta = store.meta()
        assert meta is not None
        [note] = meta.backend_notes.values()
        assert "left out" in note and IDS[1] in note and "missing gold.patch" in note
    finally:
        store.close()
