"""`monkeys select` from a dataset plus predictions: hidden fields blanked, identical predictions."""

import json
from pathlib import Path

from harness.cli import main
from tests.harness.selection.test_normalize import diff

FIX = diff("m.py", ["    return a"], ["    return a + 1"])
FIX2 = diff("m.py", ["    return a"], ["    return (a+1)  # fixed"], start=9)
WRONG = diff("m.py", ["    return a"], ["    return a - 1"])


def rows(blank: bool) -> list[dict]:
    out = []
    for n in range(3):
        row = {"instance_id": f"o__r-{n}", "repo": "o/r", "base_commit": "abc", "version": "1.0",
               "problem_statement": f"issue {n}", "FAIL_TO_PASS": '["t::a"]', "PASS_TO_PASS": '["t::b"]',
               "test_patch": diff("t.py", ["x"], ["y"]), "patch": FIX}
        if blank:
            row.update(FAIL_TO_PASS="[]", PASS_TO_PASS="[]", test_patch="", patch="")
        out.append(row)
    return out


def write(tmp: Path, blank: bool) -> tuple[Path, Path]:
    dataset = tmp / f"data-{blank}.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows(blank)))
    preds = tmp / "preds.jsonl"
    lines = [("o__r-0", WRONG), ("o__r-0", FIX), ("o__r-0", FIX2), ("o__r-1", WRONG), ("o__r-2", "")]
    preds.write_text("".join(json.dumps({"instance_id": i, "model_name_or_path": "m", "model_patch": p,
                                         "score": 0.5}) + "\n" for i, p in lines))
    return dataset, preds


def test_blanking_the_hidden_fields_gives_identical_predictions(tmp_path, capsys):
    outs = []
    for blank in (False, True):
        dataset, preds = write(tmp_path, blank)
        out = tmp_path / f"out-{blank}"
        assert main(["select", "--dataset", str(dataset), "--samples", str(preds), "--out", str(out),
                     "--model", "sys"]) == 0
        outs.append((out / "predictions.jsonl").read_text())
    assert outs[0] == outs[1]
    lines = [json.loads(line) for line in outs[0].splitlines()]
    # o__r-2 has only an empty patch: no line
    assert [(r["instance_id"], r["model_name_or_path"]) for r in lines] == [("o__r-0", "sys"), ("o__r-1", "sys")]
    assert lines[0]["model_patch"] in (FIX, FIX2) and lines[1]["model_patch"] == WRONG


def test_grades_give_the_selection_section(tmp_path):
    dataset, preds = write(tmp_path, False)
    grades = tmp_path / "verdicts.jsonl"
    passed = {("o__r-0", 1), ("o__r-0", 2)}
    grades.write_text("".join(json.dumps({"problem_id": i, "sample_index": k, "passed": (i, k) in passed}) + "\n"
                              for i, k in [("o__r-0", 0), ("o__r-0", 1), ("o__r-0", 2), ("o__r-1", 0), ("o__r-2", 0)]))
    out = tmp_path / "out"
    assert main(["select", "--dataset", str(dataset), "--samples", str(preds), "--out", str(out),
                 "--grades", str(grades)]) == 0
    section = json.loads((out / "report.json").read_text())["selection"]
    assert section["instances_without_candidates"] == ["o__r-2"]
    assert section["attempts_simulated"] is False
    assert section["oracle"] == 0.5 and abs(section["random"] - 1 / 3) < 1e-9
    vote = section["selectors"]["majority_vote"]
    assert vote["accuracy"] == 0.5 and abs(vote["gap_closed"] - 1.0) < 1e-9
    assert (out / "selection_k.png").stat().st_size > 0
    md = (out / "report.md").read_text()
    assert "| majority_vote | 50.0%" in md and "o__r-2" in md


def test_select_needs_pools(tmp_path, capsys):
    assert main(["select", "--out", str(tmp_path)]) == 2
    assert "--dataset and --samples" in capsys.readouterr().err


