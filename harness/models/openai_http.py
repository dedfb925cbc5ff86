"""A backend for any OpenAI-compatible HTTP server: vLLM serve, SGLang, hosted APIs.

Requests are pulled lazily from the caller's iterable and at most `concurrency` are in
flight at once, so a run of millions of samples never materializes its request list.
Transient failures (429, 5xx, timeouts, dropped connections, malformed bodies) are
retried with jittered exponential backoff; a request that still fails is yielded as a
result with `error` set, so the caller can count it as a failed attempt instead of
losing it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from harness.concurrency import bounded_as_completed
from harness.config import ConfigError, OpenAIModelConfig
from harness.records import Completion, GenerationRequest, GenerationResult, ToolCall

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.problems.base import Task
    from harness.records import Problem

logger = logging.getLogger(__name__)

# 408 (request timeout) and 409 (conflict) are the 4xx codes that mean "try again".
_RETRYABLE_4XX = frozenset({408, 409, 429})
_MAX_ERROR_CHARS = 500  # server error bodies can be whole HTML pages


class AttemptError(Exception):
    """One failed HTTP attempt; `retryable` decides whether tenacity tries again."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


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


def _estimate_tokens(text: str) -> int:
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


def _server_message(response: httpx.Response) -> str:
    """The human part of an error body: OpenAI's error.message, FastAPI's detail, or raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:_MAX_ERROR_CHARS]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])[:_MAX_ERROR_CHARS]
        for key in ("message", "detail", "error"):
            if key in body:
                return str(body[key])[:_MAX_ERROR_CHARS]
    return response.text[:_MAX_ERROR_CHARS]


def _check_status(response: httpx.Response) -> None:
    if response.status_code < 300:
        return
    status = response.status_code
    retryable = status in _RETRYABLE_4XX or status >= 500
    retry_after = _parse_retry_after(response.headers.get("retry-after")) if status == 429 else None
    raise AttemptError(f"HTTP {status}: {_server_message(response)}", retryable=retryable, retry_after=retry_after)


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


def _choice_tool_calls(choice: dict[str, Any], chat: bool) -> tuple[ToolCall, ...]:
    """The message's tool calls, kept even when odd: what the model meant is the agent's to judge.

    An entry that is not a well-formed call becomes a ToolCall without a name holding the raw
    entry, so the agent can answer it with format feedback instead of the run failing.
    """
    message = choice.get("message") if chat else None
    raw = message.get("tool_calls") if isinstance(message, dict) else None
    if not raw:
        return ()
    if not isinstance(raw, list):
        raw = [raw]
    return tuple(_tool_call(entry) for entry in raw)


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
    if len(choices) < n:
        raise AttemptError(f"malformed response: {len(choices)} choices for n={n}", retryable=True)
    # Servers may return choices out of order; `index` is what ties a choice to its seed.
    # Extra choices beyond n have no attempt index to go to, so they are dropped.
    ordered = sorted(enumerate(choices), key=lambda pair: (_int_or(pair[1].get("index"), pair[0]), pair[0]))
    return [choice for _, choice in ordered[:n]]


def _int_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def parse_completions(body: Any, n: int, chat: bool, prompt_text: str) -> list[Completion]:
    """The n completions in a response body, with usage split across them."""
    choices = _sorted_choices(body, n)
    texts = [_choice_text(c, chat) for c in choices]
    calls = [_choice_tool_calls(c, chat) for c in choices]
    # What each choice generated: its text and its calls' names and arguments.
    lengths = [len(t) + sum(len(call.name) + len(call.arguments) for call in cs) for t, cs in zip(texts, calls)]
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    prompt_tokens = _int_or(usage.get("prompt_tokens"), _estimate_tokens(prompt_text))
    total = usage.get("completion_tokens")
    if isinstance(total, int) and not isinstance(total, bool):
        # usage.completion_tokens counts all n samples together.
        per_choice = split_by_length(total, lengths)
    else:
        per_choice = [length // 4 for length in lengths]
    return [
        Completion(
            text=text,
            tool_calls=tool_calls,
            finish_reason=c.get("finish_reason") if isinstance(c.get("finish_reason"), str) else None,
            prompt_tokens=prompt_tokens,
            completion_tokens=tokens,
        )
        for c, text, tool_calls, tokens in zip(choices, texts, calls, per_choice)
    ]


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, AttemptError) and exc.retryable


class OpenAIBackend:
    """Sends each GenerationRequest as one /chat/completions or /completions call with `n` samples."""

    name = "openai"
    simulated = False

    def __init__(
        self,
        config: OpenAIModelConfig,
        *,
        retry_base_s: float = 1.0,
        retry_max_s: float = 60.0,
        retry_after_cap_s: float = 120.0,
    ) -> None:
        self.config = config
        self._chat = config.api == "chat"
        self._url = config.base_url.rstrip("/") + ("/chat/completions" if self._chat else "/completions")
        self._api_key = os.environ.get(config.api_key_env) if config.api_key_env else None
        # base * 2^k plus up to `base` of jitter, so many clients hitting one busy server spread out.
        self._backoff = wait_exponential(multiplier=retry_base_s, max=retry_max_s) + wait_random(0, retry_base_s)
        self._retry_after_cap_s = retry_after_cap_s
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_config(cls, run_config: RunConfig, task: Task, problems: list[Problem]) -> OpenAIBackend:
        if not isinstance(run_config.model, OpenAIModelConfig):
            raise ConfigError(f"model.backend: OpenAIBackend needs an openai model config, got {run_config.model.backend!r}")
        model = run_config.model
        return cls(model, retry_base_s=model.retry_base_s, retry_max_s=model.retry_max_s)

    def __repr__(self) -> str:  # deliberately leaves the API key out
        return f"OpenAIBackend(url={self._url!r}, model={self.config.model!r})"

    def _client(self) -> httpx.AsyncClient:
        # Built on first use so it binds to the event loop that actually runs generate(); a
        # client left over from an earlier asyncio.run() is tied to a dead loop, so replace it.
        loop = asyncio.get_running_loop()
        if self._http is not None and self._loop is not loop:
            self._http = None
        if self._http is None:
            self._loop = loop
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            limits = httpx.Limits(max_connections=self.config.concurrency, max_keepalive_connections=self.config.concurrency)
            # No pool timeout: waiting for a free connection is queueing, not a server fault.
            timeout = httpx.Timeout(self.config.timeout_s, pool=None)
            self._http = httpx.AsyncClient(headers=headers, limits=limits, timeout=timeout)
        return self._http

    async def aclose(self) -> None:
        client, self._http = self._http, None
        # A client from an earlier, finished loop cannot be closed from this one: just drop it.
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()

    async def generate(self, requests: Iterable[GenerationRequest]) -> AsyncIterator[GenerationResult]:
        """Yield one result per request as each finishes, keeping at most `concurrency` in flight."""
        async for result in bounded_as_completed(requests, self.run_request, self.config.concurrency):
            yield result

    async def run_request(self, request: GenerationRequest) -> GenerationResult:
        """One request end to end; failures become a result with `error`, never an exception."""
        started = time.monotonic()
        try:
            body, prompt_text = self._build_body(request)
            completions = await self._post_with_retries(body, request.n, prompt_text)
        except AttemptError as exc:
            return GenerationResult(request=request, error=self._redact(str(exc)), latency_s=time.monotonic() - started)
        except Exception as exc:  # a bug here must not take the other in-flight requests down
            logger.exception("unexpected failure for problem %s", request.problem_id)
            message = f"unexpected {type(exc).__name__}: {exc}"
            return GenerationResult(request=request, error=self._redact(message), latency_s=time.monotonic() - started)
        return GenerationResult(request=request, completions=completions, latency_s=time.monotonic() - started)

    def _build_body(self, request: GenerationRequest) -> tuple[dict[str, Any], str]:
        """The JSON body for the configured API, and the prompt text (for token estimates)."""
        if (request.prompt is None) == (request.messages is None):
            raise AttemptError("invalid request: set exactly one of prompt and messages", retryable=False)
        body: dict[str, Any] = {"model": self.config.model}
        if self._chat:
            messages = list(request.messages) if request.messages is not None else [{"role": "user", "content": request.prompt}]
            body["messages"] = messages
            prompt_text = "".join(str(m.get("content") or "") for m in messages)
            if request.tools:
                body["tools"] = list(request.tools)
                prompt_text += json.dumps(body["tools"])  # the schemas are part of the prompt the server bills
        else:
            if request.prompt is None:
                raise AttemptError("invalid request: the completions API needs a prompt, got chat messages", retryable=False)
            if request.tools:
                raise AttemptError("invalid request: tools need the chat API (model.api: chat)", retryable=False)
            body["prompt"] = prompt_text = request.prompt
        params = request.params
        body.update(n=request.n, temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_tokens)
        if params.stop:
            body["stop"] = list(params.stop)
        if self.config.send_seed:
            body["seed"] = request.seed
        return body, prompt_text

    async def _post_with_retries(self, body: dict[str, Any], n: int, prompt_text: str) -> list[Completion]:
        attempts = 0

        async def attempt() -> list[Completion]:
            nonlocal attempts
            attempts += 1
            return await self._post_once(body, n, prompt_text)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except AttemptError as exc:
            if exc.retryable:  # ran out of retries: say how hard we tried
                raise AttemptError(f"{exc} (gave up after {attempts} attempts)", retryable=False) from exc
            raise

    async def _post_once(self, body: dict[str, Any], n: int, prompt_text: str) -> list[Completion]:
        try:
            # The overall deadline: httpx's own timeout bounds each read, not the whole call.
            async with asyncio.timeout(self.config.timeout_s):
                response = await self._client().post(self._url, json=body)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise AttemptError(f"timed out after {self.config.timeout_s}s ({type(exc).__name__})", retryable=True) from exc
        except httpx.TransportError as exc:  # refused, reset, closed without a response
            raise AttemptError(f"connection error: {type(exc).__name__}: {exc}", retryable=True) from exc
        _check_status(response)
        try:
            payload = response.json()
        except ValueError as exc:  # includes JSONDecodeError and bad encodings
            raise AttemptError(f"malformed response: body is not JSON: {response.text[:200]!r}", retryable=True) from exc
        return parse_completions(payload, n, self._chat, prompt_text)

    def _wait(self, state: RetryCallState) -> float:
        """A 429's numeric Retry-After wins (capped); otherwise jittered exponential backoff."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, AttemptError) and exc.retry_after is not None:
            return min(exc.retry_after, self._retry_after_cap_s)
        return self._backoff(state)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.debug("%s attempt %d failed (%s); retrying", self._url, state.attempt_number, self._redact(str(exc)))

    def _redact(self, text: str) -> str:
        """Error bodies are echoed into results and logs; make sure the key never is."""
        return text.replace(self._api_key, "***") if self._api_key else text
