"""The vLLM backend without a GPU: vllm itself is replaced by the stand-in module fake_vllm.py.

This is the one place we mock: the engine needs a GPU and model weights. The stand-in is held
to the real API by test_vllm_api_record.py. What is tested here is our side of the contract:
one LLM.generate (or LLM.chat) call per batch, one prompt per request with SamplingParams(n,
seed, ...), outputs mapped back to the right attempts, greedy requests split per sample.
"""

import asyncio
import sys

import pytest

from harness.config import config_from_dict
from harness.models.base import BackendUnavailable
from harness.models.vllm_engine import VLLMBackend
from harness.records import GenerationRequest, SamplingParams
from tests.harness.models import fake_vllm


@pytest.fixture
def vllm_module(monkeypatch):
    module = fake_vllm.module()
    # Outputs last index first on purpose: the backend must sort by index.
    module.LLM = lambda model, **kwargs: fake_vllm.LLM(model, kwargs=kwargs, reverse_outputs=True)
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


def requests(count, n=4, temperature=0.8):
    params = SamplingParams(temperature=temperature, top_p=0.95, max_tokens=64, stop=("\n\n",))
    return [GenerationRequest(problem_id=f"p{i}", first_index=4 * i, n=n, seed=100 + 4 * i, prompt=f"prompt{i}",
                              messages=({"role": "user", "content": f"prompt{i}"},), params=params) for i in range(count)]


async def collect(backend, reqs):
    return [r async for r in backend.generate(reqs)]


def test_engine_is_built_with_prefix_caching_and_user_kwargs(vllm_module):
    backend = make_backend()
    assert backend.llm.kwargs == {"enable_prefix_caching": True, "seed": 5, "tensor_parallel_size": 2}
    assert backend.llm.model == "/models/m"


def test_one_generate_call_per_batch_with_n_and_seed(vllm_module):
    backend = make_backend(batch_size=3)
    results = asyncio.run(collect(backend, requests(7)))
    assert [len(call[1]) for call in backend.llm.calls] == [3, 3, 1]
    first_params = backend.llm.calls[0][2][0]
    assert (first_params.n, first_params.seed, first_params.temperature, first_params.stop) == (4, 100, 0.8, ["\n\n"])
    assert [r.request.problem_id for r in results] == [f"p{i}" for i in range(7)]
    # Sample j of a request is the engine's child j, seeded request seed + j: the attempt's own seed.
    assert [c.text for c in results[2].completions] == [fake_vllm.answer("prompt2", 108 + j) for j in range(4)]
    assert [c.completion_tokens for c in results[2].completions] == [8, 9, 10, 11]
    assert all(c.prompt_tokens == len("prompt2") // 4 + 1 for c in results[2].completions)
    assert all(r.prompt_shared for r in results)


def test_greedy_requests_go_as_one_prompt_per_sample(vllm_module):
    # vLLM refuses n > 1 at temperature 0 (the stand-in raises as the real one does): the backend never asks.
    with pytest.raises(fake_vllm.VLLMValidationError):
        fake_vllm.SamplingParams(n=2, temperature=0.0)
    backend = make_backend(batch_size=2)
    results = asyncio.run(collect(backend, requests(3, n=3, temperature=0.0)))
    assert all(r.error is None for r in results), [r.error for r in results]
    kind, prompts, params = backend.llm.calls[0]
    assert prompts == ["prompt0"] * 3 + ["prompt1"] * 3  # one engine call for the batch, n prompts per request
    assert [(p.n, p.seed) for p in params] == [(1, 100), (1, 101), (1, 102), (1, 104), (1, 105), (1, 106)]
    assert [c.text for c in results[1].completions] == [fake_vllm.answer("prompt1", 104 + j) for j in range(3)]
    assert not results[0].prompt_shared  # each sample's prompt was processed: the sampler charges each


def test_chat_api_sends_a_list_of_conversations_and_of_params(vllm_module):
    backend = make_backend(api="chat")
    results = asyncio.run(collect(backend, requests(2)))
    kind, conversations, params = backend.llm.calls[0]
    assert kind == "chat" and conversations == [[{"role": "user", "content": "prompt0"}], [{"role": "user", "content": "prompt1"}]]
    assert [p.seed for p in params] == [100, 104]
    assert results[1].completions[0].text == fake_vllm.answer("prompt1", 104)


def test_engine_failure_becomes_recorded_errors(vllm_module):
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
