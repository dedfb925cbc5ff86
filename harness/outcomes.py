"""What reports and the audit site are computed from: per problem, the verdict of every attempt.

`harness.runview` builds these from the store (an import of samples from another tool goes
through the store too); report code never reads the store itself, so every number in a report
is a function of this data alone, and the audit site shows only what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from pydantic import BaseModel, Field

from harness.pricing import CostInputs
from harness.records import Attempt, Problem, Verdict, VerdictStatus


class AttemptOutcome(BaseModel):
    index: int
    status: VerdictStatus
    # Equivalence class for majority vote: attempts judged correct share one class; wrong
    # answers are classed by their normalized answer; None (no answer, model error) never votes.
    class_key: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Where the verifier tells flaky tests apart (swebench): the grade with them set aside.
    lenient_passed: bool | None = None
    # A reward model's score of the output (imported samples): best-of-k and weighted vote use it.
    score: float | None = None

    @property
    def passed(self) -> bool:
        return self.status is VerdictStatus.PASSED


class ProblemOutcome(BaseModel):
    problem_id: str
    attempts: list[AttemptOutcome]  # sorted by index
    flaky: bool = False  # the verifier found tests of this problem whose outcome varies on re-runs

    @property
    def n(self) -> int:
        return len(self.attempts)

    @property
    def c(self) -> int:
        return sum(a.passed for a in self.attempts)


class RunSummary(BaseModel):
    run_name: str
    task: str
    model: str
    backend: str
    simulated: bool  # every output of a run with the simulated model says so
    tokens_estimated: bool = False  # imported samples without token counts: completions estimated at 4 characters per token
    verifier: str = ""
    problems: list[ProblemOutcome] = Field(default_factory=list)
    unique_candidates: int = 0  # distinct (problem, candidate) pairs actually verified
    sampling_wall_s: float | None = None  # measured time spent sampling, over every invocation (None: not measured)
    cost: CostInputs | None = None  # how to price the run, with its price entry and baselines read
    backend_notes: list[str] = Field(default_factory=list)  # what the model server turned out to do, and how it was handled
    # problems whose sampling stopped once they had enough verified solutions -> attempts they have
    stopped_early: dict[str, int] = Field(default_factory=dict)


# ---------------------------------------------------------------- per attempt, with what it was judged by


class OutcomeRow(NamedTuple):
    outcome: AttemptOutcome
    verdict: Verdict | None  # its candidate's verdict from the current verifier version
    candidate_key: str | None
    flaky_instance: bool = False  # the verifier found flaky tests on this attempt's problem


# ---------------------------------------------------------------- what the audit site shows


class RunInfo(BaseModel):
    name: str
    task: str
    model: str
    backend: str
    simulated: bool
    verifier: str  # "name version"
    flaky_graded: bool = False  # the verifier tells flaky tests apart (rows carry lenient grades)


@dataclass(frozen=True)
class AuditedProblem:
    """One problem with its attempts (the run's targets only) and their candidates.

    A plain dataclass, not a pydantic record: a large run has millions of attempts, and these
    are the store's own records, already validated.
    """

    problem: Problem
    position: int  # the problem's place in the run: names its data files
    attempts: list[tuple[Attempt, OutcomeRow]]  # in index order
    contents: dict[str, str]  # candidate key -> content, for every candidate of the problem
