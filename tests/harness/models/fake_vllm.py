"""A stand-in for the `vllm` module, without a GPU or weights (the one mock here): vLLM replicas
on Ray use all of it, tests/harness/models/test_vllm_engine.py its engine and data classes.

It is kept to the real API: tests/harness/models/test_vllm_api_record.py checks its names,
parameters, defaults and behaviours against vllm_api.json, recorded from a real vllm install by
scripts/record_vllm_api.py. Like vLLM's V1 engine, a request with n samples and seed s is fanned
out into n children, child i seeded s + i; greedy sampling (temperature 0) with n > 1 raises.

Its LLM answers each child with a text that is a pure function of (prompt, child seed), so a run
through it is reproducible on any executor. It records every engine call in `calls`. With
`record_to` in engine_kwargs each engine call also appends {pid, CUDA_VISIBLE_DEVICES, start,
end} to that file, to see which replica (and which GPU Ray gave it) made which call, and that no
replica's calls overlapped.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

_SAMPLING_EPS = 1e-5  # vLLM's threshold below which a temperature means greedy


class VLLMValidationError(Exception):
    """What vLLM raises for invalid sampling parameters (not a ValueError there either)."""


@dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: str | list[str] | None = None
    max_tokens: int | None = 16

    def __post_init__(self) -> None:
        if self.temperature < _SAMPLING_EPS:  # greedy: vLLM resets top_p and refuses n > 1
            self.top_p = 1.0
            if self.n > 1:
                raise VLLMValidationError(f"n must be 1 when using greedy sampling, got {self.n}.")


@dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list[int]
    cumulative_logprob: float | None = None
    logprobs: Any = None
    finish_reason: str | None = "stop"


@dataclass
class RequestOutput:
    request_id: str
    prompt: str | None
    prompt_token_ids: list[int] | None
    prompt_logprobs: Any
    outputs: list[CompletionOutput]
    finished: bool


def answer(prompt: str, seed: int | None) -> str:
    return f"I think the answer is {zlib.crc32(f'{prompt}|{seed}'.encode()) % 16}"


def child_params(params: SamplingParams) -> list[SamplingParams]:
    """V1's fan-out of one request: n children of one sample each, child i seeded seed + i."""
    return [replace(params, n=1, seed=None if params.seed is None else params.seed + i) for i in range(params.n)]


@dataclass
class LLM:
    model: str
    record_to: str | None = None
    kwargs: dict = field(default_factory=dict)
    reverse_outputs: bool = False  # return a request's outputs last index first (clients must sort by index)
    calls: list[tuple[str, list[Any], list[SamplingParams]]] = field(default_factory=list)

    def generate(self, prompts: str | Sequence[str], sampling_params: SamplingParams | Sequence[SamplingParams] | None = None,
                 *, use_tqdm: bool = True) -> list[RequestOutput]:
        prompt_list = [prompts] if isinstance(prompts, str) else list(prompts)
        return self._run("generate", prompt_list, prompt_list, sampling_params)

    def chat(self, messages: list[dict[str, Any]] | Sequence[list[dict[str, Any]]],
             sampling_params: SamplingParams | Sequence[SamplingParams] | None = None, use_tqdm: bool = True,
             tools: list[dict[str, Any]] | None = None) -> list[RequestOutput]:
        conversations = [messages] if messages and isinstance(messages[0], dict) else list(messages)
        # What the chat template would render, enough to key the answers: the last message's text.
        prompts = [str(conversation[-1].get("content") or "") for conversation in conversations]
        return self._run("chat", conversations, prompts, sampling_params)

    def _run(self, kind: str, inputs: list[Any], prompts: list[str],
             sampling_params: SamplingParams | Sequence[SamplingParams] | None) -> list[RequestOutput]:
        params = sampling_params if sampling_params is not None else SamplingParams()
        per_prompt = [params] * len(prompts) if isinstance(params, SamplingParams) else list(params)
        if len(per_prompt) != len(prompts):  # vLLM's own check
            raise ValueError("The lengths of prompts and sampling_params must be the same.")
        self.calls.append((kind, inputs, per_prompt))
        started = time.time()
        time.sleep(0.01)  # long enough that overlapping calls would show in the record
        results = [self._request_output(i, prompt, p) for i, (prompt, p) in enumerate(zip(prompts, per_prompt))]
        if self.record_to:
            line = {"pid": os.getpid(), "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": started, "end": time.time()}
            with open(self.record_to, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
        return results

    def _request_output(self, number: int, prompt: str, params: SamplingParams) -> RequestOutput:
        outputs = [CompletionOutput(index=i, text=answer(prompt, child.seed), token_ids=[0] * (8 + i))
                   for i, child in enumerate(child_params(params))]
        if self.reverse_outputs:
            outputs.reverse()
        return RequestOutput(request_id=str(number), prompt=prompt, prompt_token_ids=[0] * (len(prompt) // 4 + 1),
                             prompt_logprobs=None, outputs=outputs, finished=True)


def make_llm(model: str, record_to: str | None = None, **kwargs: object) -> LLM:
    return LLM(model, record_to, kwargs)


def module() -> types.ModuleType:
    fake = types.ModuleType("vllm")
    fake.LLM = make_llm  # type: ignore[attr-defined]
    fake.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    return fake


def install() -> None:
    """Register the fake as `vllm` in this process (a Ray worker unpickling a task)."""
    sys.modules["vllm"] = module()
