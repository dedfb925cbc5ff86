"""The vLLM stand-in and the backend against vLLM's real API, as recorded in vllm_api.json.

The record comes from a real vllm install (scripts/record_vllm_api.py; vllm cannot run in the
test venv). These tests fail when the stand-in (fake_vllm.py) says something the real vLLM
does not (a field, a default, a parameter, a behaviour), or when the backend calls vLLM in a
way the real signatures would not accept, so the stand-in cannot drift from the real API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.config import config_from_dict
from harness.models.vllm_engine import VLLMBackend
from harness.records import GenerationRequest, SamplingParams
from tests.harness.models import fake_vllm

RECORD = json.loads((Path(__file__).parent / "vllm_api.json").read_text(encoding="utf-8"))
REAL_FIELDS: dict[str, Any] = RECORD["sampling_params"]["fields"]


def real_signature(name: str) -> inspect.Signature:
    parameters = [inspect.Parameter(p["name"], getattr(inspect.Parameter, p["kind"]),
                                    default=inspect.Parameter.empty if p["default"] == "<required>" else p["default"])
                  for p in RECORD[name]]
    return inspect.Signature(parameters)


def as_recorded(value: Any) -> Any:
    return value if isinstance(value, bool | int | float | str) or value is None else repr(value)


def test_the_record_is_of_a_current_vllm() -> None:
    major, minor = (int(part) for part in RECORD["vllm_version"].split(".")[:2])
    assert (major, minor) >= (0, 11)  # V1 is the only engine from 0.11 on: its fan-out is what the record shows


# -- SamplingParams ------------------------------------------------------------------------------


def test_stand_in_sampling_params_fields_and_defaults_are_real() -> None:
    for f in dataclasses.fields(fake_vllm.SamplingParams):
        assert f.name in REAL_FIELDS, f"vLLM's SamplingParams has no field {f.name!r}"
        assert as_recorded(f.default) == REAL_FIELDS[f.name], f"default of {f.name} differs from vLLM's"


@pytest.mark.parametrize("case, kwargs", [
    ("greedy_n2", {"n": 2, "temperature": 0.0}),
    ("greedy_n1", {"n": 1, "temperature": 0.0, "top_p": 0.5}),
    ("best_of", {"n": 1, "best_of": 2}),
    ("guided_decoding", {"guided_decoding": None}),
    ("stop_as_list", {"stop": ["\n\n"]}),
])
def test_stand_in_sampling_params_behave_as_recorded(case: str, kwargs: dict[str, Any]) -> None:
    real = RECORD["sampling_params"][case]
    try:
        made = fake_vllm.SamplingParams(**kwargs)
    except Exception as exc:  # noqa: BLE001
        assert "raises" in real, f"the stand-in raises {exc!r}; vLLM {RECORD['vllm_version']} accepts {kwargs}"
        assert type(exc).__name__ == real["raises"]
        if real["raises"] != "TypeError":  # TypeError's wording is the constructor's, not vLLM's
            assert str(exc) == real["message"]
        return
    assert "fields" in real, f"vLLM raises {real.get('raises')} for {kwargs}; the stand-in accepts it"
    assert {key: as_recorded(getattr(made, key)) for key in kwargs} == real["fields"]


def test_the_backend_sends_only_real_sampling_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []

    def recording_params(**kwargs: Any) -> fake_vllm.SamplingParams:
        sent.append(kwargs)
        return fake_vllm.SamplingParams(**kwargs)

    module = fake_vllm.module()
    module.SamplingParams = recording_params
    monkeypatch.setitem(sys.modules, "vllm", module)
    backend, _ = run_backend("completions", temperatures=(0.7, 0.0))
    assert sent and all(set(kwargs) <= set(REAL_FIELDS) for kwargs in sent)
    assert all(not (kwargs["temperature"] == 0 and kwargs["n"] > 1) for kwargs in sent)  # what vLLM refuses


# -- LLM -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, record", [("generate", "llm_generate"), ("chat", "llm_chat")])
def test_stand_in_llm_methods_have_real_parameters(method: str, record: str) -> None:
    real = {p.name: p for p in real_signature(record).parameters.values()}
    for p in list(inspect.signature(getattr(fake_vllm.LLM, method)).parameters.values())[1:]:  # self left out
        assert p.name in real, f"vLLM's LLM.{method} has no parameter {p.name!r}"
        assert p.kind == real[p.name].kind, f"LLM.{method}({p.name}) is {real[p.name].kind.name} in vLLM"
        assert as_recorded(p.default) == as_recorded(real[p.name].default) or p.default is inspect.Parameter.empty


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_the_backends_engine_calls_bind_to_the_real_signatures(monkeypatch: pytest.MonkeyPatch, api: str) -> None:
    monkeypatch.setitem(sys.modules, "vllm", fake_vllm.module())
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    backend, results = run_backend(api, temperatures=(0.7, 0.0), calls=calls)
    signature = real_signature("llm_chat" if api == "chat" else "llm_generate")
    for args, kwargs in calls:
        bound = signature.bind(*args, **kwargs)  # (the record leaves self out) raises TypeError where vLLM would
        inputs, params = bound.arguments[list(signature.parameters)[0]], bound.arguments["sampling_params"]
        assert isinstance(params, list) and len(params) == len(inputs)  # a list of prompts (or conversations) and of params
        if api == "chat":
            assert all(isinstance(conversation, list) for conversation in inputs)
    assert all(r.error is None for r in results)


def test_engine_arguments_and_output_fields_the_backend_uses_are_real() -> None:
    assert "enable_prefix_caching" in RECORD["engine_args"] and "seed" in {p["name"] for p in RECORD["llm_init"]}
    request_output = {p["name"] for p in RECORD["request_output"]}
    assert {"prompt_token_ids", "outputs"} <= request_output
    assert {f.name for f in dataclasses.fields(fake_vllm.RequestOutput)} <= request_output
    completion_output = set(RECORD["completion_output"])
    assert {"index", "text", "token_ids", "finish_reason"} <= completion_output
    assert {f.name for f in dataclasses.fields(fake_vllm.CompletionOutput)} <= completion_output


# -- V1's fan-out and per-attempt seeds --------------------------------------------------------------


@pytest.mark.parametrize("case, seed, n", [("seed_100_n4", 100, 4), ("seed_7_n3", 7, 3), ("seed_none_n2", None, 2)])
def test_stand_in_fans_out_as_v1_does(case: str, seed: int | None, n: int) -> None:
    children = fake_vllm.child_params(fake_vllm.SamplingParams(n=n, seed=seed, temperature=0.8))
    assert [child.seed for child in children] == RECORD["v1_fan_out"][case]
    assert all(child.n == 1 for child in children)


def test_each_attempt_gets_exactly_its_own_seed_from_v1s_fan_out() -> None:
    # Attempts i..i+n-1 go as one request with seed base + i; V1 seeds child j with (base + i) + j.
    base, first, n = 1000, 8, 4
    children = RECORD["v1_fan_out"]["seed_100_n4"]
    assert [child - 100 for child in children] == list(range(n))  # child j: request seed + j, as recorded
    request_seed = base + first
    assert [request_seed + (child - 100) for child in children] == [base + attempt for attempt in range(first, first + n)]


# -- helpers ------------------------------------------------------------------------------------------


def run_backend(api: str, temperatures: tuple[float, ...], calls: list | None = None) -> tuple[VLLMBackend, list]:
    config = config_from_dict({
        "name": "v", "task": "toy", "dataset": {"path": "/x.jsonl"},
        "model": {"backend": "vllm", "model": "/models/m", "api": api, "batch_size": 8},
    })
    backend = VLLMBackend.from_config(config, task=None, problems=[])
    if calls is not None:
        for method in ("generate", "chat"):
            original = getattr(backend.llm, method)

            def recording(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                calls.append((args, kwargs))
                return _original(*args, **kwargs)

            setattr(backend.llm, method, recording)
    requests = [GenerationRequest(problem_id=f"p{i}", first_index=0, n=3, seed=10 * i, prompt=f"q{i}",
                                  messages=({"role": "system", "content": "s"}, {"role": "user", "content": f"q{i}"}),
                                  params=SamplingParams(temperature=t, max_tokens=8, stop=("\n",)))
                for i, t in enumerate(temperatures)]

    async def collect() -> list:
        return [r async for r in backend.generate(requests)]

    return backend, asyncio.run(collect())
