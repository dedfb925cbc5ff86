"""A ModelBackend that plays back scripted responses per attempt, with no latency (tests, benchmarks).

A script maps (problem id, attempt index) to the list of responses for steps 0, 1, 2, ...;
the step of a request is the number of assistant turns it already holds. A text response to a
request that offers tools is sent as the equivalent tool call (prose stays prose); an entry
may also be a whole `Completion` (e.g. with garbage tool calls), or a function of the request
that returns the response (an edit copied from what the attempt viewed). Instead of a
list, a `Responder` computes the response from the request and the step. A `Fail` entry
makes that call come back as a backend error. Past the end of its script an attempt gets
`default` (by default: finish). Every call is logged in `calls` as (problem, index, step).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

from agents.actions import ActionError, parse_action
from agents.toolcalls import call_for
from agents.transcript import assistant_turns
from harness.records import Completion, GenerationRequest, GenerationResult

Responder = Callable[[GenerationRequest, int], "str | Completion"]
FINISH = "```action\nfinish\n```"


@dataclass(frozen=True)
class Fail:
    """A scripted backend failure (the call's result has `error` set)."""

    message: str = "scripted failure"


class Hang:
    """A scripted call that never returns (to cut an attempt off mid-way, as a crash would)."""


ScriptEntry = str | Completion | Fail | Hang | Callable[[GenerationRequest], str]


def step_of(request: GenerationRequest) -> int:
    if request.prompt is not None:  # a transcript for a base model
        return assistant_turns(request.prompt)
    return sum(1 for message in request.messages or () if message.get("role") == "assistant")


def prompt_chars(request: GenerationRequest) -> int:
    return len(request.prompt or "") + sum(len(str(m.get("content") or "")) for m in request.messages or ())


def completion_for(request: GenerationRequest, text: str, step: int) -> Completion:
    """`text` as the model's answer; when the request offers tools, its action comes as a tool call."""
    prompt, calls = prompt_chars(request) // 4 + 1, ()
    if request.tools:
        try:
            calls = (call_for(parse_action(text), f"call_{step}"),)
            text = ""
        except ActionError:
            pass  # prose without an action: the model answered in text, not with a call
    size = len(text) + sum(len(c.arguments) for c in calls)
    return Completion(text=text, tool_calls=calls, finish_reason="tool_calls" if calls else "stop",
                      prompt_tokens=prompt, completion_tokens=size // 4 + 1)


def action(command: str, body: str = "") -> str:
    """A response in the taught format: a line of prose and one ```action block."""
    block = command + ("\n" + body.rstrip("\n") if body else "")
    return f"Next step.\n```action\n{block}\n```"


def edit_action(path: str, search: str, replace: str) -> str:
    return action(f"edit {path}", f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE")


class ScriptedBackend:
    name = "scripted"
    simulated = True

    def __init__(self, scripts: dict[tuple[str, int], list[ScriptEntry]] | None = None,
                 responder: Responder | None = None, default: str = FINISH, yield_every: int = 64) -> None:
        self.scripts = scripts or {}
        self.responder, self.default, self.yield_every = responder, default, yield_every
        self.calls: list[tuple[str, int, int]] = []

    def respond(self, request: GenerationRequest, step: int) -> str | Completion | Fail | Hang:
        script = self.scripts.get((request.problem_id, request.first_index))
        if script is not None:
            entry = script[step] if step < len(script) else self.default
            return entry(request) if callable(entry) else entry
        return self.responder(request, step) if self.responder else self.default

    def result(self, request: GenerationRequest) -> GenerationResult | Hang:
        step = step_of(request)
        self.calls.append((request.problem_id, request.first_index, step))
        text = self.respond(request, step)
        if isinstance(text, Hang):
            return text
        if isinstance(text, Fail):
            return GenerationResult(request=request, error=text.message)
        if isinstance(text, Completion):
            return GenerationResult(request=request, completions=[text])
        return GenerationResult(request=request, completions=[completion_for(request, text, step)])

    async def generate(self, requests: Iterable[GenerationRequest]) -> AsyncIterator[GenerationResult]:
        hung = False
        for count, request in enumerate(requests, 1):
            result = self.result(request)
            if isinstance(result, Hang):
                hung = True  # this call never answers; the batch's other calls still do
            else:
                yield result
            if count % self.yield_every == 0:
                await asyncio.sleep(0)
        if hung:
            await asyncio.Event().wait()  # until cancelled

    async def aclose(self) -> None:
        return None
