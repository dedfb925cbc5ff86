"""What the model is shown at each step, rebuilt from the trajectory's records, and how it is asked.

The prompt of step k is a pure function of the start record, steps 0..k-1 and two values
saved on step k: how many of the oldest observations were elided to fit the context budget
(`StepRecord.elided`) and the file context shown with the call (`StepRecord.context`, saved
when it changed). So a resumed attempt asks exactly what it would have asked, and
`messages_for` gives back the messages the model really got.

`Dialogue` is the wire: chat messages with text actions, chat messages with OpenAI tool
calls, or (base models) one transcript prompt over the completions API.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.actions import Action, ActionError, parse_action
from agents.toolcalls import TOOL_SCHEMAS, action_from_call, calls_in_text
from agents.trajectory import StepRecord, Trajectory
from agents.transcript import STOP as TRANSCRIPT_STOP
from agents.transcript import render
from harness.records import Completion, ToolCall

TEXT_STOP = ("\nObservation:",)  # a model that starts writing its own observation has finished its turn
OBSERVATION = "Observation:\n"
ELIDE_MIN_CHARS = 300  # shorter observations cost about what their placeholder would
NOT_RUN = "Not run: only the first tool call of a response is run. Call one tool at a time."
Message = dict[str, Any]
_SCHEMA_CHARS = len(json.dumps(TOOL_SCHEMAS))  # the tools are part of every prompt that offers them


def call_message(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def elidable(step: StepRecord) -> bool:
    return len(step.observation) >= ELIDE_MIN_CHARS


def placeholder(step: StepRecord) -> str:
    """What stands in for an elided observation: which action produced it and how to see it again."""
    prefix = OBSERVATION if step.observation.startswith(OBSERVATION) else ""
    action = step.action or {}
    what = " ".join([str(action.get("name", "")), *map(str, action.get("args", []))]).strip() or "a malformed response"
    lines = step.observation.count("\n") + 1
    return (f"{prefix}[elided to save context: the {lines}-line result of `{what}` (step {step.step + 1}); "
            "repeat the action if you need it again]")


def step_messages(step: StepRecord, elide: bool = False) -> list[Message]:
    """The assistant's turn and what it was told back (a user message, or one tool message per call)."""
    observation = placeholder(step) if elide and elidable(step) else step.observation
    calls = step.call.tool_calls
    if not calls:
        return [{"role": "assistant", "content": step.call.response}, {"role": "user", "content": observation}]
    messages: list[Message] = [{"role": "assistant", "content": step.call.response or None,
                                "tool_calls": [call_message(call) for call in calls]}]
    messages.append({"role": "tool", "tool_call_id": calls[0].id, "content": observation})
    messages += [{"role": "tool", "tool_call_id": call.id, "content": NOT_RUN} for call in calls[1:]]
    return messages


def prompt_messages(start: Sequence[Message], steps: Sequence[StepRecord], elided: int, file_context: str) -> list[Message]:
    """The messages of the next call: the file context goes with the last one (a turn the history never keeps)."""
    messages = list(start)
    for step in steps:
        messages += step_messages(step, elide=step.step < elided)
    return with_file_context(messages, file_context)


def with_file_context(messages: list[Message], file_context: str) -> list[Message]:
    if file_context:
        last = messages[-1]
        messages[-1] = {**last, "content": f"{last.get('content') or ''}\n\n{file_context}"}
    return messages


def messages_for(trajectory: Trajectory, step: int) -> list[Message]:
    """The messages the model was given at `step` (rebuilt from the start record and the steps before it)."""
    if trajectory.start is None:
        return []
    record = trajectory.steps[step] if step < len(trajectory.steps) else None
    context = next((s.context for s in reversed(trajectory.steps[:step + 1]) if s.context is not None), "")
    return prompt_messages(trajectory.start.messages, trajectory.steps[:step], record.elided if record else 0, context or "")


def message_chars(messages: Sequence[Message]) -> int:
    return sum(len(str(m.get("content") or "")) + sum(len(c["function"]["arguments"]) for c in m.get("tool_calls", ())) for m in messages)


@dataclass(frozen=True)
class Parsed:
    action: Action | None
    error: str = ""  # format feedback when there is no action
    calls: tuple[ToolCall, ...] = ()  # the response's tool calls (ids made unique), kept in the trajectory


@dataclass(frozen=True)
class Dialogue:
    """How one attempt talks to the model."""

    tools: bool = False  # actions as OpenAI tool calls (chat only)
    chat: bool = True  # False: one transcript prompt for the completions API

    def __post_init__(self) -> None:
        if self.tools and not self.chat:
            raise ValueError("tool calls need the chat API")

    @property
    def schema_chars(self) -> int:
        return _SCHEMA_CHARS if self.tools else 0

    @property
    def stop(self) -> tuple[str, ...]:
        return () if self.tools else (TEXT_STOP if self.chat else TRANSCRIPT_STOP)

    def payload(self, messages: list[Message]) -> dict[str, Any]:
        """The request's conversation fields: messages (and tools), or one rendered prompt."""
        if not self.chat:
            return {"prompt": render(messages)}
        return {"messages": tuple(messages), "tools": TOOL_SCHEMAS if self.tools else None}

    def response_text(self, completion: Completion) -> str:
        """The response as it enters the history: a transcript continuation is cut where the next turn
        would start, even when the server ignored the stop sequences (the model's invented observation
        must not become part of the conversation)."""
        if self.chat:
            return completion.text
        cut = min((i for i in (completion.text.find(stop) for stop in TRANSCRIPT_STOP) if i >= 0), default=len(completion.text))
        return completion.text[:cut]

    def parse(self, completion: Completion, step: int) -> Parsed:
        text = self.response_text(completion)
        calls = tuple(c.model_copy(update={"id": c.id or f"call_{step}_{n}"}) for n, c in enumerate(completion.tool_calls))
        if len({c.id for c in calls}) < len(calls):  # ids must tell the tool messages apart
            calls = tuple(c.model_copy(update={"id": f"call_{step}_{n}"}) for n, c in enumerate(calls))
        try:
            if calls:
                return Parsed(_first_call(calls), calls=calls)
            if self.tools and (in_text := calls_in_text(text)):
                return Parsed(_first_call(in_text))
            return Parsed(parse_action(text))
        except ActionError as exc:
            hint = " Call one of the tools." if self.tools and not calls else ""
            return Parsed(None, str(exc) + hint, calls)


def _first_call(calls: tuple[ToolCall, ...]) -> Action:
    action = action_from_call(calls[0])
    if len(calls) > 1:
        note = f"Only the first of your {len(calls)} tool calls was run; call one tool per response."
        action = Action(action.name, action.args, action.body, note, action.replacements)
    return action
