"""Warm containers: at most `limit` open, reused after a reset, shared by streamed calls, all closed at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.executors.local import LocalExecutor
from harness.records import Candidate, VerdictStatus
from harness.verifiers import swebench_runner
from harness.verifiers.flaky import evidence_fields
from harness.verifiers.swebench_containers import Cancelled, WarmContainers
from harness.verifiers.swebench_run import testbed_problem as check_testbed
from tests.harness.verifiers.test_swebench_unit import (
    EDITS_TESTS,
    GOLD,
    PARTIAL,
    WRONG,
    candidate,
    template,
    toy_problem,
    verifier,
)

__all__ = ["template"]  # the fixture, used by the tests below

WAIT_S = 10.0  # a guard against a hang only


class FakeSandbox:
    def __init__(self, image: str, broken_reset: bool = False) -> None:
        self.image, self.broken_reset = image, broken_reset
        self.resets, self.closed = 0, False

    def reset(self) -> None:
        if self.broken_reset:
            raise RuntimeError("container died")
        self.resets += 1

    def close(self) -> None:
        self.closed = True


class Opener:
    def __init__(self, broken_reset: bool = False) -> None:
        self.opened: list[FakeSandbox] = []
        self.broken_reset = broken_reset

    def __call__(self, image: str) -> FakeSandbox:
        sandbox = FakeSandbox(image, self.broken_reset)
        self.opened.append(sandbox)
        return sandbox


def test_a_released_sandbox_serves_the_next_worker_of_its_image_after_a_reset() -> None:
    opener = Opener()
    warm = WarmContainers(2, opener)
    first = warm.acquire("a")
    warm.release(first, used=True)
    again = warm.acquire("a")
    assert again is first and first.resets == 1 and len(opener.opened) == 1
    warm.release(again, used=False)
    assert warm.acquire("a") is first and first.resets == 1  # unused: no reset needed


def test_no_more_than_limit_are_open_and_a_waiting_worker_gets_the_released_one() -> None:
    opener = Opener()
    warm = WarmContainers(1, opener)
    held = warm.acquire("a")
    got: list[FakeSandbox] = []
    waiter = threading.Thread(target=lambda: got.append(warm.acquire("a")))
    waiter.start()
    time.sleep(0.3)
    assert not got and len(opener.opened) == 1  # waits: the one place is taken
    warm.release(held)
    waiter.join(WAIT_S)
    assert got == [held] and len(opener.opened) == 1


def test_an_idle_sandbox_of_another_image_makes_room_unless_a_worker_waits_for_its_image() -> None:
    opener = Opener()
    warm = WarmContainers(1, opener)
    a = warm.acquire("a")
    warm.release(a)
    b = warm.acquire("b")  # the idle "a" is evicted for it
    assert a.closed and b.image == "b" and len(opener.opened) == 2

    got: dict[str, FakeSandbox] = {}
    wants_b = threading.Thread(target=lambda: got.setdefault("b", warm.acquire("b")))
    wants_c = threading.Thread(target=lambda: got.setdefault("c", warm.acquire("c")))
    wants_b.start()
    time.sleep(0.1)
    wants_c.start()
    time.sleep(0.1)
    warm.release(b)  # "c" may not evict it: a worker waits for "b"
    wants_b.join(WAIT_S)
    assert got.get("b") is b and not b.closed and "c" not in got
    warm.release(b)
    wants_c.join(WAIT_S)
    assert got["c"].image == "c" and b.closed and len(opener.opened) == 3


def test_a_waiting_worker_stops_when_its_call_is_cancelled() -> None:
    warm = WarmContainers(1, Opener())
    warm.acquire("a")
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    with pytest.raises(Cancelled):
        warm.acquire("a", cancel.is_set)


def test_a_sandbox_whose_reset_fails_is_replaced_by_a_fresh_one() -> None:
    opener = Opener(broken_reset=True)
    warm = WarmContainers(1, opener)
    dead = warm.acquire("a")
    warm.release(dead)
    fresh = warm.acquire("a")
    assert fresh is not dead and dead.closed and len(opener.opened) == 2


def test_close_closes_the_idle_and_discard_frees_the_place() -> None:
    opener = Opener()
    warm = WarmContainers(1, opener)
    one = warm.acquire("a")
    warm.discard(one)
    two = warm.acquire("a")  # the discarded one's place is free again
    warm.release(two)
    warm.close()
    assert one.closed and two.closed and len(opener.opened) == 2


def test_streamed_calls_share_warm_containers_and_close_them_at_the_end(tmp_path: Path, template: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without sharing, every small streamed call started containers of its own (one per candidate here),
    and checked its instance's image again."""
    checked: list[str] = []

    def counted_check(sandbox: object, instance_id: str, image: str) -> str | None:
        checked.append(instance_id)
        return check_testbed(sandbox, instance_id, image)  # type: ignore[arg-type]

    monkeypatch.setattr(swebench_runner, "testbed_problem", counted_check)
    v, factory = verifier(tmp_path, template, containers=2)
    one, two = toy_problem(template, "toy__calc-1"), toy_problem(template, "toy__calc-2")
    expected = {(one.id, GOLD): VerdictStatus.PASSED, (one.id, WRONG): VerdictStatus.FAILED,
                (one.id, PARTIAL): VerdictStatus.FAILED, (two.id, GOLD): VerdictStatus.PASSED,
                (two.id, WRONG): VerdictStatus.FAILED}

    def feed() -> Iterator[list[Candidate]]:
        for (pid, patch) in expected:
            yield [candidate(one if pid == one.id else two, patch)]  # one at a time, as sampling stores them

    problems = {one.id: one, two.id: two}
    got = {(c.problem_id, c.content): verdict.status for c, verdict in LocalExecutor(2).verify_stream(v, problems, feed())}
    assert got == expected
    assert 1 <= len(factory.opened) <= 2 and all(s.closed for s in factory.opened)
    assert v.shared_containers is None and v.shared_instances is None
    assert sorted(checked) == [one.id, two.id]  # once per instance, as in one sequential call


def test_streamed_calls_of_one_instance_at_once_share_one_flake_check(tmp_path: Path, template: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Its candidates all arrive at once, so their calls start together: one flake check, seen by every verdict."""
    gold_runs: list[int] = []
    real_run = swebench_runner.InstanceWorker._gold_run

    def counted(worker: swebench_runner.InstanceWorker, instance: Any, gold: str, run: int) -> Any:
        gold_runs.append(run)
        return real_run(worker, instance, gold, run)

    monkeypatch.setattr(swebench_runner.InstanceWorker, "_gold_run", counted)
    v, _ = verifier(tmp_path, template, flaky=True, containers=2, flake_runs=3, majority_runs=1)
    problem = toy_problem(template)
    feed = iter([[candidate(problem, patch) for patch in (GOLD, WRONG, PARTIAL, EDITS_TESTS)]])
    got = {c.content: verdict for c, verdict in LocalExecutor(2).verify_stream(v, {problem.id: problem}, feed)}
    assert [got[p].status for p in (WRONG, PARTIAL, EDITS_TESTS)] == [VerdictStatus.FAILED] * 3
    assert sorted(gold_runs) == [0, 1, 2]  # one flake check's gold runs, not a check per call
    assert all(evidence_fields(verdict)["flaky_tests"] == ["tests/test_calc.py::test_flaky"] for verdict in got.values())
