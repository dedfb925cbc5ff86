"""Reading what OpenAI-compatible servers send back, as real servers send it.

Pure functions over response bodies and error messages (the HTTP side is openai_http.py).
Real servers differ from the API's documentation in ways handled here:

- fewer choices than `n` (llama.cpp's server ignores `n`): `FewerChoices`, so the backend can
  send one request per sample instead;
- `usage` missing, null or partial: the missing counts are estimated and say so;
- stop sequences left in the text (a server that ignores `stop`, or echoes it): the text is cut
  at the first one;
- a prompt longer than the context window: recognized in the error message of vLLM, llama.cpp,
  llama-cpp-python, SGLang, TGI and OpenAI, so the attempt ends with `context_length`;
- a chat template that rejects system messages: recognized, so the backend can fold the
  system prompt into the first user message;
- tool calls as vLLM and llama.cpp emit them: arguments as a JSON string or an object, ids
  missing, the legacy single `function_call`; and sent back as every server takes them (an
  assistant turn that was all tool calls carries "" as content: llama-cpp-python refuses null).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from harness.records import Completion, ModelErrorKind, ToolCall

# 408 (request timeout) and 409 (conflict) are the 4xx codes that mean "try again".
_RETRYABLE_4XX = frozenset({408, 409, 429})
_MAX_ERROR_CHARS = 500  # server error bodies can be whole HTML pages

# How servers say a prompt does not fit: OpenAI and vLLM ("maximum context length is ... tokens"),
# llama-cpp-python ("exceed context window of"), llama.cpp ("exceeds the available context size",
# exceed_context_size_error), SGLang ("longer than the model's context length"), TGI ("must be <= N").
_CONTEXT_LENGTH = re.compile(
    r"context[ _](length|window|size)|maximum context|exceed_context_size|context_length_exceeded"
    r"|max_model_len|max_new_tokens` must be <=|prompt is too long",
    re.IGNORECASE,
)
# How chat templates refuse a system message: Gemma's and others' raise_exception texts, and the
# alternation check of templates that only know user and assistant turns.
_SYSTEM_REJECTED = re.compile(
    r"system (role|message|prompt)s? (is |are )?not (supported|allowed)|does not support system"
    r"|roles must alternate",
    re.IGNORECASE,
)


class AttemptError(Exception):
    """One failed HTTP attempt; `retryable` decides whether tenacity tries again.

    `kind` names a failure the caller acts on (the prompt does not fit the context);
    `system_rejected`: the server's chat template refused the system message.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None,
                 kind: ModelErrorKind | None = None, system_rejected: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.kind = kind
        self.system_rejected = system_rejected


class FewerChoices(AttemptError):
    """The server sent fewer (but some) choices than the `n` asked for: it ignores `n`."""

    def __init__(self, got: int, n: int) -> None:
        super().__init__(f"the server returned {got} choices for n={n}", retryable=False)
        self.got = got


def split_by_length(total: int, lengths: Sequence[int]) -> list[int]:
    """Split `total` into integers proportional to `lengths` that sum exactly to `total`.

    Largest-remainder method: floor every share, then hand the leftover units to the
    largest fractional parts (ties go to the earlier choice, so the split is deterministic).
    All-zero lengths split evenly.
    """
    if not lengths:
        return []
    weights = list(lengths) if sum(lengths) > 0 else [1] * len(lengths)
    weight_sum = sum(weights)
    # Integer arithmetic: floor and remainder of total * w / weight_sum, no float error.
    parts = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    leftover = total - sum(parts)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:leftover]:
        parts[i] += 1
    return parts


