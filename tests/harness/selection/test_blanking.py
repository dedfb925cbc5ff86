"""Selection reads no hidden field: FAIL_TO_PASS, PASS_TO_PASS, test_patch and the gold patch blanked
(emptied, nulled or removed) give identical predictions, for every model-free selector, from every
input: a dataset file or a swebench 5 task repo directory, with predictions (JSONL or JSON) or samples,
and from a run directory."""

import json
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from tests.harness.selection.test_normalize import diff
from tests.swebench_task_repo import GOLD, write_task_repo

FIX = diff("m.py", ["    return a"], ["    return a + 1"])
FIX2 = diff("m.py", ["    return a"], ["    return (a+1)  # fixed"], start=9)
WRONG = diff("m.py", ["    return a"], ["    return a - 1"])
OTHER = diff("m.py", ["    return a"], ["    return 0"])
HIDDEN = ("FAIL_TO_PASS", "PASS_TO_PASS", "test_patch", "patch")
ALL_MODEL_FREE = "selectors:\n" + "".join(f"  - {{choose: {c}}}\n" for c in ("majority_vote", "reward_score", "random", "first"))
ATTEMPTS = [("o__r-0", WRONG, 0.2), ("o__r-0", FIX, 0.1), ("o__r-0", FIX2, None), ("o__r-0", OTHER, 0.9),
            ("o__r-1", WRONG, None), ("o__r-1", OTHER, None), ("o__r-2", "", None), ("o__r-3", FIX, 0.5)]


def rows(blank: str) -> list[dict]:
    out = []
    for n in range(4):
        row = {"instance_id": f"o__r-{n}", "repo": "o/r", "base_commit": "abc", "version": "1.0",
               "problem_statement": f"issue {n}", "FAIL_TO_PASS": '["t.py::a"]', "PASS_TO_PASS": '["t.py::b"]',
               "test_patch": diff("t.py", ["x"], ["y"]), "patch": FIX, "image": "img:1"}
        if blank == "empty":
            row.update(FAIL_TO_PASS="[]", PASS_TO_PASS=[], test_patch="", patch="")
        elif blank == "null":
            row.update(dict.fromkeys(HIDDEN))
        elif blank == "removed":
            row = {k: v for k, v in row.items() if k not in HIDDEN}
        out.append(row)
    return out


def write_samples(tmp: Path, form: str) -> Path:
    if form == "predictions.jsonl":
        text = "".join(json.dumps({"instance_id": i, "model_name_or_path": "m", "model_patch": p, "score": s}) + "\n"
                       for i, p, s in ATTEMPTS)
    elif form == "samples.jsonl":  # completions: the patch is found in the text
        text = "".join(json.dumps({"problem_id": i, "completion": f"The fix:\n```diff\n{p}```\n" if p else "no idea",
                                   "score": s}) + "\n" for i, p, s in ATTEMPTS)
    else:  # swebench predictions as JSON: a list (here several per instance)
        text = json.dumps([{"instance_id": i, "model_name_or_path": "m", "model_patch": p} for i, p, _ in ATTEMPTS])
    path = tmp / form.replace("predictions.json", "preds.json")
    path.write_text(text)
    return path


def select(tmp: Path, tag: str, *args: str) -> tuple[str, dict]:
    out = tmp / f"out-{tag}"
    config = tmp / "all.yaml"
    config.write_text(ALL_MODEL_FREE)
    assert main(["select", *args, "--out", str(out), "--config", str(config), "--model", "team/sys"]) == 0
    detail = json.loads((out / "selection.json").read_text())
    return (out / "predictions.jsonl").read_text(), {name: [s["selected"] for s in picks] for name, picks in detail.items()}


@pytest.mark.parametrize("form", ["predictions.jsonl", "samples.jsonl", "predictions.json"])
def test_blanked_dataset_files_give_identical_predictions_for_every_selector(tmp_path, form):
    samples = write_samples(tmp_path, form)
    got = {}
    for blank in ("none", "empty", "null", "removed"):
        dataset = tmp_path / f"data-{blank}.jsonl"
        dataset.write_text("".join(json.dumps(r) + "\n" for r in rows(blank)))
        got[blank] = select(tmp_path, f"{form}-{blank}", "--dataset", str(dataset), "--samples", str(samples))
    assert all(value == got["none"] for value in got.values())
    predictions, picks = got["none"]
    assert set(picks) == {"majority_vote", "reward_score", "random", "first"}
    lines = [json.loads(line) for line in predictions.splitlines()]
    assert [r["instance_id"] for r in lines] == ["o__r-0", "o__r-1", "o__r-3"]  # o__r-2: only an empty patch
    assert all(set(r) == {"instance_id", "model_name_or_path", "model_patch"} for r in lines)
    assert lines[0]["model_patch"] in (FIX, FIX2) and lines[2]["model_patch"] == FIX
    if form != "predictions.json":  # the JSON list carries no scores
        assert picks["reward_score"][0] == 3  # OTHER has the top score
    assert all(p is None for p in (picks[name][2] for name in picks))


