"""A stand-in for the `vllm` module, without a GPU or weights (the one mock here): vLLM replicas
on Ray use all of it, tests/harness/models/test_vllm_engine.py its data classes.

Its LLM answers each prompt with n texts that are a pure function of (prompt, seed + i), so a
run through it is reproducible on any executor. With `record_to` in engine_kwargs each engine
call appends {pid, CUDA_VISIBLE_DEVICES, start, end} to that file, to see which replica (and
which GPU Ray gave it) made which call, and that no replica's calls overlapped.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
import zlib
from dataclasses import dataclass, field


@dataclass
class SamplingParams:
    n: int = 1
    seed: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    stop: list[str] | None = None


@dataclass
class Output:
    index: int
    text: str
    token_ids: list[int]
    finish_reason: str = "stop"


@dataclass
class RequestOutput:
    prompt_token_ids: list[int]
    outputs: list[Output]


def answer(prompt: str, seed: int) -> str:
    return f"I think the answer is {zlib.crc32(f'{prompt}|{seed}'.encode()) % 16}"


@dataclass
class LLM:
    model: str
    record_to: str | None = None
    kwargs: dict = field(default_factory=dict)

    def generate(self, prompts: list[str], params: list[SamplingParams], use_tqdm: bool = False) -> list[RequestOutput]:
        started = time.time()
        time.sleep(0.01)  # long enough that overlapping calls would show in the record
        results = [RequestOutput([0] * (len(prompt) // 4), [Output(i, answer(prompt, (p.seed or 0) + i), [0] * 8) for i in range(p.n)])
                   for prompt, p in zip(prompts, params, strict=True)]
        if self.record_to:
            line = {"pid": os.getpid(), "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": started, "end": time.time()}
            with open(self.record_to, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
        return results


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
