"""Runs verification of unique candidates in a pool of worker processes.

Processes, not threads: verifiers such as math-verify rely on signal.alarm (main thread
only), and a runaway check must not stall the driver. Workers are started with
forkserver so the driver's threads (HTTP clients, a GPU engine) are never forked.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING

from harness.executors.batch_stream import stream_batches
from harness.records import Candidate, Problem, Verdict, VerdictStatus
from harness.verifiers.base import BatchVerifier, Verifier

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.models.base import ModelBackend
    from harness.problems.base import Task

_worker_verifier: Verifier | None = None
_worker_problems: dict[str, Problem] = {}


def _init_worker(verifier: Verifier, problems: dict[str, Problem]) -> None:
    global _worker_verifier, _worker_problems
    _worker_verifier, _worker_problems = verifier, problems


def safe_verify(verifier: Verifier, problem: Problem, candidate: Candidate) -> Verdict:
    """A verifier that raises yields an ERROR verdict with the exception as evidence."""
    try:
        return verifier.verify(problem, candidate)
    except Exception as exc:  # noqa: BLE001
        return Verdict(status=VerdictStatus.ERROR, verifier=verifier.name, verifier_version=verifier.version,
                       evidence=f"verifier raised {exc!r}")


def _verify_in_worker(candidate: Candidate) -> Verdict:
    assert _worker_verifier is not None
    return safe_verify(_worker_verifier, _worker_problems[candidate.problem_id], candidate)


def _verify_chunk_in_worker(candidates: list[Candidate]) -> list[Verdict]:
    return [_verify_in_worker(c) for c in candidates]


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def model_backend(self, config: RunConfig, task: Task, problems: list[Problem]) -> ModelBackend:
        from harness.registry import make_backend  # noqa: PLC0415

        return make_backend(config, task, problems)

    def check(self, verifier: Verifier) -> None:
        return None  # this machine runs whatever the verifier needs, or the verifier says why not

    def close(self) -> None:
        return None

    def verify_all(self, verifier: Verifier, problems: dict[str, Problem],
                   candidates: list[Candidate]) -> Iterator[tuple[Candidate, Verdict]]:
        """Yield (candidate, verdict) in input order as they complete."""
        if isinstance(verifier, BatchVerifier):
            items = [(problems[c.problem_id], c) for c in candidates]
            yield from zip(candidates, verifier.verify_many(items), strict=True)
            return
        if self.workers <= 1 or len(candidates) < 32:
            # Not worth a pool; runs in the driver's main thread, where signal.alarm works.
            for candidate in candidates:
                yield candidate, safe_verify(verifier, problems[candidate.problem_id], candidate)
            return
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                 initargs=(verifier, problems)) as pool:
            chunk = max(1, min(256, len(candidates) // (self.workers * 8)))
            yield from zip(candidates, pool.map(_verify_in_worker, candidates, chunksize=chunk))

    def verify_stream(self, verifier: Verifier, problems: dict[str, Problem],
                      feed: Iterator[list[Candidate]]) -> Iterator[tuple[Candidate, Verdict]]:
        """Verify candidates as the feed hands them over (while sampling goes on)."""
        if isinstance(verifier, BatchVerifier):
            yield from stream_batches(verifier, problems, feed, self.workers)
            return
        if self.workers <= 1:
            for batch in feed:  # in this thread, where signal-based time limits work
                yield from self.verify_all(verifier, problems, batch)
            return
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                 initargs=(verifier, problems)) as pool:
            # Chunks small enough to keep every worker busy, big enough that cheap verdicts are cheap to ship.
            yield from _stream(feed, lambda chunk: pool.submit(_verify_chunk_in_worker, chunk), 2 * self.workers,
                               lambda queued: max(1, min(64, queued // (2 * self.workers))))


def _stream(feed: Iterator[list[Candidate]], submit: Callable[[list[Candidate]], Future[list[Verdict]]], slots: int,
            chunk_size: Callable[[int], int]) -> Iterator[tuple[Candidate, Verdict]]:
    """Keep up to `slots` chunks of the feed's candidates in flight; yield their verdicts as chunks complete."""
    queued: deque[Candidate] = deque()
    running: dict[Future[list[Verdict]], list[Candidate]] = {}
    feed_open = True
    while feed_open or queued or running:
        if feed_open and len(queued) < 64 * slots:
            try:
                queued.extend(next(feed))  # waits a moment when nothing new has been stored
            except StopIteration:
                feed_open = False
        size = chunk_size(len(queued))
        while queued and len(running) < slots:
            chunk = [queued.popleft() for _ in range(min(size, len(queued)))]
            running[submit(chunk)] = chunk
        if running:
            done, _ = wait(running, timeout=0.05 if feed_open else None, return_when=FIRST_COMPLETED)
            for future in done:
                yield from zip(running.pop(future), future.result(), strict=True)
