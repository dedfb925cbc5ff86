"""The streaming pipeline: candidates verified while sampling goes on, early stop, spellings replaced."""

import json
import time

import pytest

from harness.config import ConfigError, config_from_dict
from harness.pipeline import execute
from harness.records import Attempt, AttemptStatus, Candidate, Problem, Verdict, VerdictStatus
from harness.store import RunStore
from tests.harness.test_pipeline import toy_config, verdict_lines


@pytest.fixture
def store_times(monkeypatch):
    """When attempts and verdicts were written (by either thread)."""
    times: dict[str, list[float]] = {"attempts": [], "verdicts": []}
    add_attempts, add_verdicts = RunStore.add_attempts, RunStore.add_verdicts

    def attempts(self, a, c):
        a = list(a)
        add_attempts(self, a, c)
        if a:
            times["attempts"].append(time.monotonic())

    def verdicts(self, v):
        v = list(v)
        add_verdicts(self, v)
        if v:
            times["verdicts"].append(time.monotonic())

    monkeypatch.setattr(RunStore, "add_attempts", attempts)
    monkeypatch.setattr(RunStore, "add_verdicts", verdicts)
    return times


def paced(tmp_path, streaming: bool, **sampling) -> dict:
    raw = toy_config(tmp_path, n_per_request=1, **sampling)
    raw["model"]["seconds_per_request"] = 0.02
    raw["verify"]["streaming"] = streaming
    return raw


def test_verdicts_are_stored_while_sampling_goes_on(tmp_path, toy_task_registered, store_times):
    execute(config_from_dict(paced(tmp_path, True)), tmp_path / "streamed", show_progress=False)
    assert store_times["verdicts"] and min(store_times["verdicts"]) < max(store_times["attempts"])
    # and the same verdicts as the sequential order
    store_times["verdicts"].clear()
    store_times["attempts"].clear()
    execute(config_from_dict(paced(tmp_path, False)), tmp_path / "sequential", show_progress=False)
    assert min(store_times["verdicts"]) > max(store_times["attempts"])
    assert verdict_lines(tmp_path / "streamed") == verdict_lines(tmp_path / "sequential")


def test_each_unique_candidate_is_verified_once_while_streaming(tmp_path, toy_task_registered):
    execute(config_from_dict(paced(tmp_path, True)), tmp_path / "run", show_progress=False)
    store = RunStore(tmp_path / "run")
    distinct = {(a.problem_id, a.candidate_key) for a in store.attempts() if a.candidate_key}
    assert sum(store.verdict_counts().values()) == len(distinct)


def test_stop_after_solutions_stops_a_problem_and_the_report_says_so(tmp_path, toy_task_registered):
    raw = paced(tmp_path, True, samples_per_problem=60, stop_after_solutions=2)
    raw["model"]["alpha"], raw["model"]["beta"] = 1.0, 1.0
    paths = execute(config_from_dict(raw), tmp_path / "run", show_progress=False)
    report = json.loads(paths["json"].read_text())
    stopped = report["stopped_early"]
    assert stopped, "no problem stopped early"
    per_problem: dict[str, list[dict]] = {}
    for line in verdict_lines(tmp_path / "run"):
        per_problem.setdefault(line["problem_id"], []).append(line)
    for pid, lines in per_problem.items():
        solved = sum(line["passed"] for line in lines)
        if pid in stopped:
            assert stopped[pid] == len(lines) < 60 and solved >= 2
        else:
            assert len(lines) == 60 and solved < 2 + 1  # never stopped: fewer solutions than asked (or reached at the end)
    markdown = paths["markdown"].read_text()
    assert "stopped sampling early" in markdown and "not measured" in markdown
    assert all(pid in markdown for pid in stopped)
    # a rerun samples no more for a stopped problem
    execute(config_from_dict(raw), tmp_path / "run", show_progress=False)
    again = {pid: sum(line["problem_id"] == pid for line in verdict_lines(tmp_path / "run")) for pid in stopped}
    assert again == stopped


def test_stop_after_solutions_needs_streaming(tmp_path, toy_task_registered):
    with pytest.raises((ConfigError, ValueError), match="streaming"):
        config_from_dict(paced(tmp_path, False, stop_after_solutions=1))


def test_a_smaller_spelling_replaces_a_candidate_and_its_verdict(tmp_path):
    store = RunStore(tmp_path)
    store.put_problems([Problem(id="p", task="t", question="q")])

    def attempt(index: int) -> Attempt:
        return Attempt(problem_id="p", index=index, seed=index, status=AttemptStatus.OK, text="x", candidate_key="k")

    def verdict(evidence: str) -> Verdict:
        return Verdict(status=VerdictStatus.PASSED, verifier="v", verifier_version="1", evidence=evidence)

    late = Candidate(problem_id="p", key="k", content="2.0")
    store.add_attempts([attempt(0)], [late])
    start = store.last_candidate_row()
    store.add_verdicts([(late, verdict("on 2.0"))])
    early = Candidate(problem_id="p", key="k", content="2")
    store.add_attempts([attempt(1)], [early])
    assert store.verdicts_of("p", "k") == []  # judged on the larger spelling: judged again
    assert [c for _, c in store.candidates_after(start)] == [early]
    store.add_verdicts([(late, verdict("stale"))])  # in flight while the spelling changed: dropped
    assert store.verdicts_of("p", "k") == []
    store.add_verdicts([(early, verdict("on 2"))])
    assert [v.evidence for v in store.verdicts_of("p", "k")] == ["on 2"]
    store.add_attempts([attempt(2)], [late])  # a larger spelling changes nothing
    assert [v.evidence for v in store.verdicts_of("p", "k")] == ["on 2"] and store.candidate("p", "k") == early
