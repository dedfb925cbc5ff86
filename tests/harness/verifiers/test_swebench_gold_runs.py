"""GoldRuns: an instance's flake-check gold runs taken one at a time by whichever container is free."""

from __future__ import annotations

import threading

import pytest

from harness.verifiers.swebench_gold_runs import GoldRun, GoldRuns


def result(run: int) -> GoldRun:
    return GoldRun(status_map={"t": "PASSED"}, resolved=run % 2 == 0, log=f"gold.flake{run + 1}.log")


def test_two_workers_split_the_runs_and_both_get_every_result_in_run_order() -> None:
    runs = GoldRuns(4)
    taken: dict[str, list[int]] = {"a": [], "b": []}
    both_started = threading.Barrier(2, timeout=30)

    def worker(name: str) -> list[GoldRun]:
        def run_one(run: int) -> GoldRun:
            taken[name].append(run)
            if len(taken[name]) == 1:
                both_started.wait()  # each holds one run before either takes a second
            return result(run)
        return runs.work(run_one, threading.Event())

    out: dict[str, list[GoldRun]] = {}
    threads = [threading.Thread(target=lambda n=n: out.__setitem__(n, worker(n))) for n in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert out["a"] == out["b"] == [result(run) for run in range(4)]
    assert sorted(taken["a"] + taken["b"]) == [0, 1, 2, 3] and taken["a"] and taken["b"]


def test_a_run_whose_container_broke_goes_back_and_another_worker_runs_it() -> None:
    runs = GoldRuns(3)
    first_failed = threading.Event()
    ran: list[int] = []

    def broken(run: int) -> GoldRun:
        first_failed.set()
        raise RuntimeError("container died")

    def healthy(run: int) -> GoldRun:
        ran.append(run)
        return result(run)

    with pytest.raises(RuntimeError, match="container died"):
        runs.work(broken, threading.Event())
    assert first_failed.is_set()
    assert runs.work(healthy, threading.Event()) == [result(run) for run in range(3)]
    assert sorted(ran) == [0, 1, 2]


def test_a_worker_waiting_for_others_runs_stops_when_the_batch_stops() -> None:
    runs = GoldRuns(2)
    holding, release = threading.Event(), threading.Event()

    def slow(run: int) -> GoldRun:
        holding.set()
        release.wait(30)
        return result(run)

    holder = threading.Thread(target=lambda: runs.work(slow, threading.Event()))
    holder.start()
    assert holding.wait(30)  # run 0 is held; the waiter below runs run 1, then waits for run 0
    stopped = threading.Event()
    outcome: list[BaseException] = []

    def waiter() -> None:
        try:
            runs.work(result, stopped)
        except RuntimeError as exc:
            outcome.append(exc)

    waiting = threading.Thread(target=waiter)
    waiting.start()
    waiting.join(1.5)
    assert waiting.is_alive() and 1 in runs.results  # ran run 1 and waits
    stopped.set()
    waiting.join(30)
    assert not waiting.is_alive() and "stopped" in str(outcome[0])
    release.set()
    holder.join(30)
    assert sorted(runs.results) == [0, 1]
