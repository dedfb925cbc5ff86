"""A code verifier called from several threads at once (the streaming pipeline does) keeps one sandbox pool."""

import threading

from harness.problems.datasets import SourceRow
from harness.problems.humaneval import problem_from_row
from harness.records import Candidate, VerdictStatus
from harness.verifiers.code import HumanEvalVerifier
from sandboxes.pool import ExecutionPool

ROW = {"task_id": "Demo/1", "prompt": "def inc(x):\n", "canonical_solution": "    return x + 1\n",
       "test": "\n\ndef check(candidate):\n    assert candidate(1) == 2\n", "entry_point": "inc"}
PROBLEM = problem_from_row(SourceRow("he.jsonl", 1, 0, ROW))


def test_concurrent_first_calls_start_one_pool(monkeypatch):
    started: list[ExecutionPool] = []
    init = ExecutionPool.__init__

    def counted(self, *args, **kwargs):
        started.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(ExecutionPool, "__init__", counted)
    verifier = HumanEvalVerifier(workers=1, spare_lanes=1, timeout_s=2.0)
    gate = threading.Barrier(6)
    statuses: list[VerdictStatus] = []

    def judge(body: str) -> None:
        candidate = Candidate(problem_id=PROBLEM.id, key=body, content=ROW["prompt"] + body)
        gate.wait()  # every thread asks for the pool at the same moment
        statuses.extend(v.status for v in verifier.verify_many([(PROBLEM, candidate)]))

    bodies = ["    return x + 1\n", "    return x\n"] * 3
    threads = [threading.Thread(target=judge, args=(f"{body}    # {i}\n",)) for i, body in enumerate(bodies)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        verifier.close()
        for pool in started:
            pool.close()
    assert sorted(s.value for s in statuses) == ["failed"] * 3 + ["passed"] * 3
    assert len(started) == 1
