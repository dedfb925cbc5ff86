"""vLLM's offline engine: a batch of prompts goes to one LLM.generate (or LLM.chat) call.

Each request becomes one prompt with SamplingParams(n=..., seed=...), so vLLM fans the n
samples out from one prefill; prefix caching shares the few-shot prefix across prompts. V1's
fan-out seeds child i of a request with seed s as s + i, so with the request's seed (base +
first index) every sample gets exactly its attempt's seed. Greedy sampling (temperature 0)
refuses n > 1 there: such a request goes as n prompts of one sample each. The API used here is
recorded from a real vllm in tests/harness/models/vllm_api.json (scripts/record_vllm_api.py).
vllm is an optional extra and is imported only when this backend is built.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from harness.models.base import BackendUnavailable
from harness.records import Completion, GenerationRequest, GenerationResult, Problem

if TYPE_CHECKING:
    from harness.config import RunConfig, VLLMModelConfig
    from harness.problems.base import Task

MISSING_VLLM = (
    "the vllm backend needs the 'vllm' extra and a GPU: pip install 'monkeys[vllm]'. "
    "Without a GPU, serve a model elsewhere and use backend: openai."
)


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise BackendUnavailable(f"{MISSING_VLLM} ({exc})") from None
    return vllm


class VLLMBackend:
    name = "vllm"
    simulated = False

    def __init__(self, config: VLLMModelConfig, llm: Any, vllm_module: Any) -> None:
        self.config, self.llm, self.vllm = config, llm, vllm_module

    @classmethod
    def from_config(cls, run_config: RunConfig, task: Task, problems: list[Problem]) -> VLLMBackend:
        config: VLLMModelConfig = run_config.model  # type: ignore[assignment]
        vllm = import_vllm()
        kwargs = {"enable_prefix_caching": True, "seed": run_config.sampling.seed, **config.engine_kwargs}
        return cls(config, vllm.LLM(model=config.model, **kwargs), vllm)

    def sampling_params(self, req: GenerationRequest, n: int, seed: int) -> Any:
        p = req.params
        return self.vllm.SamplingParams(
            n=n, seed=seed, temperature=p.temperature, top_p=p.top_p,
            max_tokens=p.max_tokens, stop=list(p.stop) or None,
        )

    @staticmethod
    def engine_prompts(req: GenerationRequest) -> list[tuple[int, int]]:
        """(n, seed) of each engine prompt for a request: one, or one per sample when greedy."""
        if req.params.temperature == 0 and req.n > 1:  # vLLM: "n must be 1 when using greedy sampling"
            return [(1, req.seed + j) for j in range(req.n)]
        return [(req.n, req.seed)]

    def run_batch(self, batch: list[GenerationRequest]) -> list[GenerationResult]:
        """One engine call for the whole batch (blocking; called in a worker thread)."""
        owners = [(number, n, seed) for number, req in enumerate(batch) for n, seed in self.engine_prompts(req)]
        params = [self.sampling_params(batch[number], n, seed) for number, n, seed in owners]
        started = time.monotonic()
        if self.config.api == "chat":
            conversations = [list(batch[number].messages or ({"role": "user", "content": batch[number].prompt or ""},))
                             for number, _, _ in owners]
            outputs = self.llm.chat(conversations, params, use_tqdm=False)
        else:
            outputs = self.llm.generate([batch[number].prompt or "" for number, _, _ in owners], params, use_tqdm=False)
        latency = (time.monotonic() - started) / max(len(batch), 1)
        per_request: list[list[Any]] = [[] for _ in batch]
        for (number, _, _), output in zip(owners, outputs, strict=True):
            per_request[number].append(output)
        return [self._result(req, outs, latency) for req, outs in zip(batch, per_request, strict=True)]

    @staticmethod
    def _result(req: GenerationRequest, outputs: list[Any], latency: float) -> GenerationResult:
        # A request split per sample (greedy) had its prompt processed once per sample: the
        # sampler then charges it to every attempt, not to the first only.
        completions = [Completion(text=c.text, finish_reason=c.finish_reason, prompt_tokens=len(output.prompt_token_ids or ()),
                                  completion_tokens=len(c.token_ids))
                       for output in outputs for c in sorted(output.outputs, key=lambda c: c.index)]
        return GenerationResult(request=req, completions=completions, latency_s=latency, prompt_shared=len(outputs) == 1)

    async def generate(self, requests: Iterable[GenerationRequest]) -> AsyncIterator[GenerationResult]:
        iterator = iter(requests)
        while batch := list(itertools.islice(iterator, self.config.batch_size)):
            try:
                results = await asyncio.to_thread(self.run_batch, batch)
            except Exception as exc:  # noqa: BLE001 - an engine failure becomes recorded errors, not lost work
                results = [GenerationResult(request=r, error=f"vllm engine error: {exc!r}") for r in batch]
            for result in results:
                yield result

    async def aclose(self) -> None:
        return None
