import sqlite3

import pytest

from harness.records import Attempt, AttemptStatus, Candidate, Problem, Verdict, VerdictStatus
from harness.store import RunStore


def attempt(pid: str, idx: int, key: str | None = "1", status=AttemptStatus.OK) -> Attempt:
    return Attempt(problem_id=pid, index=idx, seed=idx, status=status, text=f"t{idx}", candidate_key=key)


def test_attempts_round_trip_and_done_indices(tmp_path):
    store = RunStore(tmp_path)
    store.put_problems([Problem(id="a", task="t", question="q")])
    store.add_attempts([attempt("a", 0), attempt("a", 1, key=None)], [Candidate(problem_id="a", key="1", content="1")])
    assert store.done_indices() == {"a": {0, 1}}
    assert [a.candidate_key for a in store.attempts()] == ["1", None]
    assert store.problems()[0].id == "a"


def test_a_batch_is_all_or_nothing(tmp_path):
    store = RunStore(tmp_path)
    store.add_attempts([attempt("a", 0)], [])
    with pytest.raises(sqlite3.IntegrityError):
        store.add_attempts([attempt("a", 1), attempt("a", 0)], [Candidate(problem_id="a", key="9", content="9")])
    assert store.done_indices() == {"a": {0}}
    assert store.count_candidates() == 0


def test_identical_candidates_are_stored_once_and_verified_once(tmp_path):
    store = RunStore(tmp_path)
    cand = Candidate(problem_id="a", key="1", content="1")
    store.add_attempts([attempt("a", i) for i in range(5)], [cand] * 5)
    assert store.unverified_candidates("v", "1") == [cand]
    store.add_verdicts([(cand, Verdict(status=VerdictStatus.PASSED, verifier="v", verifier_version="1"))])
    assert store.unverified_candidates("v", "1") == []
    assert store.unverified_candidates("v", "2") == [cand]  # a new verifier version judges again
    assert store.verdicts_by_candidate("v", "1")[("a", "1")].passed


def test_error_attempts_can_be_cleared_for_retry(tmp_path):
    store = RunStore(tmp_path)
    store.add_attempts([attempt("a", 0), attempt("a", 1, key=None, status=AttemptStatus.ERROR)], [])
    assert store.delete_error_attempts() == 1
    assert store.done_indices() == {"a": {0}}


def test_store_reopens_with_wal(tmp_path):
    RunStore(tmp_path).set_meta({"k": "v"})
    store = RunStore(tmp_path)
    assert store.get_meta("k") == "v"
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_scores_round_trip_and_stay_null_when_absent(tmp_path):
    store = RunStore(tmp_path)
    scored = attempt("a", 0).model_copy(update={"score": -0.25})
    store.add_attempts([scored, attempt("a", 1)], [Candidate(problem_id="a", key="1", content="1")])
    assert [a.score for a in store.attempts()] == [-0.25, None]


def test_a_store_from_before_scores_is_migrated_and_keeps_its_attempts(tmp_path):
    # The attempts table as older versions made it: no score column.
    db = sqlite3.connect(tmp_path / "run.sqlite")
    db.execute("""CREATE TABLE attempts (
        problem_id TEXT NOT NULL, idx INTEGER NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL,
        text TEXT NOT NULL, finish_reason TEXT, prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL, error TEXT, candidate_key TEXT, latency_s REAL NOT NULL,
        PRIMARY KEY (problem_id, idx))""")
    db.execute("INSERT INTO attempts VALUES ('a', 0, 0, 'ok', 'old', NULL, 3, 4, NULL, '1', 0.5)")
    db.commit()
    db.close()
    store = RunStore(tmp_path)
    store.add_attempts([attempt("a", 1).model_copy(update={"score": 0.5})], [])
    old, new = store.attempts()
    assert (old.text, old.prompt_tokens, old.completion_tokens, old.score) == ("old", 3, 4, None)
    assert (new.index, new.score) == (1, 0.5)
    store.close()
    RunStore(tmp_path).close()  # opening a migrated store again changes nothing
