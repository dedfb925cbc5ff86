"""Schedules (problem, attempt index) units into requests, and stores what comes back.

Attempts are grouped into requests of `n_per_request` consecutive indices, aligned to
multiples of n, so the grouping (and with it every seed) is the same on every resume.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field

from harness.config import SamplingConfig
from harness.models.base import ModelBackend
from harness.problems.base import Task
from harness.records import (
    Attempt,
    AttemptStatus,
    Candidate,
    GenerationRequest,
    GenerationResult,
    Problem,
    SamplingParams,
)
from harness.sources import AttemptSource, AttemptUnit
from harness.store import RunStore

FLUSH_EVERY_S = 0.5
FLUSH_EVERY_ATTEMPTS = 2000


def plan_requests(
    problems: list[Problem],
    done: dict[str, set[int]],
    sampling: SamplingConfig,
    prompt_for: Callable[[Problem], tuple[str | None, tuple[dict[str, str], ...] | None]],
    params: SamplingParams,
    stopped: Container[str] = frozenset(),
) -> Iterator[GenerationRequest]:
    """Yield a request for every block of attempts not yet in the store (lazily).

    `stopped`: problems that need no more attempts (enough verified solutions); read before every request.
    """
    total, width = sampling.samples_per_problem, sampling.n_per_request
    for problem in problems:
        stored = done.get(problem.id, set())
        prompt, messages = prompt_for(problem)
        for start in range(0, total, width):
            block = range(start, min(start + width, total))
            missing = [i for i in block if i not in stored]
            # A block is written in one transaction, so it is either complete or absent;
            # a partial block (only after errors were cleared) is refilled one index at a time.
            spans = [(start, len(block))] if len(missing) == len(block) else [(i, 1) for i in missing]
            for first, n in spans:
                if problem.id in stopped:
                    break
                yield GenerationRequest(
                    problem_id=problem.id, first_index=first, n=n, seed=sampling.seed + first,
                    prompt=prompt, messages=messages, params=params,
                )


def attempts_from_result(
    result: GenerationResult, problem: Problem, task: Task
) -> tuple[list[Attempt], list[Candidate]]:
    req = result.request
    attempts: list[Attempt] = []
    candidates: list[Candidate] = []
    if result.error is not None or len(result.completions) != req.n:
        error = result.error or f"backend returned {len(result.completions)} completions for n={req.n}"
        # finish_reason says why when it is a known kind (context_length: the prompt does not fit).
        kind = result.error_kind.value if result.error is not None and result.error_kind is not None else None
        for j in range(req.n):
            attempts.append(Attempt(problem_id=req.problem_id, index=req.first_index + j, seed=req.seed + j,
                                    status=AttemptStatus.ERROR, error=error, finish_reason=kind, latency_s=result.latency_s))
        return attempts, candidates
    for j, completion in enumerate(result.completions):
        candidate = _safe_extract(task, problem, completion.text)
        if candidate is not None:
            candidates.append(candidate)
        attempts.append(Attempt(
            problem_id=req.problem_id, index=req.first_index + j, seed=req.seed + j, status=AttemptStatus.OK,
            # The n samples of a request share one prompt, processed (and billed) once: charge it to the first
            # (unless the backend had to send them one request each).
            text=completion.text, finish_reason=completion.finish_reason,
            prompt_tokens=completion.prompt_tokens if j == 0 or not result.prompt_shared else 0,
            completion_tokens=completion.completion_tokens, latency_s=result.latency_s,
            candidate_key=candidate.key if candidate else None, score=completion.score,
        ))
    return attempts, candidates


def _safe_extract(task: Task, problem: Problem, text: str) -> Candidate | None:
    # Garbage model output must never stop a run: an extractor that chokes means "no answer".
    try:
        return task.extract(problem, text)
    except Exception:  # noqa: BLE001
        return None


@dataclass
class SamplingProgress:
    stored: int = 0
    errors: int = 0
    on_update: Callable[[int], None] = field(default=lambda _n: None)


class _Buffer:
    """Collects attempts and writes them in few transactions (one per flush)."""

    def __init__(self, store: RunStore, progress: SamplingProgress) -> None:
        self.store, self.progress = store, progress
        self.attempts: list[Attempt] = []
        self.candidates: list[Candidate] = []
        self.last_flush = time.monotonic()

    def add(self, attempts: list[Attempt], candidates: list[Candidate]) -> None:
        self.attempts.extend(attempts)
        self.candidates.extend(candidates)
        if len(self.attempts) >= FLUSH_EVERY_ATTEMPTS or time.monotonic() - self.last_flush > FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if self.attempts:
            self.store.add_attempts(self.attempts, self.candidates)
            self.progress.stored += len(self.attempts)
            self.progress.errors += sum(a.status is AttemptStatus.ERROR for a in self.attempts)
            self.progress.on_update(len(self.attempts))
        self.attempts, self.candidates = [], []
        self.last_flush = time.monotonic()


async def sample(
    problems: list[Problem], task: Task, backend: ModelBackend, store: RunStore,
    sampling: SamplingConfig, chat: bool, progress: SamplingProgress | None = None,
    done: dict[str, set[int]] | None = None, stopped: Container[str] = frozenset(),
) -> SamplingProgress:
    """Sample every missing unit of the run and store it. Safe to interrupt at any point.

    `done` is the store's done_indices(), for callers that already read them.
    """
    progress = progress or SamplingProgress()
    by_id = {p.id: p for p in problems}
    params = SamplingParams(
        temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=sampling.max_tokens,
        # A task's default stops are for its completion prompt; a chat answer has no next "Question:".
        stop=tuple(sampling.stop if sampling.stop is not None else (() if chat else task.default_stop)),
    )
    done = store.done_indices() if done is None else done
    requests = plan_requests(problems, done, sampling, _prompt_builder(task, chat), params, stopped)
    buffer = _Buffer(store, progress)
    try:
        async for result in backend.generate(requests):
            buffer.add(*attempts_from_result(result, by_id[result.request.problem_id], task))
    finally:
        buffer.flush()
    return progress


def _prompt_builder(task: Task, chat: bool) -> Callable[[Problem], tuple[str | None, tuple[dict[str, str], ...] | None]]:
    def build(problem: Problem) -> tuple[str | None, tuple[dict[str, str], ...] | None]:
        built = task.build_prompt(problem, chat)
        if isinstance(built, str):
            return built, None
        return None, tuple(built)

    return build


# ---------------------------------------------------------------- other sources of attempts (the agent)


def plan_units(problems: list[Problem], done: dict[str, set[int]], sampling: SamplingConfig,
               stopped: Container[str] = frozenset()) -> Iterator[AttemptUnit]:
    """Every missing unit, problem by problem (so an instance's attempts share its environment while it is built)."""
    for problem in problems:
        stored = done.get(problem.id, set())
        for index in range(sampling.samples_per_problem):
            if problem.id in stopped:
                break
            if index not in stored:
                yield AttemptUnit(problem, index, sampling.seed + index)


async def sample_from(source: AttemptSource, problems: list[Problem], store: RunStore, sampling: SamplingConfig,
                      progress: SamplingProgress | None = None, done: dict[str, set[int]] | None = None,
                      stopped: Container[str] = frozenset()) -> SamplingProgress:
    """Every missing unit of the run through `source`, stored as attempts end (batched). Safe to interrupt."""
    progress = progress or SamplingProgress()
    done = store.done_indices() if done is None else done
    buffer = _Buffer(store, progress)
    try:
        async for attempts, candidates in source.attempts(plan_units(problems, done, sampling, stopped)):
            buffer.add(attempts, candidates)
    finally:
        buffer.flush()
    return progress
