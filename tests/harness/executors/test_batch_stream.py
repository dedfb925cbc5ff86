"""Streaming verification with a batch verifier: verdicts are not held back by a slow neighbour, and a
verifier placed per problem has no other call for a problem while the problem's first call runs."""

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from harness.executors.local import LocalExecutor
from harness.records import Candidate, Problem, Verdict, VerdictStatus
from harness.verifiers.base import RayPlacement

WAIT_S = 10.0  # only a guard against a hang: a correct executor never waits this long


def problem(pid: str) -> Problem:
    return Problem(id=pid, task="t", question="q")


def candidate(pid: str, key: str) -> Candidate:
    return Candidate(problem_id=pid, key=key, content=key)


def passed() -> Verdict:
    return Verdict(status=VerdictStatus.PASSED, verifier="fake", verifier_version="1")


class GatedVerifier:
    """verify_many holds candidate `slow` until `release` is set; everything else passes at once."""

    name, version = "fake", "1"

    def __init__(self) -> None:
        self.release = threading.Event()

    def verify(self, problem: Problem, candidate: Candidate) -> Verdict:
        return passed()

    def verify_many(self, items: Sequence[tuple[Problem, Candidate]]) -> Iterator[Verdict]:
        for _, c in items:
            if c.key == "slow":
                self.release.wait(WAIT_S)
            yield passed()


def test_a_slow_candidate_does_not_hold_back_the_verdict_stored_beside_it():
    verifier = GatedVerifier()
    feed = iter([[candidate("p", "slow"), candidate("p", "fast")]])
    order = []
    for c, verdict in LocalExecutor(2).verify_stream(verifier, {"p": problem("p")}, feed):
        order.append(c.key)
        verifier.release.set()  # the slow one ends once a verdict came out
    assert order == ["fast", "slow"]


class PerProblemVerifier:
    """Placed per problem (as SWE-bench is); records how many calls held a problem at once.

    The call holding candidate `a` of problem p waits until a call for problem q has started: a second
    call for p (candidate `b`, handed over just before q's) would have started by then if one could."""

    name, version = "fake", "1"
    ray_placement = RayPlacement(per_problem=True)

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: dict[str, int] = {}
        self.most_at_once: dict[str, int] = {}
        self.q_started = threading.Event()

    def verify(self, problem: Problem, candidate: Candidate) -> Verdict:
        return passed()

    def verify_many(self, items: Sequence[tuple[Problem, Candidate]]) -> Iterator[Verdict]:
        pids = {p.id for p, _ in items}
        with self.lock:
            for pid in pids:
                self.active[pid] = self.active.get(pid, 0) + 1
                self.most_at_once[pid] = max(self.most_at_once.get(pid, 0), self.active[pid])
        if "q" in pids:
            self.q_started.set()
        try:
            for _, c in items:
                if c.key == "a":
                    self.q_started.wait(WAIT_S)
                yield passed()
        finally:
            with self.lock:
                for pid in pids:
                    self.active[pid] -= 1


def test_a_per_problem_verifier_gets_no_second_call_while_a_problems_first_runs():
    verifier = PerProblemVerifier()
    handed_first = threading.Event()

    def feed() -> Iterator[list[Candidate]]:
        yield [candidate("p", "a")]
        handed_first.wait(WAIT_S)
        yield [candidate("p", "b"), candidate("q", "c")]

    class Feed:
        def __init__(self) -> None:
            self.inner = feed()
            self.calls = 0

        def __iter__(self):
            return self

        def __next__(self):
            self.calls += 1
            if self.calls == 2:
                handed_first.set()
            return next(self.inner)

    problems = {"p": problem("p"), "q": problem("q")}
    judged = [c.key for c, _ in LocalExecutor(2).verify_stream(verifier, problems, Feed())]
    assert sorted(judged) == ["a", "b", "c"]
    assert verifier.most_at_once == {"p": 1, "q": 1}


class WarmPerProblemVerifier(PerProblemVerifier):
    """As above, but keeps warm state between calls, within which its calls share the per-problem work."""

    def __init__(self) -> None:
        super().__init__()
        self.warm_calls: list[str] = []

    def verify_many(self, items: Sequence[tuple[Problem, Candidate]]) -> Iterator[Verdict]:
        """Candidate `b` waits (at most WAIT_S) until two calls of its problem run at once."""
        for verdict, (_, c) in zip(super().verify_many(items), items, strict=True):
            if c.key == "b":
                deadline = time.monotonic() + WAIT_S
                while self.active.get("p", 0) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
            yield verdict

    @contextmanager
    def warm_between_calls(self) -> Iterator[None]:
        self.warm_calls.append("enter")
        yield
        self.warm_calls.append("exit")


def test_a_warm_per_problem_verifier_gets_calls_of_one_problem_at_once_within_its_warm_state():
    """Candidate `b`'s call starts while `a`'s (p's first) runs: b waits until it sees both (a, until q's starts)."""
    verifier = WarmPerProblemVerifier()
    feed = iter([[candidate("p", "a"), candidate("p", "b"), candidate("q", "c")]])
    problems = {"p": problem("p"), "q": problem("q")}
    judged = [c.key for c, _ in LocalExecutor(2).verify_stream(verifier, problems, feed)]
    assert sorted(judged) == ["a", "b", "c"]
    assert verifier.most_at_once["p"] == 2 and verifier.warm_calls == ["enter", "exit"]
