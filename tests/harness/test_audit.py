"""Replay and audit on real run directories made by the pipeline (GSM8K and HumanEval rows the test writes)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from harness.audit.findings import audit, write_audit
from harness.audit.replay import replay
from harness.config import ConfigError, config_from_dict
from harness.pipeline import execute

HOSTILE = "<script>document.title='PWNED'</script><img src=x onerror=\"document.title='PWNED'\"> so #### 41"

GSM8K_ROWS = [
    {"question": "Tom has 3 apples and buys 4 more. How many apples does he have?", "answer": "3 + 4 = 7\n#### 7"},
    {"question": "What is 20 + 21? <b>not bold</b>", "answer": "20 + 21 = 41\n#### 41"},
    {"question": "What is 2 * 50?", "answer": "2 * 50 = 100\n#### 100"},
]
GSM8K_SAMPLES = {
    "0": ["3 + 4 = 7\n#### 7", "#### 8", "The answer is 7.", "no idea at all"],
    "1": [HOSTILE, "#### 40", HOSTILE, "20 + 21 is 41\n#### 41"],
    "2": ["#### 99", "#### 99", "#### 99", ""],
}

HUMANEVAL_ROWS = [
    {"task_id": "T/0", "prompt": "def add(a: int, b: int) -> int:\n    \"\"\"Sum of a and b.\"\"\"\n",
     "canonical_solution": "    return a + b\n", "entry_point": "add",
     "test": "\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"},
    {"task_id": "T/1", "prompt": "def neg(x: int) -> int:\n    \"\"\"Minus x.\"\"\"\n",
     "canonical_solution": "    return -x\n", "entry_point": "neg",
     "test": "\n\ndef check(candidate):\n    assert candidate(2) == -2\n"},
]
HUMANEVAL_SAMPLES = {
    "T/0": ["    return a + b\n", "    return a - b\n", "    return a + b\n",
            "    s = \"</pre><script>document.title='PWNED'</script>\"\n    return a + b\n"],
    "T/1": ["    return x\n", "    return x\n", "I cannot write this function.", "    return -x\n"],
}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def make_run(tmp_path: Path, task: str, rows: list[dict[str, Any]], samples: dict[str, list[str]]) -> Path:
    """A real run directory: the pipeline replays these completions, verifies and reports."""
    dataset = write_jsonl(tmp_path / f"{task}.jsonl", rows)
    sample_rows = [{"problem_id": pid, "completion": text} for pid, texts in samples.items() for text in texts]
    samples_path = write_jsonl(tmp_path / f"{task}-samples.jsonl", sample_rows)
    config = config_from_dict({
        "name": f"audit_{task}", "task": task, "dataset": {"path": str(dataset)},
        "model": {"backend": "replay", "path": str(samples_path)},
        "sampling": {"samples_per_problem": 4, "n_per_request": 2}, "verify": {"workers": 1},
    })
    run_dir = tmp_path / f"run_{task}"
    execute(config, run_dir, show_progress=False)
    return run_dir


def make_simulated_run(tmp_path: Path) -> Path:
    dataset = write_jsonl(tmp_path / "sim.jsonl", GSM8K_ROWS)
    config = config_from_dict({
        "name": "audit_sim", "task": "gsm8k", "dataset": {"path": str(dataset)},
        "model": {"backend": "simulated", "alpha": 1.0, "beta": 1.0},
        "sampling": {"samples_per_problem": 40, "n_per_request": 8}, "verify": {"workers": 1},
    })
    run_dir = tmp_path / "run_sim"
    execute(config, run_dir, show_progress=False)
    return run_dir


def tamper(run_dir: Path, problem_id: str, status: str) -> str:
    """Flip a stored verdict of this problem to `status`; returns the candidate key flipped."""
    db = sqlite3.connect(run_dir / "run.sqlite")
    with db:
        (key,) = db.execute("SELECT candidate_key FROM verdicts WHERE problem_id = ? AND status != ? "
                              "ORDER BY candidate_key LIMIT 1", (problem_id, status)).fetchone()
        db.execute("UPDATE verdicts SET status = ? WHERE problem_id = ? AND candidate_key = ?", (status, problem_id, key))
    db.close()
    return key


def attempt_with_key(run_dir: Path, problem_id: str, key: str) -> int:
    db = sqlite3.connect(run_dir / "run.sqlite")
    idx = db.execute("SELECT MIN(idx) FROM attempts WHERE problem_id = ? AND candidate_key = ?", (problem_id, key)).fetchone()[0]
    db.close()
    return idx


@pytest.fixture
def gsm8k_run(tmp_path: Path) -> Path:
    return make_run(tmp_path, "gsm8k", GSM8K_ROWS, GSM8K_SAMPLES)


@pytest.fixture
def code_run(tmp_path: Path) -> Path:
    return make_run(tmp_path, "humaneval", HUMANEVAL_ROWS, HUMANEVAL_SAMPLES)


# ---------------------------------------------------------------- replay


def test_replay_agrees_with_the_pipeline_on_math(gsm8k_run: Path):
    for problem_id, index, status in [("0", 0, "passed"), ("0", 1, "failed"), ("1", 0, "passed")]:
        result = replay(gsm8k_run, problem_id, index)
        assert result.agrees is True, result.render()
        assert result.stored.status.value == result.replayed.status.value == status
        assert "AGREES" in result.render()


def test_replay_agrees_on_code_in_the_sandbox(code_run: Path):
    passed = replay(code_run, "T/0", 0)
    failed = replay(code_run, "T/0", 1)
    assert passed.agrees and passed.replayed.passed
    assert failed.agrees and not failed.replayed.passed
    assert passed.attempts == [0, 2], "identical programs share one candidate"


def test_replay_of_an_attempt_without_candidate_says_why(gsm8k_run: Path):
    result = replay(gsm8k_run, "0", 3)
    assert result.agrees is None and result.replayed is None
    assert "no answer" in result.note


def test_replay_of_a_missing_attempt_is_a_clear_error(gsm8k_run: Path):
    with pytest.raises(ConfigError, match="no attempt 99"):
        replay(gsm8k_run, "0", 99)


def test_tampered_verdict_is_a_disagreement_in_replay_and_audit(gsm8k_run: Path):
    key = tamper(gsm8k_run, "0", "failed")  # a correct answer now stored as failed
    index = attempt_with_key(gsm8k_run, "0", key)
    result = replay(gsm8k_run, "0", index)
    assert result.agrees is False and result.status_agrees is False and result.passed_agrees is False
    text = result.render()
    assert "DISAGREES" in text and "stored  : failed" in text and "replayed: passed" in text
    summary = audit(gsm8k_run, replay_sample=100)
    assert summary.replay["replayed"] == summary.dedup["unique_candidates"]
    assert summary.disagreements == 1
    found = summary.replay["disagreements"][0]
    assert (found["problem_id"], found["stored_status"], found["replayed_status"]) == ("0", "failed", "passed")
    assert "1 DISAGREE" in summary.render()


def test_tampered_code_verdict_is_found(code_run: Path):
    tamper(code_run, "T/1", "passed")
    summary = audit(code_run, replay_sample=10, workers=1)
    assert [d["problem_id"] for d in summary.replay["disagreements"]] == ["T/1"]


# ---------------------------------------------------------------- audit


def test_audit_counts_and_dedup(gsm8k_run: Path):
    summary = audit(gsm8k_run)
    assert summary.problems == 3 and summary.attempts == 12
    assert summary.statuses["no_answer"] == 2  # "no idea at all" and ""
    assert summary.no_answer.count == 2
    assert summary.replay is None and summary.disagreements == 0
    # problem 0: "7" x2 (attempts 0, 2) and "8"; problem 1: "41" x3 and "40"; problem 2: "99" x3
    dedup = summary.dedup
    assert (dedup["attempts_with_candidate"], dedup["unique_candidates"]) == (10, 5)
    assert dedup["per_problem"]["max"] == 3.0 and dedup["per_problem"]["max_problem"] == "2"
    assert dedup["per_problem"]["min"] == 1.5
    assert summary.unverified_candidates.count == 0 and summary.attempts_without_verdict.count == 0


def test_audit_finds_verdicts_of_an_old_verifier_version(gsm8k_run: Path):
    db = sqlite3.connect(gsm8k_run / "run.sqlite")
    with db:
        db.execute("UPDATE verdicts SET version = 'old' WHERE problem_id = '2'")
    db.close()
    summary = audit(gsm8k_run)
    assert summary.unverified_candidates.count == 1
    assert summary.attempts_without_verdict.count == 1 and summary.attempts_without_verdict.attempts == 3
    assert any(name.endswith(" old") for name in summary.stored_versions)
    result = replay(gsm8k_run, "2", 0)
    assert "no stored verdict from" in result.note and result.agrees is True
    sampled = audit(gsm8k_run, replay_sample=100).replay  # the stale candidate is replayed too, against its old verdict
    assert sampled["replayed"] == 5 and sampled["against_older_versions"] == 1
    assert "re-verif" not in summary.render() and "verifies them with the current verifier" in summary.render()


def test_audit_of_code_counts_no_answer_and_renders(code_run: Path):
    summary = audit(code_run, replay_sample=3, seed=1, workers=1)
    assert summary.no_answer.count == 1 and summary.replay["replayed"] == 3 and summary.disagreements == 0
    assert summary.statuses["passed"] == 4  # T/0 attempts 0, 2, 3 and T/1 attempt 3
    text = summary.render()
    assert "no answer extracted: 1" in text and "attempts per unique candidate" in text


def test_audit_json_round_trips_and_lists_model_errors(gsm8k_run: Path):
    db = sqlite3.connect(gsm8k_run / "run.sqlite")
    with db:
        db.execute("UPDATE attempts SET status = 'error', error = 'HTTP 503', candidate_key = NULL "
                   "WHERE problem_id = '2' AND idx = 3")
    db.close()
    summary = audit(gsm8k_run, replay_sample=2)
    assert summary.model_errors.count == 1 and summary.model_errors.examples[0]["error"] == "HTTP 503"
    path = write_audit(summary, gsm8k_run)
    data = json.loads(path.read_text())
    assert data["model_errors"]["count"] == 1 and data["replay"]["replayed"] == 2


def test_simulated_run_replays_clean(tmp_path: Path):
    run_dir = make_simulated_run(tmp_path)
    summary = audit(run_dir, replay_sample=1000)
    assert summary.attempts == 120 and summary.disagreements == 0
    assert summary.replay["replayed"] == summary.dedup["unique_candidates"] > 3


# ---------------------------------------------------------------- SWE-bench (Docker, the toy instance)


@pytest.mark.timeout(900)
def test_swebench_replay_keeps_its_logs_apart_and_reuses_flake_checks(tmp_path: Path):
    from tests.swebench_toy import build_toy_instance, toy_patch

    row, _ = build_toy_instance()
    dataset = write_jsonl(tmp_path / "toy.jsonl", [row])
    completions = [toy_patch("gold"), toy_patch("wrong"), "no idea"]
    samples = write_jsonl(tmp_path / "samples.jsonl", [{"problem_id": row["instance_id"], "completion": c} for c in completions])
    config = config_from_dict({
        "name": "audit_swe", "task": "swebench", "dataset": {"path": str(dataset)},
        "model": {"backend": "replay", "path": str(samples)}, "sampling": {"samples_per_problem": 3},
        "verify": {"workers": 1, "options": {"flake_runs": 1, "majority_runs": 1, "eval_timeout_s": 120}},
    })
    run_dir = tmp_path / "run"
    execute(config, run_dir, show_progress=False)
    original = sorted((run_dir / "swebench_logs").rglob("*.log"))
    before = {path: path.stat().st_mtime_ns for path in original}

    gold, wrong = replay(run_dir, row["instance_id"], 0), replay(run_dir, row["instance_id"], 1)
    assert gold.agrees is True and gold.replayed.passed and wrong.agrees is True and not wrong.replayed.passed
    replay_log = Path(json.loads(gold.replayed.evidence)["log"])
    assert replay_log.is_file() and (run_dir / "replay") in replay_log.parents
    assert {path: path.stat().st_mtime_ns for path in original} == before, "replay must not touch the run's logs"
    assert not list((run_dir / "replay").rglob("gold.flake*.log")), "the run's flake check is reused, not re-run"

    from harness.audit.site import write_audit_site

    site = write_audit_site(run_dir)  # the real run's site: one test log per unique patch, loaded on click
    chunks = list((site.parent / "data" / "a").glob("*.js"))
    assert len(chunks) == 1 and chunks[0].read_text().count('"kind":"text"') == 2
