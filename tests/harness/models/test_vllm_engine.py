"""The vLLM backend without a GPU: vllm itself is replaced by a recording fake module.

This is the one place we mock: the engine needs a GPU and model weights. What is tested
is our side of the contract: one LLM.generate (or LLM.chat) call per batch, one prompt per
request with SamplingParams(n, seed, ...), outputs mapped back to the right attempts.
"""

import asyncio
import sys
import types
from dataclasses import dataclass, field

import pytest

from harness.config import config_from_dict
from harness.models.base import BackendUnavailable
from harness.models.vllm_engine import VLLMBackend
from harness.records import GenerationRequest, SamplingParams
from tests.harness.models.fake_vllm import Output, RequestOutput
from tests.harness.models.fake_vllm import SamplingParams as FakeSamplingParams


@dataclass
class FakeLLM:
    model: str
    kwargs: dict
    calls: list = field(default_factory=list)

    def _outputs(self, prompts, params):
        results = []
        for prompt, p in zip(prompts, params, strict=True):
            # Reverse order on purpose: the backend must sort by index.
            outs = [Output(i, f"{prompt!s:.10}|seed={p.seed}|{i}", list(range(i + 1))) for i in reversed(range(p.n))]
            results.append(RequestOutput(prompt_token_ids=[0] * 7, outputs=outs))
        return results

    def generate(self, prompts, params, use_tqdm=False):
        self.calls.append(("generate", list(prompts), list(params)))
        return self._outputs(prompts, params)

    def chat(self, messages, params, use_tqdm=False):
        self.calls.append(("chat", list(messages), list(params)))
        return self._outputs([m[-1]["content"] for m in messages], params)


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM = lambda model, **kwargs: FakeLLM(model, kwargs)
    module.SamplingParams = FakeSamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def make_backend(api="completions", batch_size=3):
    config = config_from_dict({
        "name": "v", "task": "toy", "dataset": {"path": "/x.jsonl"},
        "model": {"backend": "vllm", "model": "/models/m", "api": api, "batch_size": batch_size,
                  "engine_kwargs": {"tensor_parallel_size": 2}},
        "sampling": {"seed": 5},
    })
    return VLLMBackend.from_config(config, task=None, problems=[])


def requests(count, n=4):
    params = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=64, stop=("\n\n",))
    return [GenerationRequest(problem_id=f"p{i}", first_index=0, n=n, seed=100 + i, prompt=f"prompt{i}",
                              messages=({"role": "user", "content": f"prompt{i}"},), params=params) for i in range(count)]


async def collect(backend, reqs):
    return [r async for r in backend.generate(reqs)]


def test_engine_is_built_with_prefix_caching_and_user_kwargs(fake_vllm):
    backend = make_backend()
    assert backend.llm.kwargs == {"enable_prefix_caching": True, "seed": 5, "tensor_parallel_size": 2}
    assert backend.llm.model == "/models/m"


def test_one_generate_call_per_batch_with_n_and_seed(fake_vllm):
    backend = make_backend(batch_size=3)
    results = asyncio.run(collect(backend, requests(7)))
    assert [len(call[1]) for call in backend.llm.calls] == [3, 3, 1]
    first_params = backend.llm.calls[0][2][0]
    assert (first_params.n, first_params.seed, first_params.temperature, first_params.stop) == (4, 100, 0.8, ["\n\n"])
    assert [r.request.problem_id for r in results] == [f"p{i}" for i in range(7)]
    texts = [c.text for c in results[2].completions]
    assert texts == [f"prompt2|seed=102|{i}" for i in range(4)]
    assert [c.completion_tokens for c in results[2].completions] == [1, 2, 3, 4]
    assert all(c.prompt_tokens == 7 for c in results[2].completions)


def test_chat_api_sends_messages(fake_vllm):
    backend = make_backend(api="chat")
    asyncio.run(collect(backend, requests(2)))
    kind, messages, _ = backend.llm.calls[0]
    assert kind == "chat" and messages[0] == [{"role": "user", "content": "prompt0"}]


def test_engine_failure_becomes_recorded_errors(fake_vllm):
    backend = make_backend(batch_size=2)

    def boom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory")

    backend.llm.generate = boom
    results = asyncio.run(collect(backend, requests(3)))
    assert len(results) == 3 and all("CUDA out of memory" in r.error for r in results)


def test_missing_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(BackendUnavailable, match=r"pip install 'monkeys\[vllm\]'"):
        make_backend()
