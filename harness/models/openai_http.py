"""A backend for any OpenAI-compatible HTTP server: vLLM serve, llama.cpp, SGLang, hosted APIs.

Requests are pulled lazily from the caller's iterable and at most `concurrency` HTTP calls are
in flight at once, so a run of millions of samples never materializes its request list.
Transient failures (429, 5xx, timeouts, dropped connections, malformed bodies) are
retried with jittered exponential backoff; a request that still fails is yielded as a
result with `error` set, so the caller can count it as a failed attempt instead of
losing it.

What a server turns out to do is learned once and kept for the backend's life, and said in
`run_notes()` (the run records them, the report shows them): a server that returns fewer
choices than `n` gets every later sample as a request of its own (seed + j for sample j),
and so does greedy sampling with n > 1 on every server; a chat template that refuses system
messages gets the system prompt at the start of the first user message. Response bodies are
read by openai_responses.py.
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
from harness.models.openai_responses import (
    AttemptError,
    FewerChoices,
    ParsedResponse,
    check_status,
    fold_system_messages,
    parse_completions,
    sendable_messages,
    split_by_length,
)
from harness.records import Completion, GenerationRequest, GenerationResult

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.problems.base import Task
    from harness.records import Problem

logger = logging.getLogger(__name__)

__all__ = ["AttemptError", "OpenAIBackend", "split_by_length"]

# What run_notes() says about a server, by what was learned.
NOTES = {
    "one_choice_per_call": "The server returned fewer choices than n (it ignores `n`): every sample was sent as a "
                           "request of its own with its own seed, so the samples of a request no longer share one "
                           "prefill of the prompt, and each attempt is charged its prompt tokens.",
    "greedy_split": "Temperature 0 with n > 1: every sample was sent as a request of its own (greedy sampling "
                    "does not fan out), each charged its prompt tokens.",
    "system_folded": "The server's chat template refused system messages: the system prompt was sent at the "
                     "start of the first user message instead.",
    "usage_estimated": "The server left out (some of) `usage` in some responses: those token counts are "
                       "estimated at 4 characters a token.",
    "stop_cut": "The server returned text past a stop sequence: it was cut at the first stop sequence here.",
    "context_length": "Some requests did not fit the server's context window: their attempts ended with "
                      "finish_reason context_length (the run went on).",
}


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, AttemptError) and exc.retryable


class OpenAIBackend:
    """Sends each GenerationRequest as one /chat/completions or /completions call with `n` samples
    (or, where the server or greedy sampling needs it, one call per sample)."""

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
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.learned: set[str] = set()  # keys of NOTES: what this server turned out to do

    @classmethod
    def from_config(cls, run_config: RunConfig, task: Task, problems: list[Problem]) -> OpenAIBackend:
        if not isinstance(run_config.model, OpenAIModelConfig):
            raise ConfigError(f"model.backend: OpenAIBackend needs an openai model config, got {run_config.model.backend!r}")
        model = run_config.model
        return cls(model, retry_base_s=model.retry_base_s, retry_max_s=model.retry_max_s)

    def __repr__(self) -> str:  # deliberately leaves the API key out
        return f"OpenAIBackend(url={self._url!r}, model={self.config.model!r})"

    def run_notes(self) -> dict[str, str]:
        """What the server turned out to do and how it was handled, for the run's report."""
        return {key: NOTES[key] for key in sorted(self.learned)}

    def _learn(self, key: str) -> None:
        if key not in self.learned:
            self.learned.add(key)
            logger.warning("%s: %s", self._url, NOTES[key])

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
            # Calls in flight, whether a request went as one call or one per sample.
            self._slots = asyncio.Semaphore(self.config.concurrency)
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
            completions, shared = await self._sample(request)
        except AttemptError as exc:
            if exc.kind is not None:
                self._learn(exc.kind.value)
            return GenerationResult(request=request, error=self._redact(str(exc)), error_kind=exc.kind,
                                    latency_s=time.monotonic() - started)
        except Exception as exc:  # a bug here must not take the other in-flight requests down
            logger.exception("unexpected failure for problem %s", request.problem_id)
            message = f"unexpected {type(exc).__name__}: {exc}"
            return GenerationResult(request=request, error=self._redact(message), latency_s=time.monotonic() - started)
        return GenerationResult(request=request, completions=completions, latency_s=time.monotonic() - started,
                                prompt_shared=shared)

    async def _sample(self, request: GenerationRequest) -> tuple[list[Completion], bool]:
        """The request's n completions, and whether they shared one prefill of the prompt."""
        if request.n > 1 and request.params.temperature == 0:
            self._learn("greedy_split")
            return await self._one_call_per_sample(request), False
        if request.n > 1 and "one_choice_per_call" in self.learned:
            return await self._one_call_per_sample(request), False
        try:
            return await self._call(request, request.n, request.seed), True
        except FewerChoices:
            self._learn("one_choice_per_call")
            return await self._one_call_per_sample(request), False

    async def _one_call_per_sample(self, request: GenerationRequest) -> list[Completion]:
        """Sample j as a call of its own with seed + j: the attempt's own seed."""
        parts = await asyncio.gather(*(self._call(request, 1, request.seed + j) for j in range(request.n)),
                                     return_exceptions=True)
        for part in parts:
            if isinstance(part, BaseException):
                raise part
        return [completion for part in parts for completion in part]  # type: ignore[union-attr]

    async def _call(self, request: GenerationRequest, n: int, seed: int) -> list[Completion]:
        """One HTTP call for n samples; a refused system message is folded in and the call made again."""
        fold = "system_folded" in self.learned
        body, prompt_text = self._build_body(request, n, seed, fold_system=fold)
        try:
            parsed = await self._post_with_retries(body, n, prompt_text, request.params.stop)
        except AttemptError as exc:
            if not (exc.system_rejected and not fold and any(m.get("role") == "system" for m in body.get("messages", ()))):
                raise
            body, prompt_text = self._build_body(request, n, seed, fold_system=True)
            parsed = await self._post_with_retries(body, n, prompt_text, request.params.stop)
            self._learn("system_folded")
        if parsed.estimated:
            self._learn("usage_estimated")
        if parsed.stop_cut:
            self._learn("stop_cut")
        return parsed.completions

    def _build_body(self, request: GenerationRequest, n: int, seed: int, fold_system: bool = False) -> tuple[dict[str, Any], str]:
        """The JSON body for the configured API, and the prompt text (for token estimates)."""
        if (request.prompt is None) == (request.messages is None):
            raise AttemptError("invalid request: set exactly one of prompt and messages", retryable=False)
        body: dict[str, Any] = {"model": self.config.model}
        if self._chat:
            messages = list(request.messages) if request.messages is not None else [{"role": "user", "content": request.prompt}]
            body["messages"] = sendable_messages(fold_system_messages(messages) if fold_system else messages)
            prompt_text = "".join(str(m.get("content") or "") for m in messages)
            if request.tools:
                # Said, not left to the default: llama-cpp-python ignores tools unless tool_choice is "auto".
                body.update(tools=list(request.tools), tool_choice="auto")
                prompt_text += json.dumps(body["tools"])  # the schemas are part of the prompt the server bills
        else:
            if request.prompt is None:
                raise AttemptError("invalid request: the completions API needs a prompt, got chat messages", retryable=False)
            if request.tools:
                raise AttemptError("invalid request: tools need the chat API (model.api: chat)", retryable=False)
            body["prompt"] = prompt_text = request.prompt
        params = request.params
        body.update(n=n, temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_tokens)
        if params.stop:
            body["stop"] = list(params.stop)
        if self.config.send_seed:
            body["seed"] = seed
        return body, prompt_text

    async def _post_with_retries(self, body: dict[str, Any], n: int, prompt_text: str, stop: Sequence[str]) -> ParsedResponse:
        attempts = 0

        async def attempt() -> ParsedResponse:
            nonlocal attempts
            attempts += 1
            return await self._post_once(body, n, prompt_text, stop)

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

    async def _post_once(self, body: dict[str, Any], n: int, prompt_text: str, stop: Sequence[str]) -> ParsedResponse:
        client = self._client()
        assert self._slots is not None
        async with self._slots:
            try:
                # The overall deadline: httpx's own timeout bounds each read, not the whole call.
                async with asyncio.timeout(self.config.timeout_s):
                    response = await client.post(self._url, json=body)
            except (TimeoutError, httpx.TimeoutException) as exc:
                raise AttemptError(f"timed out after {self.config.timeout_s}s ({type(exc).__name__})", retryable=True) from exc
            except httpx.TransportError as exc:  # refused, reset, closed without a response
                raise AttemptError(f"connection error: {type(exc).__name__}: {exc}", retryable=True) from exc
        check_status(response)
        try:
            payload = response.json()
        except ValueError as exc:  # includes JSONDecodeError and bad encodings
            raise AttemptError(f"malformed response: body is not JSON: {response.text[:200]!r}", retryable=True) from exc
        return parse_completions(payload, n, self._chat, prompt_text, stop)

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
