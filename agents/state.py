"""An attempt's identity, its result, and the state the loop carries from one model call to the next.

Both the loop (which advances the state) and resume (which rebuilds it from a trajectory file) use
these; neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from agents.config import AgentConfig
from agents.conversation import Dialogue, Message, elidable, message_chars, placeholder, step_messages, with_file_context
from agents.prompts import initial_messages
from agents.tools import Environment, Workspace
from agents.trajectory import StepRecord, Totals
from harness.records import Problem


class EndStatus(StrEnum):
    FINISHED = "finished"
    STEP_LIMIT = "step_limit"
    TOKEN_LIMIT = "token_limit"
    COST_LIMIT = "cost_limit"
    CONTEXT_LIMIT = "context_limit"
    FORMAT_ERRORS = "format_errors"
    MODEL_ERROR = "model_error"  # the backend failed for good; a resume continues from the saved steps
    AGENT_ERROR = "agent_error"  # our side broke (no snapshot, a tool bug); no end record, a resume retries

    @property
    def final(self) -> bool:
        """Stored as an ok attempt (judged by its patch); the others are errors a resume may retry."""
        return self not in (EndStatus.MODEL_ERROR, EndStatus.AGENT_ERROR)


class AttemptSpec(BaseModel):
    """One unit of work: attempt `index` of a problem, with its own seed and temperature."""

    model_config = ConfigDict(frozen=True)

    problem_id: str
    index: int
    seed: int
    temperature: float
    top_p: float = 1.0


class AttemptResult(BaseModel):
    spec: AttemptSpec
    status: EndStatus
    reason: str = ""
    patch: str = ""
    totals: Totals
    identified: list[str] = []
    resumed_steps: int = 0  # steps replayed from the trajectory file instead of asked for


@dataclass(frozen=True)
class _Turn:
    """One saved step as the prompt shows it; elided, its observation (always message 1) is the placeholder."""

    full: list[Message]
    placeholder: str | None  # None: the observation is too short to be worth eliding

    @classmethod
    def of(cls, step: StepRecord) -> _Turn:
        return cls(step_messages(step), placeholder(step) if elidable(step) else None)

    def shown(self, elided: bool) -> list[Message]:
        if not elided or self.placeholder is None:
            return self.full
        return [self.full[0], {**self.full[1], "content": self.placeholder}, *self.full[2:]]

    @property
    def saving(self) -> int:
        return len(self.full[1]["content"]) - len(self.placeholder) if self.placeholder is not None else 0


@dataclass
class _State:
    """What the next call needs; the step records themselves are on disk, not kept here."""

    workspace: Workspace
    start: list[Message]  # the system prompt and the issue, never elided
    turns: list[_Turn] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    chars: int = 0  # of the start and of every step's messages, nothing elided: the context estimate
    elided: int = 0  # the observations of the steps before this one are shown as placeholders
    saved: int = 0  # characters the elided observations no longer take
    context: str = ""  # the file context shown with the latest call

    def add(self, step: StepRecord) -> None:
        """A step as it was saved: its call's elision and file context are the state from then on."""
        turn = _Turn.of(step)
        self.turns.append(turn)
        self.chars += message_chars(turn.full)
        self.totals = step.totals
        self.elide_to(step.elided)
        if step.context is not None:
            self.context = step.context

    def elide_to(self, count: int) -> None:
        self.saved += sum(turn.saving for turn in self.turns[self.elided:count])
        self.elided = max(self.elided, count)

    def estimate(self, dialogue: Dialogue, config: AgentConfig) -> int:
        """Tokens of the next prompt (about four characters a token) plus the room its answer may take."""
        chars = self.chars - self.saved + len(self.context) + dialogue.schema_chars
        return chars // 4 + config.max_tokens_per_call

    def messages(self) -> list[Message]:
        """The same messages `conversation.prompt_messages` rebuilds from the records (both use step_messages)."""
        messages = list(self.start)
        for n, turn in enumerate(self.turns):
            messages += turn.shown(n < self.elided)
        return with_file_context(messages, self.context)


def new_state(problem: Problem, env: Environment, config: AgentConfig) -> _State:
    messages = initial_messages(problem, config.prompts, tools=config.action_format == "tools", max_steps=config.budgets.max_steps)
    return _State(Workspace.fresh(env), messages, chars=message_chars(messages))
