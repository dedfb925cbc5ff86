"""What selection sees: an instance without its hidden fields, and its candidate patches.

`PublicInstance` is built field by field from an allow-list, so FAIL_TO_PASS, PASS_TO_PASS,
test_patch and the gold patch cannot reach a selector even by accident (extra="forbid").
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Fields a selector may read; everything else in a dataset row stays out.
PUBLIC_FIELDS = ("instance_id", "repo", "base_commit", "problem_statement", "hints_text", "version",
                 "environment_setup_commit", "created_at", "image")
HIDDEN_FIELDS = ("FAIL_TO_PASS", "PASS_TO_PASS", "test_patch", "patch")


class PublicInstance(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    instance_id: str
    repo: str = ""
    base_commit: str = ""
    problem_statement: str = ""
    hints_text: str = ""
    version: str = ""
    environment_setup_commit: str = ""
    created_at: str = ""
    image: str = ""

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> PublicInstance:
        return cls(**{name: str(row[name]) for name in PUBLIC_FIELDS if row.get(name) is not None})


class CandidatePatch(BaseModel):
    """One attempt's patch; `index` is the attempt's place in its instance's pool."""

    model_config = ConfigDict(frozen=True)

    index: int
    patch: str
    score: float | None = None  # reward-model score, when the attempt carries one
    source: str = ""  # which run or system made it (for reports)


class Pool(BaseModel):
    model_config = ConfigDict(frozen=True)

    instance: PublicInstance
    candidates: tuple[CandidatePatch, ...]


class StepRecord(BaseModel):
    """What one selector step did to one pool: kept indices, scores, evidence."""

    step: str
    kept: list[int]
    scores: dict[int, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    evidence: list[dict[str, str]] = Field(default_factory=list)  # e.g. each discarded test: reason, output tail


class SelectionCost(BaseModel):
    test_executions: int = 0
    container_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: SelectionCost) -> SelectionCost:
        return SelectionCost(test_executions=self.test_executions + other.test_executions,
                             container_s=self.container_s + other.container_s,
                             prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                             completion_tokens=self.completion_tokens + other.completion_tokens)


class Selection(BaseModel):
    """The chosen candidate of one instance (None: no candidate), with how it was chosen."""

    instance_id: str
    selected: int | None
    steps: list[StepRecord] = Field(default_factory=list)
    cost: SelectionCost = Field(default_factory=SelectionCost)