def test_select_from_a_run_directory(tmp_path):
    from harness.records import Attempt, AttemptStatus, Candidate, Problem
    from harness.store import RunMeta, RunStore

    run = tmp_path / "run"
    store = RunStore(run)
    problems = [Problem(id=r["instance_id"], task="swebench", question=r["problem_statement"], data=r) for r in rows(False)]
    store.put_problems(problems)
    attempts, candidates = [], []
    for pid, patches in (("o__r-0", [WRONG, FIX, FIX2, None]), ("o__r-1", [WRONG])):
        for i, patch in enumerate(patches):
            key = None if patch is None else f"k{hash(patch)}"
            attempts.append(Attempt(problem_id=pid, index=i, seed=i, status=AttemptStatus.OK, text=patch or "no diff",
                                    candidate_key=key))
            if patch is not None:
                candidates.append(Candidate(problem_id=pid, key=key, content=patch))
    store.add_attempts(attempts, candidates)
    store.write_meta(RunMeta(identity="x", name="sim", task="swebench", model="simulated", backend="simulated",
                             simulated=True, targets={}))
    store.close()
    (run / "verdicts.jsonl").write_text("".join(json.dumps({"problem_id": p, "sample_index": i, "passed": ok}) + "\n"
                                                for p, i, ok in [("o__r-0", 0, False), ("o__r-0", 1, True),
                                                                 ("o__r-0", 2, True), ("o__r-1", 0, False)]))
    assert main(["select", str(run)]) == 0
    lines = [json.loads(line) for line in (run / "selection" / "predictions.jsonl").read_text().splitlines()]
    assert [r["instance_id"] for r in lines] == ["o__r-0", "o__r-1"]  # o__r-2 has no attempt
    assert lines[0]["model_patch"] in (FIX, FIX2)
    section = json.loads((run / "selection" / "report.json").read_text())["selection"]
    assert section["selectors"]["majority_vote"]["accuracy"] == 0.5
    assert section["instances_without_candidates"] == ["o__r-2"]
    assert section["attempts_simulated"] is True
    assert "made by the SIMULATED model" in (run / "selection" / "report.md").read_text()


def test_bad_input_is_refused_before_any_work_with_a_message_naming_it(tmp_path, capsys):
    dataset, preds = write(tmp_path, False)
    base = ["select", "--dataset", str(dataset), "--samples", str(preds), "--out", str(tmp_path / "o")]
    cases = [("selectors:\n  - {choose: best}\n", "selector 1: choose"),
             ("selectors:\n  - {filters: [reproduction_rank]}\n", "need a model: give --selection-model-url"),
             ("selectors: []\n", "expected `selectors:` with a list"),
             ("selectors: [\n", "not valid YAML")]
    for text, message in cases:
        config = tmp_path / "c.yaml"
        config.write_text(text)
        assert main([*base, "--config", str(config)]) == 2
        assert message in capsys.readouterr().err
    assert main([*base, "--grades", str(tmp_path / "none.jsonl")]) == 2
    assert "--grades: not found" in capsys.readouterr().err
    assert main(["select", "--dataset", str(dataset), "--samples", str(preds)]) == 2
    assert "--out DIR is needed" in capsys.readouterr().err
    assert main(["select", str(tmp_path), "--dataset", str(dataset), "--samples", str(preds)]) == 2
    assert "not both" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_curve_counts_what_the_section_counts(tmp_path):
    dataset, preds = write(tmp_path, False)
    grades = tmp_path / "verdicts.jsonl"
    grades.write_text("".join(json.dumps({"problem_id": i, "sample_index": k, "passed": (i, k) == ("o__r-0", 1)}) + "\n"
                              for i, k in [("o__r-0", 0), ("o__r-0", 1), ("o__r-0", 2), ("o__r-1", 0), ("o__r-2", 0)]))
    out = tmp_path / "out"
    assert main(["select", "--dataset", str(dataset), "--samples", str(preds), "--out", str(out), "--grades", str(grades)]) == 0
    section = json.loads((out / "report.json").read_text())["selection"]
    curve = section["majority_vote_against_k"]
    assert curve["ks"][0] == 1 and abs(curve["coverage"][0] - section["random"]) < 0.02  # o__r-2 (empty only) counted in neither
