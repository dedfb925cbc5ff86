import json
import sqlite3

import pytest

from harness.records import Attempt, AttemptStatus, Candidate, Problem, Verdict, VerdictStatus
from harness.store import RunMeta, RunStore


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


def meta(**changes) -> RunMeta:
    fields = {"identity": "id", "name": "n", "task": "math", "model": "m", "backend": "simulated", "targets": {"a": 2}}
    return RunMeta(**fields | changes)


def test_store_reopens_with_wal(tmp_path):
    RunStore(tmp_path).write_meta(meta(name="v"))
    store = RunStore(tmp_path)
    assert store.meta().name == "v"
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


def test_run_meta_is_typed_and_sampling_time_adds_up(tmp_path):
    store = RunStore(tmp_path)
    assert store.meta() is None
    with pytest.raises(ValueError, match="no run recorded"):
        store.add_sampling_time(1.0)
    store.write_meta(meta(simulated=True))
    assert store.add_sampling_time(1.5) == 1.5
    assert store.add_sampling_time(0.25) == 1.75
    reopened = RunStore(tmp_path).meta()
    assert reopened == meta(simulated=True, sampling_wall_s=1.75)
    assert reopened.targets == {"a": 2} and reopened.cost is None


def test_run_meta_of_an_older_store_is_migrated_on_open(tmp_path):
    # Meta as older versions wrote it: one untyped string per key.
    cost = {"prices_file": "p.yaml", "api": "x", "price": {"input_usd_per_mtok": 1.0, "output_usd_per_mtok": 2.0,
                                                            "source": "s", "as_of": "2024"}}
    old = {"identity": "{\"task\": \"math\"}", "name": "old run", "task": "math", "model": "m", "backend": "simulated",
           "simulated": "1", "tokens_estimated": "0", "targets": json.dumps({"a": 4, "b": 2}),
           "sampling_wall_s": repr(12.345678901234567), "cost": json.dumps(cost), "unrelated": "kept"}
    db = sqlite3.connect(tmp_path / "run.sqlite")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.executemany("INSERT INTO meta VALUES (?, ?)", old.items())
    db.commit()
    db.close()
    store = RunStore(tmp_path)
    migrated = store.meta()
    assert migrated is not None
    assert (migrated.identity, migrated.name, migrated.simulated, migrated.tokens_estimated) == (old["identity"], "old run", True, False)
    assert migrated.targets == {"a": 4, "b": 2} and migrated.sampling_wall_s == 12.345678901234567
    assert migrated.cost is not None and migrated.cost.api == "x" and migrated.cost.price.output_usd_per_mtok == 2.0
    keys = {key for (key,) in store.db.execute("SELECT key FROM meta")}
    assert keys == {"run", "unrelated"}  # the old keys moved into the typed record
    store.close()
    assert RunStore(tmp_path).meta() == migrated  # opening again changes nothing


def test_a_store_with_no_run_recorded_is_left_alone(tmp_path):
    db = sqlite3.connect(tmp_path / "run.sqlite")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('name', 'half made')")
    db.commit()
    db.close()
    store = RunStore(tmp_path)
    assert store.meta() is None
    assert dict(store.db.execute("SELECT key, value FROM meta")) == {"name": "half made"}


def test_reads_the_audit_and_the_site_need(tmp_path):
    store = RunStore(tmp_path)
    store.put_problems([Problem(id="a", task="t", question="qa"), Problem(id="b", task="t", question="qb")])
    store.add_attempts([attempt("a", 0), attempt("a", 1, key="2"), attempt("a", 2), attempt("b", 0, key=None),
                        attempt("b", 1, key=None, status=AttemptStatus.ERROR).model_copy(update={"error": "HTTP 500"})],
                       [Candidate(problem_id="a", key="1", content="1.0"), Candidate(problem_id="a", key="2", content="2")])
    one = Candidate(problem_id="a", key="1", content="1.0")
    store.add_verdicts([(one, Verdict(status=VerdictStatus.PASSED, verifier="v", verifier_version="1")),
                        (one, Verdict(status=VerdictStatus.FAILED, verifier="v", verifier_version="2", evidence="e"))])
    assert store.problem("b").question == "qb" and store.problem("c") is None
    assert store.problem_positions() == {"a": 0, "b": 1}
    assert store.attempt("a", 1).candidate_key == "2" and store.attempt("a", 9) is None
    assert store.attempt_indices("a", "1") == [0, 2]
    assert sorted(store.candidate_uses()) == [("a", 0, "1"), ("a", 1, "2"), ("a", 2, "1")]
    heads = list(store.attempts_without_candidate(text_chars=1))
    assert [(h.problem_id, h.index, h.status, h.error, h.text_start) for h in heads] == [
        ("b", 0, AttemptStatus.OK, None, "t"), ("b", 1, AttemptStatus.ERROR, "HTTP 500", "t")]
    assert store.candidate("a", "1") == one and store.candidate("a", "3") is None
    assert store.candidate_contents("a") == {"1": "1.0", "2": "2"}
    assert sorted((v.verifier_version, v.status) for v in store.verdicts_of("a", "1")) == [
        ("1", VerdictStatus.PASSED), ("2", VerdictStatus.FAILED)]
    assert store.judged_candidates() == {("a", "1")}
    assert store.verdict_counts() == {("v", "1"): 1, ("v", "2"): 1}


def test_problems_added_later_get_places_of_their_own(tmp_path):
    # A run widened later (`--instances b`, then `--instances a,b`): the audit site names files by place.
    store = RunStore(tmp_path)
    store.put_problems([Problem(id="b", task="t", question="qb")])
    store.put_problems([Problem(id="a", task="t", question="qa"), Problem(id="b", task="t", question="changed")])
    store.put_problems([Problem(id="c", task="t", question="qc"), Problem(id="c", task="t", question="twice")])
    assert store.problem_positions() == {"b": 0, "a": 1, "c": 2}
    assert [p.question for p in store.problems()] == ["qb", "qa", "qc"]  # a stored problem is kept as it was
