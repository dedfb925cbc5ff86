"""A conversation as one plain-text prompt, for base models behind a completions API.

A base DeepSeek- or Llama-class model has no chat template; it continues text. The
conversation is written as a transcript with a marker line before each turn, and the prompt
ends with the assistant's marker, so the model's continuation is its next response. It is
stopped where it would start the next turn itself (`STOP`)::

    <system prompt>

    ### User
    <the issue>

    ### Assistant
    <response>

    ### User
    Observation:
    ...

    ### Assistant
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MARKERS = {"user": "### User", "assistant": "### Assistant", "tool": "### User"}
STOP = ("\n### User", "\n### Assistant", "\nObservation:")  # the next turn, or the model inventing a result


def render(messages: Sequence[dict[str, Any]]) -> str:
    """The prompt for the next assistant turn."""
    parts = []
    for message in messages:
        content = str(message.get("content") or "").strip("\n")
        role = message.get("role", "user")
        parts.append(content if role == "system" else f"{MARKERS.get(role, MARKERS['user'])}\n{content}")
    parts.append(MARKERS["assistant"] + "\n")
    return "\n\n".join(parts)


def assistant_turns(prompt: str) -> int:
    """How many responses a rendered prompt already holds (its step, for scripted models)."""
    return prompt.count("\n" + MARKERS["assistant"] + "\n") - 1