def test_a_blanked_run_directory_gives_identical_predictions(tmp_path):
    from harness.records import Attempt, AttemptStatus, Candidate, Problem
    from harness.store import RunStore

    got = []
    for blank in ("none", "removed", "empty"):
        run = tmp_path / f"run-{blank}"
        store = RunStore(run)
        store.put_problems([Problem(id=r["instance_id"], task="swebench", question=r.get("problem_statement", ""), data=r)
                            for r in rows(blank)])
        attempts, candidates = [], []
        for index, (pid, patch, score) in enumerate(ATTEMPTS):
            key = f"k{index}" if patch else None
            attempts.append(Attempt(problem_id=pid, index=index, seed=index, status=AttemptStatus.OK, text=patch or "none",
                                    candidate_key=key, score=score))
            if key:
                candidates.append(Candidate(problem_id=pid, key=key, content=patch))
        store.add_attempts(attempts, candidates)
        store.close()
        got.append(select(tmp_path, f"run-{blank}", str(run)))
    assert got[0] == got[1] == got[2]
    assert [json.loads(line)["instance_id"] for line in got[0][0].splitlines()] == ["o__r-0", "o__r-1", "o__r-3"]


def blank_task_repo(root: Path) -> None:
    for task in (root / "tasks").iterdir():
        (task / "tests.json").write_text(json.dumps({"FAIL_TO_PASS": [], "PASS_TO_PASS": []}))
        (task / "gold.patch").write_text("")
        (task / "test.patch").write_text("")


def test_a_task_repo_is_read_as_verify_reads_it_and_blanking_it_changes_nothing(tmp_path, capsys):
    ids = ["tiny__calc-1", "tiny__calc-2", "tiny__calc-3"]
    full, blanked = write_task_repo(tmp_path / "full", ids), write_task_repo(tmp_path / "blank", ids)
    blank_task_repo(blanked)
    wrong = GOLD.replace("a + b", "a * b")
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"instance_id": i, "model_name_or_path": "m", "model_patch": p}) + "\n"
                             for i, p in [("tiny__calc-1", GOLD), ("tiny__calc-1", wrong), ("tiny__calc-1", GOLD),
                                          ("tiny__calc-3", wrong), ("elsewhere__x-1", GOLD)]))
    a = select(tmp_path, "full", "--dataset", str(full), "--samples", str(preds))
    b = select(tmp_path, "blank", "--dataset", str(blanked), "--samples", str(preds))
    assert a == b
    lines = [json.loads(line) for line in a[0].splitlines()]
    assert [(r["instance_id"], r["model_patch"]) for r in lines] == [("tiny__calc-1", GOLD), ("tiny__calc-3", wrong)]
    err = capsys.readouterr().err
    assert "1 instance(s)" in err and "elsewhere__x-1" in err  # predictions for instances the dataset lacks: said
    assert "no candidate (no line): tiny__calc-2" in err
    report = (tmp_path / "out-full" / "report.md").read_text()
    assert "tiny__calc-2" in report and "not graded" in report


def test_selection_never_reads_a_hidden_field(tmp_path, monkeypatch):
    """The rows handed to pools raise on any access to a hidden field."""
    from harness.selection import pools as pools_module

    class Guarded(dict):
        def __getitem__(self, key):
            assert key not in HIDDEN, key
            return super().__getitem__(key)

        def get(self, key, default=None):
            assert key not in HIDDEN, key
            return super().get(key, default)

    monkeypatch.setattr(pools_module, "dataset_rows", lambda path: [Guarded(r) for r in rows("none")])
    samples = write_samples(tmp_path, "predictions.jsonl")
    predictions, _ = select(tmp_path, "guarded", "--dataset", str(tmp_path), "--samples", str(samples))
    assert predictions.count("\n") == 3


def test_task_yaml_image_reaches_the_pool(tmp_path):
    from harness.selection.pools import pools_from_files

    root = write_task_repo(tmp_path / "repo", ["tiny__calc-1"], image="example/calc:7")
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"instance_id": "tiny__calc-1", "model_patch": GOLD}) + "\n")
    (pool,) = pools_from_files(root, preds)
    assert pool.instance.image == "example/calc:7" and pool.instance.repo == "tiny/calc"
    rows_file = tmp_path / "rows.jsonl"  # a row without an image gets swebench's own name for it, as verify does
    rows_file.write_text(json.dumps({"instance_id": "tiny__calc-1", "repo": "tiny/calc"}) + "\n")
    (pool,) = pools_from_files(rows_file, preds)
    assert pool.instance.image == "sweb.eval.x86_64.tiny__calc-1:latest"
    assert yaml.safe_load((root / "tasks/tiny__calc-1/task.yaml").read_text())["image"] == "example/calc:7"
