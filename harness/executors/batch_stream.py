"""Streaming verification for batch verifiers (a sandbox pool, Docker containers) in this process.

A batch verifier schedules its own parallelism, but one `verify_many` call judges a fixed list.
While sampling goes on, candidates arrive a few at a time, so several calls run at once, each on a
thread: a candidate stuck until its time limit then holds back no verdict but its own, nor the
candidates stored after it. Calls are as small as the backlog allows (one candidate while
verification keeps up), and each verdict is handed over as soon as its call yields it.

A verifier placed per problem (`RayPlacement.per_problem`: SWE-bench, one warm container and one
flake check per instance) gets calls that each hold candidates of one problem, and a problem's first
call holds one candidate and runs alone: it does the per-problem work (the flake check, stored for
the calls after; a sequential run's candidates wait for it too), so no instance is judged against
two flake checks. A verifier that can keep warm state between calls (`WarmBetweenCalls`: SWE-bench's
containers) keeps it for the whole stream, so the many small calls start no container each; its calls
then share each problem's per-problem work too (made once, whichever call comes first), so a problem's
first call need not run alone.
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

from harness.records import Candidate, Problem, Verdict
from harness.verifiers.base import BatchVerifier, PlacedOnRay, WarmBetweenCalls

SLOTS_PER_WORKER = 8  # calls at once, per verify worker
BACKLOG_PER_SLOT = 64  # candidates read ahead of the calls, per slot


class _Ended:
    """A call has ended (its thread puts this after its last verdict)."""

    def __init__(self, problem_ids: set[str]) -> None:
        self.problem_ids = problem_ids


class _Backlog:
    """Candidates not yet handed to a call; for a per-problem verifier, which problems' first call is running."""

    def __init__(self, per_problem: bool, slots: int, first_alone: bool = True) -> None:
        self.per_problem, self.slots, self.first_alone = per_problem, slots, first_alone
        self.queued: deque[Candidate] = deque()
        self.warming: set[str] = set()  # problems whose first call is running
        self.warm: set[str] = set()  # problems whose first call has ended

    def next_chunk(self) -> list[Candidate]:
        """The next call's candidates; empty when none can start now."""
        if not self.per_problem:
            size = -(-len(self.queued) // self.slots)
            return [self.queued.popleft() for _ in range(min(size, len(self.queued)))]
        free = next((c.problem_id for c in self.queued if c.problem_id not in self.warming), None)
        if free is None:
            return []
        if self.first_alone and free not in self.warm:  # its first call: one candidate, so the rest of the problem waits briefly
            self.warming.add(free)
            chunk = [next(c for c in self.queued if c.problem_id == free)]
        else:  # as small as the backlog allows: side by side, a problem's last candidates end sooner
            chunk = [c for c in self.queued if c.problem_id == free][:-(-len(self.queued) // self.slots)]
        taken = {id(c) for c in chunk}
        self.queued = deque(c for c in self.queued if id(c) not in taken)
        return chunk

    def ended(self, problem_ids: set[str]) -> None:
        self.warm |= problem_ids & self.warming
        self.warming -= problem_ids


def stream_batches(verifier: BatchVerifier, problems: dict[str, Problem], feed: Iterator[list[Candidate]],
                   workers: int) -> Iterator[tuple[Candidate, Verdict]]:
    """Every candidate the feed hands over with its verdict, in completion order."""
    slots = SLOTS_PER_WORKER * max(1, workers)
    per_problem = isinstance(verifier, PlacedOnRay) and verifier.ray_placement.per_problem
    results: queue.Queue[tuple[Candidate, Verdict] | _Ended | BaseException] = queue.Queue()

    def judge(chunk: list[Candidate]) -> None:
        try:
            for pair in zip(chunk, verifier.verify_many([(problems[c.problem_id], c) for c in chunk]), strict=True):
                results.put(pair)
        except BaseException as exc:  # noqa: BLE001 - raised again in the driver's thread
            results.put(exc)
        finally:
            results.put(_Ended({c.problem_id for c in chunk}))

    keeps_warm = isinstance(verifier, WarmBetweenCalls)
    backlog = _Backlog(per_problem, slots, first_alone=not keeps_warm)  # warm: its calls share the per-problem work
    running, feed_open = 0, True
    warm = verifier.warm_between_calls() if keeps_warm else nullcontext()
    with warm, ThreadPoolExecutor(slots, thread_name_prefix="verify") as threads:  # calls end before warm state goes
        while feed_open or backlog.queued or running:
            if feed_open and len(backlog.queued) < BACKLOG_PER_SLOT * slots:
                try:
                    backlog.queued.extend(next(feed))  # waits a moment when nothing new has been stored
                except StopIteration:
                    feed_open = False
            while running < slots and (chunk := backlog.next_chunk()):
                threads.submit(judge, chunk)
                running += 1
            wait_s: float | None = 0.05 if feed_open else None
            while running:
                try:
                    item = results.get(timeout=wait_s) if wait_s != 0 else results.get_nowait()
                except queue.Empty:
                    break
                wait_s = 0  # then whatever else has arrived, without waiting
                if isinstance(item, _Ended):
                    running -= 1
                    backlog.ended(item.problem_ids)
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