def estimate_tokens(text: str) -> int:
    """A cheap stand-in when the server reports no usage (about four characters a token)."""
    return len(text) // 4


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a numeric Retry-After header; HTTP-date forms fall back to backoff."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def server_message(response: httpx.Response) -> str:
    """The human part of an error body: OpenAI's error.message (and code), FastAPI's detail, or raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:_MAX_ERROR_CHARS]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and "message" in error:
            code = error.get("code") or error.get("type")
            suffix = f" ({code})" if isinstance(code, str) and code not in str(error["message"]) else ""
            return (str(error["message"]) + suffix)[:_MAX_ERROR_CHARS]
        for key in ("message", "detail", "error"):
            if key in body:
                return str(body[key])[:_MAX_ERROR_CHARS]
    return response.text[:_MAX_ERROR_CHARS]


def check_status(response: httpx.Response) -> None:
    """AttemptError for a failed response, classified: retryable, a context overflow, a refused system message."""
    if response.status_code < 300:
        return
    status, message = response.status_code, server_message(response)
    text = f"HTTP {status}: {message}"
    if status in (400, 413, 422, 500) and _CONTEXT_LENGTH.search(message):
        raise AttemptError(f"context length exceeded: {text}", retryable=False, kind=ModelErrorKind.CONTEXT_LENGTH)
    if status >= 400 and _SYSTEM_REJECTED.search(message):  # some servers answer a template error with 500
        raise AttemptError(text, retryable=False, system_rejected=True)
    retryable = status in _RETRYABLE_4XX or status >= 500
    retry_after = _parse_retry_after(response.headers.get("retry-after")) if status == 429 else None
    raise AttemptError(text, retryable=retryable, retry_after=retry_after)


def cut_at_stop(text: str, stops: Sequence[str]) -> str | None:
    """`text` up to its first stop sequence, or None when it holds none."""
    found = [i for i in (text.find(stop) for stop in stops if stop) if i >= 0]
    return text[:min(found)] if found else None


def _choice_text(choice: dict[str, Any], chat: bool) -> str:
    if chat:
        message = choice.get("message")
        if not isinstance(message, dict):
            raise AttemptError("malformed response: a choice has no message", retryable=True)
        text = message.get("content")
    else:
        text = choice.get("text")
    if text is None:  # e.g. a chat turn that was all tool calls, or a zero-length sample
        return ""
    if not isinstance(text, str):
        raise AttemptError(f"malformed response: choice text is {type(text).__name__}, not a string", retryable=True)
    return text


def _choice_tool_calls(choice: dict[str, Any], chat: bool, number: int) -> tuple[ToolCall, ...]:
    """The message's tool calls, kept even when odd: what the model meant is the agent's to judge.

    An entry that is not a well-formed call becomes a ToolCall without a name holding the raw
    entry, so the agent can answer it with format feedback instead of the run failing. A
    message with only the legacy `function_call` counts as one call. A call without an id gets
    one, since the tool result must name it when it goes back.
    """
    message = choice.get("message") if chat else None
    if not isinstance(message, dict):
        return ()
    raw = message.get("tool_calls")
    if not raw and isinstance(message.get("function_call"), dict):
        raw = [{"type": "function", "function": message["function_call"]}]
    if not raw:
        return ()
    if not isinstance(raw, list):
        raw = [raw]
    calls = (_tool_call(entry) for entry in raw)
    return tuple(call if call.id else call.model_copy(update={"id": f"call_{number}_{k}"}) for k, call in enumerate(calls))


def _tool_call(entry: Any) -> ToolCall:
    function = entry.get("function") if isinstance(entry, dict) else None
    if not isinstance(function, dict):
        return ToolCall(arguments=json.dumps(entry, default=str))
    call_id, name, arguments = entry.get("id"), function.get("name"), function.get("arguments")
    if not isinstance(arguments, str):  # some servers send the arguments as an object
        arguments = "" if arguments is None else json.dumps(arguments, default=str)
    return ToolCall(id=call_id if isinstance(call_id, str) else "", name=name if isinstance(name, str) else "",
                    arguments=arguments)


def _sorted_choices(body: Any, n: int) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        raise AttemptError("malformed response: no 'choices' list", retryable=True)
    choices = body["choices"]
    if not all(isinstance(c, dict) for c in choices):
        raise AttemptError("malformed response: a choice is not an object", retryable=True)
    if not choices:
        raise AttemptError(f"malformed response: no choices for n={n}", retryable=True)
    if len(choices) < n:
        raise FewerChoices(len(choices), n)
    # Servers may return choices out of order; `index` is what ties a choice to its seed.
    # Extra choices beyond n have no attempt index to go to, so they are dropped.
    ordered = sorted(enumerate(choices), key=lambda pair: (_int_or(pair[1].get("index"), pair[0]), pair[0]))
    return [choice for _, choice in ordered[:n]]


def _int_or(value: Any, default: int | None) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True)
class ParsedResponse:
    completions: list[Completion]
    estimated: tuple[str, ...] = ()  # the usage counts the server left out, estimated instead
    stop_cut: bool = False  # some text went past a stop sequence and was cut here


def parse_completions(body: Any, n: int, chat: bool, prompt_text: str, stop: Sequence[str] = ()) -> ParsedResponse:
    """The n completions in a response body, with usage split across them."""
    choices = _sorted_choices(body, n)
    raw_texts = [_choice_text(c, chat) for c in choices]
    cut = [cut_at_stop(t, stop) for t in raw_texts]
    texts = [t if c is None else c for t, c in zip(raw_texts, cut)]
    calls = [_choice_tool_calls(c, chat, i) for i, c in enumerate(choices)]
    # What each choice generated: its text and its calls' names and arguments.
    lengths = [len(t) + sum(len(call.name) + len(call.arguments) for call in cs) for t, cs in zip(raw_texts, calls)]
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    estimated = []
    prompt_tokens = _int_or(usage.get("prompt_tokens"), None)
    if prompt_tokens is None:
        prompt_tokens, estimated = estimate_tokens(prompt_text), ["prompt_tokens"]
    total = _int_or(usage.get("completion_tokens"), None)
    if total is None or (total == 0 and sum(lengths) > 0):  # zero tokens for a non-empty output: not counted
        per_choice, estimated = [length // 4 for length in lengths], [*estimated, "completion_tokens"]
    else:
        per_choice = split_by_length(total, lengths)  # usage.completion_tokens counts all n samples together
    completions = [
        Completion(
            text=text, tool_calls=tool_calls,
            # A text cut here ended at a stop sequence, whatever the server said.
            finish_reason="stop" if was_cut is not None else (c.get("finish_reason") if isinstance(c.get("finish_reason"), str) else None),
            prompt_tokens=prompt_tokens, completion_tokens=tokens,
        )
        for c, text, tool_calls, tokens, was_cut in zip(choices, texts, calls, per_choice, cut)
    ]
    return ParsedResponse(completions, tuple(estimated), any(c is not None for c in cut))


def fold_system_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation without system messages: their text opens the first user message instead.

    For chat templates that refuse the system role (Gemma's, some Mistral ones).
    """
    system = "\n\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    if not system:
        return rest
    for message in rest:
        if message.get("role") == "user" and isinstance(message.get("content"), str | None):
            message["content"] = f"{system}\n\n{message.get('content') or ''}"
            return rest
    return [{"role": "user", "content": system}, *rest]


def sendable_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages as every server takes them: an assistant turn's null content (all tool calls) becomes "".

    OpenAI's API allows null there; llama-cpp-python's request model rejects it (a 500).
    """
    return [{**m, "content": ""} if m.get("role") == "assistant" and m.get("content") is None else m for m in messages]
