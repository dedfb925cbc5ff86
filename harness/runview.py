"""The run as reports and the audit site see it: outcome records (`harness.outcomes`) built from the store.

Report code renders these and never reads the store. An attempt's status is read through its
candidate's verdict from one verifier version (the task's current one): a candidate with no
such verdict counts as an error, a model error and a missing answer as failures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from harness.config import ConfigError
from harness.outcomes import AttemptOutcome, AuditedProblem, OutcomeRow, ProblemOutcome, RunInfo, RunSummary
from harness.records import Attempt, AttemptStatus, Problem, VerdictStatus
from harness.store import STORE_FILE, RunMeta, RunStore
from harness.verifiers.base import GradesFlaky, Verifier

CORRECT_CLASS = "<correct>"  # every attempt judged correct is equivalent to the gold answer, so to each other


@contextmanager
def open_store(run_dir: Path) -> Iterator[RunStore]:
    """The store of an existing run directory (ConfigError when there is none), closed afterwards."""
    if not (Path(run_dir) / STORE_FILE).is_file():
        raise ConfigError(f"{run_dir}: no run store (run.sqlite) here")
    store = RunStore(Path(run_dir))
    try:
        yield store
    finally:
        store.close()


def stored_task(store: RunStore) -> str:
    """The task the store's run was recorded with ("" when none was: loading it then fails naming no task)."""
    meta = store.meta()
    return meta.task if meta else ""


def require_meta(store: RunStore) -> RunMeta:
    meta = store.meta()
    if meta is None:
        raise ConfigError(f"{store.path}: not a finished monkeys run store (no targets recorded)")
    return meta


@dataclass(frozen=True)
class StoredVerifier:
    """Stands in for a verifier this install cannot build: reads the verdicts it left."""

    name: str
    version: str


def verifier_or_stored(store: RunStore, task: str) -> Verifier | StoredVerifier:
    """The task's verifier; for a task this install does not know, the most used stored one."""
    from harness.registry import load_task  # noqa: PLC0415 - the registry imports every task lazily

    try:
        return load_task(task).verifier()
    except ConfigError:
        counts = store.verdict_counts()
        return StoredVerifier(*(max(counts, key=counts.__getitem__) if counts else ("none", "none")))


def attempt_outcomes(store: RunStore, verifier: Verifier | StoredVerifier,
                     targets: dict[str, int]) -> dict[str, list[OutcomeRow]]:
    """Every attempt of the run's targets with its status, read through its candidate's verdict."""
    verdicts = store.verdicts_by_candidate(verifier.name, verifier.version)
    flaky_grading = verifier.flaky_grading if isinstance(verifier, GradesFlaky) else None  # swebench
    # (lenient grade, flaky instance) per unique candidate: graded once, not once per attempt.
    grades = {key: flaky_grading(v) for key, v in verdicts.items()} if flaky_grading is not None else {}
    outcomes: dict[str, list[OutcomeRow]] = {pid: [] for pid in targets}
    for attempt in store.attempts():
        if attempt.problem_id not in targets or attempt.index >= targets[attempt.problem_id]:
            continue
        verdict = verdicts.get((attempt.problem_id, attempt.candidate_key)) if attempt.candidate_key else None
        if attempt.status is AttemptStatus.ERROR:
            status = VerdictStatus.MODEL_ERROR
        elif attempt.candidate_key is None:
            status = VerdictStatus.NO_ANSWER
        else:
            status = verdict.status if verdict else VerdictStatus.ERROR
        class_key = CORRECT_CLASS if status is VerdictStatus.PASSED else (attempt.candidate_key if status is VerdictStatus.FAILED else None)
        lenient, flaky = grades.get((attempt.problem_id, attempt.candidate_key), (None, False))
        outcome = AttemptOutcome(index=attempt.index, status=status, class_key=class_key,
                                 prompt_tokens=attempt.prompt_tokens, completion_tokens=attempt.completion_tokens,
                                 lenient_passed=lenient, score=attempt.score)
        outcomes[attempt.problem_id].append(OutcomeRow(outcome, verdict, attempt.candidate_key, flaky))
    return outcomes


def summarize(meta: RunMeta, verifier: Verifier | StoredVerifier, outcomes: dict[str, list[OutcomeRow]]) -> RunSummary:
    return RunSummary(
        run_name=meta.name, task=meta.task, model=meta.model, backend=meta.backend, simulated=meta.simulated,
        tokens_estimated=meta.tokens_estimated,
        verifier=f"{verifier.name} {verifier.version}",
        problems=[ProblemOutcome(problem_id=pid, attempts=[row.outcome for row in rows],
                                 flaky=any(row.flaky_instance for row in rows))
                  for pid, rows in outcomes.items()],
        unique_candidates=len({(pid, row.candidate_key) for pid, rows in outcomes.items() for row in rows if row.candidate_key}),
        sampling_wall_s=meta.sampling_wall_s, cost=meta.cost, backend_notes=list(meta.backend_notes.values()),
        stopped_early=meta.stopped_early,
    )


class RunView:
    """One reading of a run: its meta, and every target attempt's outcome under one verifier version."""

    def __init__(self, store: RunStore, verifier: Verifier | StoredVerifier) -> None:
        self.store, self.verifier = store, verifier
        self.meta = require_meta(store)
        self.outcomes = attempt_outcomes(store, verifier, self.meta.targets)

    def summary(self) -> RunSummary:
        return summarize(self.meta, self.verifier, self.outcomes)

    def run_info(self) -> RunInfo:
        meta, verifier = self.meta, self.verifier
        return RunInfo(name=meta.name, task=meta.task, model=meta.model, backend=meta.backend, simulated=meta.simulated,
                       verifier=f"{verifier.name} {verifier.version}",
                       flaky_graded=isinstance(verifier, GradesFlaky))

    def problems(self) -> Iterator[AuditedProblem]:
        """Each target problem once, with its attempts, read one problem at a time (a run may not fit in memory twice)."""
        problems = {p.id: p for p in self.store.problems()}
        positions = self.store.problem_positions()
        seen: set[str] = set()
        for problem_id, group in groupby(self.store.attempts(), key=lambda a: a.problem_id):
            if problem_id in problems and problem_id in self.outcomes:
                seen.add(problem_id)
                yield self._audited(problems[problem_id], positions[problem_id], list(group))
        for problem_id in self.outcomes:  # targets with no attempt stored yet
            if problem_id not in seen and problem_id in problems:
                yield self._audited(problems[problem_id], positions[problem_id], [])

    def _audited(self, problem: Problem, position: int, attempts: list[Attempt]) -> AuditedProblem:
        rows = {row.outcome.index: row for row in self.outcomes[problem.id]}
        return AuditedProblem(problem=problem, position=position,
                              attempts=[(a, rows[a.index]) for a in attempts if a.index in rows],
                              contents=self.store.candidate_contents(problem.id))
