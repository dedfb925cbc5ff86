"""Runs verification of unique candidates in a pool of worker processes.

Processes, not threads: verifiers such as math-verify rely on signal.alarm (main thread
only), and a runaway check must not stall the driver. Workers are started with
forkserver so the driver's threads (HTTP clients, a GPU engine) are never forked.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

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
