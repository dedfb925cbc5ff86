"""The records that flow through a run: Problem -> request -> Completion -> Attempt -> Candidate -> Verdict.

All are pydantic models so they validate on the way in, serialize to JSON for the store
and for export, and pickle cheaply into verifier worker processes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """One task instance, as a loader made it from a dataset row."""

    model_config = ConfigDict(frozen=True)

    id: str
    task: str
    question: str
    answer: str | None = None  # the gold answer where the task has one (math)
    data: dict[str, Any] = Field(default_factory=dict)  # the native row, for verifiers


class SamplingParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(0.6, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(512, ge=1)
    stop: tuple[str, ...] = ()


class GenerationRequest(BaseModel):
    """Attempts first_index .. first_index+n-1 of one problem, sampled in one call.

    The request's seed is base seed + first_index. Attempt first_index + j records seed + j;
    the simulated model and vLLM (V1 seeds child j of a request seed + j) use exactly that, as
    does the OpenAI backend when it sends one call per sample; OpenAI-compatible servers that
    honour `n` seed the n samples together from `seed`, so a rerun reproduces whole requests.
    Exactly one of prompt (completion API) and messages (chat API) is set. `tools` (OpenAI
    function schemas, chat only) lets the model answer with tool calls; messages may then hold
    assistant turns with `tool_calls` and `role: tool` results, hence values other than strings.
    """

    model_config = ConfigDict(frozen=True)

    problem_id: str
    first_index: int = Field(ge=0)
    n: int = Field(ge=1)
    seed: int
    prompt: str | None = None
    messages: tuple[dict[str, Any], ...] | None = None
    params: SamplingParams = SamplingParams()
    tools: tuple[dict[str, Any], ...] | None = None


class ToolCall(BaseModel):
    """One function call as the server sent it; `arguments` stays the raw text (it may not be valid JSON)."""

    model_config = ConfigDict(frozen=True)

    id: str = ""
    name: str = ""
    arguments: str = ""


class Completion(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    prompt_tokens: int = 0  # size of the request's prompt (shared by its n samples)
    completion_tokens: int = 0
    score: float | None = None  # a reward model's score, where the samples came with one (imported)


class ModelErrorKind(StrEnum):
    """Failures that mean something beyond "the call failed", so callers can act on them."""

    CONTEXT_LENGTH = "context_length"  # the prompt (plus max_tokens) does not fit the model's context


class GenerationResult(BaseModel):
    """A request's outcome: n completions, or an error after the backend gave up retrying.

    `prompt_shared`: the n samples came from one prefill of the prompt (False when the backend
    had to send them one request each: each sample's prompt was then processed and billed).
    """

    request: GenerationRequest
    completions: list[Completion] = Field(default_factory=list)
    error: str | None = None
    error_kind: ModelErrorKind | None = None
    latency_s: float = 0.0
    prompt_shared: bool = True


class AttemptStatus(StrEnum):
    OK = "ok"  # the model answered (whatever it said)
    ERROR = "error"  # the backend failed for good; counted as a failed attempt, never dropped


class Attempt(BaseModel):
    problem_id: str
    index: int
    seed: int
    status: AttemptStatus
    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0  # a request's prompt is charged to its first attempt only (processed once)
    completion_tokens: int = 0
    error: str | None = None
    candidate_key: str | None = None  # None: nothing could be extracted
    latency_s: float = 0.0
    score: float | None = None  # reward-model score of the output, when one came with it


class Candidate(BaseModel):
    """What a verifier judges. Attempts whose candidates share a key are verified once."""

    model_config = ConfigDict(frozen=True)

    problem_id: str
    key: str  # canonical form: normalized answer, code or patch
    content: str  # what the verifier gets (often equal to key)


class VerdictStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NO_ANSWER = "no_answer"  # nothing could be extracted from the output
    APPLY_FAILED = "apply_failed"
    TIMEOUT = "timeout"
    ERROR = "error"  # the verifier itself broke; evidence says why
    MODEL_ERROR = "model_error"  # the backend never produced an output


class Verdict(BaseModel):
    status: VerdictStatus
    verifier: str
    verifier_version: str
    evidence: str = ""
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status is VerdictStatus.PASSED
