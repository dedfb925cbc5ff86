"""Sampling and verification at once: a candidate is verified as soon as its first attempt is stored.

Sampling runs in a thread of its own (its own event loop and store connection); verification runs in
the main thread, where signal-based timeouts of verifiers work, through the executor's `verify_stream`.
The store stays the single source of truth: the verifier is fed from what the sampler has committed,
so a SIGKILL at any point leaves attempts and verdicts that a rerun completes the same way.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.executors.base import Executor
from harness.progress import StageBars
from harness.records import Candidate, Verdict
from harness.store import RunStore
from harness.verifiers.base import Verifier

POLL_S = 0.1  # how long the feed waits when nothing new was stored
VERDICT_FLUSH_S = 0.5  # verdicts become durable (and count toward stop_after_solutions) within this


class CandidateFeed:
    """Every unverified candidate of the run first, then each candidate as the sampler stores it (or replaces
    its spelling by a smaller one). Ends once sampling has ended and every stored candidate was handed over."""

    def __init__(self, store: RunStore, verifier: Verifier, problem_ids: set[str], sampling_done: threading.Event,
                 on_queued: Callable[[int], None], on_idle: Callable[[], None] = lambda: None) -> None:
        self.store, self.problem_ids, self.sampling_done, self.on_queued = store, problem_ids, sampling_done, on_queued
        self.on_idle = on_idle  # called (in the verifying thread) whenever nothing new was stored
        # Read before sampling starts: nothing is stored between these two reads.
        self.position = store.last_candidate_row()
        self.first: list[Candidate] | None = self._ours(store.unverified_candidates(verifier.name, verifier.version))

    def _ours(self, candidates: list[Candidate]) -> list[Candidate]:
        batch = [c for c in candidates if c.problem_id in self.problem_ids]
        self.on_queued(len(batch))
        return batch

    def __iter__(self) -> Iterator[list[Candidate]]:
        return self

    def __next__(self) -> list[Candidate]:
        if self.first is not None:
            batch, self.first = self.first, None
            return batch
        finished = self.sampling_done.is_set()  # read before the query: whatever was stored before the end is seen
        new = self.store.candidates_after(self.position)
        if new:
            self.position = new[-1][0]
            return self._ours([c for _, c in new])
        self.on_idle()
        if finished:
            raise StopIteration
        time.sleep(POLL_S)
        return []


class SamplingThread(threading.Thread):
    """Runs a sampling coroutine on its own event loop; `stop()` cancels it (its buffer is flushed as it ends)."""

    def __init__(self, run: Callable[[RunStore], object], run_dir: Path) -> None:
        super().__init__(name="sampling", daemon=True)
        self.run_fn, self.run_dir = run, run_dir
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None

    def run(self) -> None:
        store = RunStore(self.run_dir)  # a connection of its own: SQLite connections are not shared across threads
        loop = self._loop = asyncio.new_event_loop()
        try:
            self._task = loop.create_task(self.run_fn(store))  # type: ignore[arg-type]
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            self.error = exc
        finally:
            loop.close()
            store.close()
            self.done.set()

    def stop(self) -> None:
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        self.join()


class VerdictWriter:
    """Stores verdicts in few transactions, but a slow verdict (a Docker test run) within seconds."""

    def __init__(self, store: RunStore, on_stored: Callable[[list[tuple[Candidate, Verdict]]], None]) -> None:
        self.store, self.on_stored = store, on_stored
        self.batch: list[tuple[Candidate, Verdict]] = []
        self.last_flush = time.monotonic()

    def add(self, pair: tuple[Candidate, Verdict]) -> None:
        self.batch.append(pair)
        if len(self.batch) >= 500:
            self.flush()
        else:
            self.flush_if_due()

    def flush_if_due(self) -> None:
        if self.batch and time.monotonic() - self.last_flush > VERDICT_FLUSH_S:
            self.flush()

    def flush(self) -> None:
        batch, self.batch = self.batch, []
        self.store.add_verdicts(batch)
        self.last_flush = time.monotonic()
        if batch:
            self.on_stored(batch)


def verify_while_sampling(executor: Executor, verifier: Verifier, problems: dict, store: RunStore,
                          sampler: SamplingThread, bars: StageBars,
                          on_stored: Callable[[list[tuple[Candidate, Verdict]]], None]) -> None:
    """Start `sampler` and verify what it stores until it has ended and everything is verified.

    Whatever ends the loop (Ctrl-C, a lost Ray task), sampling is stopped and what both stages
    finished is kept.
    """
    def stored(batch: list[tuple[Candidate, Verdict]]) -> None:
        bars.verified(len(batch))
        on_stored(batch)

    writer = VerdictWriter(store, stored)
    feed = CandidateFeed(store, verifier, set(problems), sampler.done, bars.queued, writer.flush_if_due)
    sampler.start()
    try:
        for pair in executor.verify_stream(verifier, problems, feed):
            writer.add(pair)
            if sampler.error is not None:
                break
    finally:
        try:
            writer.flush()
        finally:
            sampler.stop()
    if sampler.error is not None:
        raise sampler.error
