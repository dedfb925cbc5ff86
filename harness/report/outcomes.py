"""What a report is computed from: per problem, the verdict of every attempt.

The store (or an import of samples from another tool) produces these; report code never
reads the store itself, so every number in a report is a function of this data alone.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from harness.records import VerdictStatus
from harness.report.cost import CostInputs


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
