"""OpenAIBackend against what real servers do, played by the test server on 127.0.0.1.

Each behaviour here was seen from a real server (llama.cpp's answers `n` with one choice; chat
templates that raise on a system message; context errors; usage left out). The same backend
meets the real llama.cpp server in tests/harness/models/test_llama_server.py.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the fake server sits next to this file (no tests/__init__.py)

from fake_openai_server import FakeOpenAIServer, Fault, completion_tokens, prompt_tokens, reply_text  # noqa: E402

from harness.config import OpenAIModelConfig  # noqa: E402
from harness.models.base import ReportsServerBehaviour  # noqa: E402
from harness.models.openai_http import NOTES, OpenAIBackend  # noqa: E402
from harness.models.openai_responses import cut_at_stop, fold_system_messages  # noqa: E402
from tests.harness.models.helpers import run_all  # noqa: E402
from harness.records import GenerationRequest, ModelErrorKind, SamplingParams  # noqa: E402


def make_backend(base_url: str, **overrides: Any) -> OpenAIBackend:
    fields: dict[str, Any] = dict(backend="openai", model="m", base_url=base_url, api_key_env=None, api="completions",
                                  concurrency=4, timeout_s=5.0, max_retries=2)
    fields.update(overrides)
    return OpenAIBackend(OpenAIModelConfig(**fields), retry_base_s=0.01, retry_max_s=0.05)


def request(key: str, *, n: int = 3, seed: int = 7, first_index: int = 0, temperature: float = 0.8,
            chat: bool = False, stop: tuple[str, ...] = ()) -> GenerationRequest:
    params = SamplingParams(temperature=temperature, max_tokens=32, stop=stop)
    if chat:
        messages = ({"role": "system", "content": "You are terse."}, {"role": "user", "content": key})
        return GenerationRequest(problem_id=key, first_index=first_index, n=n, seed=seed, messages=messages, params=params)
    return GenerationRequest(problem_id=key, first_index=first_index, n=n, seed=seed, prompt=key, params=params)



def test_a_server_that_ignores_n_gets_one_call_per_sample_from_then_on() -> None:
    with FakeOpenAIServer(ignores_n=True) as server:
        server.start()
        backend = make_backend(server.base_url, concurrency=1)
        [first] = run_all(backend, [request("a", n=3, seed=7)])
        [second] = run_all(backend, [request("b", n=3, seed=13, first_index=6)])
    assert first.error is None and second.error is None
    # Sample j was its own call with seed + j: exactly its attempt's seed.
    assert [c.text for c in first.completions] == [reply_text("a", 7 + j, 0) for j in range(3)]
    assert [c.text for c in second.completions] == [reply_text("b", 13 + j, 0) for j in range(3)]
    # Detected once: the first request's n=3 call, then only single calls.
    assert [(r.key, r.body["n"], r.body["seed"]) for r in server.requests] == [
        ("a", 3, 7), ("a", 1, 7), ("a", 1, 8), ("a", 1, 9), ("b", 1, 13), ("b", 1, 14), ("b", 1, 15)]
    # Every sample's tokens are its own response's usage, and every prompt was processed once per sample.
    assert [c.completion_tokens for c in first.completions] == [completion_tokens([reply_text("a", 7 + j, 0)]) for j in range(3)]
    assert all(c.prompt_tokens == prompt_tokens("a") for c in first.completions)
    assert not first.prompt_shared and not second.prompt_shared
    assert isinstance(backend, ReportsServerBehaviour)
    assert backend.run_notes() == {"one_choice_per_call": NOTES["one_choice_per_call"]}


def test_a_server_that_honours_n_keeps_one_call_and_says_nothing() -> None:
    with FakeOpenAIServer() as server:
        server.start()
        backend = make_backend(server.base_url)
        [result] = run_all(backend, [request("a", n=3)])
    assert [c.text for c in result.completions] == [reply_text("a", 7, j) for j in range(3)]
    assert len(server.requests) == 1 and result.prompt_shared and backend.run_notes() == {}


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_greedy_sampling_with_n_above_one_is_one_call_per_sample(api: str) -> None:
    with FakeOpenAIServer() as server:
        server.start()
        backend = make_backend(server.base_url, api=api)
        [result] = run_all(backend, [request("g", n=3, seed=20, temperature=0.0, chat=api == "chat")])
    assert result.error is None and len(result.completions) == 3
    assert sorted((r.body["n"], r.body["seed"], r.body["temperature"]) for r in server.requests) == [(1, 20, 0.0), (1, 21, 0.0), (1, 22, 0.0)]
    assert not result.prompt_shared and set(backend.run_notes()) == {"greedy_split"}


def test_a_template_that_rejects_system_messages_gets_them_folded_into_the_first_user_turn() -> None:
    with FakeOpenAIServer(rejects_system=True) as server:
        server.start()
        backend = make_backend(server.base_url, api="chat", concurrency=1)
        results = run_all(backend, [request("first", n=1, chat=True), request("second", n=1, chat=True)])
    assert all(r.error is None for r in results), [r.error for r in results]
    bodies = [r.body for r in server.requests]
    assert len(bodies) == 3  # refused once (not retried as a 500 would be), then folded from the start
    assert bodies[0]["messages"][0]["role"] == "system"
    for body in bodies[1:]:
        assert body["messages"] == [{"role": "user", "content": f"You are terse.\n\n{body['messages'][0]['content'].split(chr(10))[-1]}"}]
    assert bodies[2]["messages"][0]["content"] == "You are terse.\n\nsecond"
    assert set(backend.run_notes()) == {"system_folded"}


def test_other_server_errors_are_not_mistaken_for_a_refused_system_message() -> None:
    with FakeOpenAIServer() as server:
        server.start(faults={"x": [Fault.http(500, times=None, message="CUDA error: an illegal memory access")]})
        backend = make_backend(server.base_url, api="chat", max_retries=1)
        [result] = run_all(backend, [request("x", n=1, chat=True)])
    assert "illegal memory access" in (result.error or "") and len(server.requests) == 2  # retried, never folded
    assert all(r.body["messages"][0]["role"] == "system" for r in server.requests)


def test_a_prompt_past_the_context_window_ends_its_attempts_and_the_rest_go_on() -> None:
    with FakeOpenAIServer(context_chars=40) as server:
        server.start()
        backend = make_backend(server.base_url)
        results = {r.request.problem_id: r for r in run_all(backend, [request("x" * 200, n=2), request("short", n=2)])}
    long = results["x" * 200]
    assert long.error_kind is ModelErrorKind.CONTEXT_LENGTH and "exceed context window" in (long.error or "")
    assert server.hits("x" * 200) == 1  # a 400: never retried
    assert results["short"].error is None and len(results["short"].completions) == 2
    assert set(backend.run_notes()) == {"context_length"}


@pytest.mark.parametrize("message", [
    "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (2000 in the messages, 100 in the completion).",
    "Requested tokens (3000) exceed context window of 2048",
    "the request exceeds the available context size, try increasing it",
    "The input (5000 tokens) is longer than the model's context length (4096 tokens).",
])
def test_context_errors_of_real_servers_are_recognized(message: str) -> None:
    with FakeOpenAIServer() as server:
        server.start(faults={"p": [Fault.http(400, times=None, message=message)]})
        [result] = run_all(make_backend(server.base_url), [request("p", n=1)])
    assert result.error_kind is ModelErrorKind.CONTEXT_LENGTH


@pytest.mark.parametrize("fault", [Fault.no_usage(), Fault.partial_usage()])
def test_missing_or_partial_usage_is_estimated_and_said(fault: Fault) -> None:
    with FakeOpenAIServer() as server:
        server.start(faults={"u": [fault]})
        backend = make_backend(server.base_url)
        [result] = run_all(backend, [request("u", n=2)])
    assert result.error is None
    assert [c.completion_tokens for c in result.completions] == [len(c.text) // 4 for c in result.completions]
    expected_prompt = prompt_tokens("u") if fault.kind == "partial_usage" else len("u") // 4  # the server's count where it gave one
    assert all(c.prompt_tokens == expected_prompt for c in result.completions)
    assert set(backend.run_notes()) == {"usage_estimated"}


def test_text_past_a_stop_sequence_is_cut_there() -> None:
    with FakeOpenAIServer() as server:  # the test server ignores `stop`, as some servers do
        server.start()
        backend = make_backend(server.base_url)
        [result] = run_all(backend, [request("s", n=2, stop=("|choice", "zzz"))])
    assert [c.text for c in result.completions] == ["echo:s|seed:7", "echo:s|seed:7"]
    assert all(c.finish_reason == "stop" for c in result.completions)
    assert server.requests[0].body["stop"] == ["|choice", "zzz"]
    assert set(backend.run_notes()) == {"stop_cut"}


def test_cut_at_stop_takes_the_earliest_of_several() -> None:
    assert cut_at_stop("a\n\nb Question: c", ("Question:", "\n\n")) == "a"
    assert cut_at_stop("no stop here", ("\n\n",)) is None
    assert cut_at_stop("x", ("",)) is None  # an empty stop sequence stops nothing


def test_fold_system_messages() -> None:
    conversation = [{"role": "system", "content": "S1"}, {"role": "system", "content": "S2"},
                    {"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}, {"role": "user", "content": "U2"}]
    assert fold_system_messages(conversation) == [{"role": "user", "content": "S1\n\nS2\n\nU"}, {"role": "assistant", "content": "A"},
                                                  {"role": "user", "content": "U2"}]
    assert fold_system_messages([{"role": "system", "content": "S"}]) == [{"role": "user", "content": "S"}]
    assert conversation[2] == {"role": "user", "content": "U"}  # the caller's messages are left alone


def test_an_assistant_turn_of_only_tool_calls_is_sent_with_empty_content() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "view", "arguments": "{}"}}
    messages = ({"role": "user", "content": "go"}, {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "ok"})
    with FakeOpenAIServer() as server:
        server.start()
        [result] = run_all(make_backend(server.base_url, api="chat"),
                           [GenerationRequest(problem_id="t", first_index=0, n=1, seed=0, messages=messages)])
    assert result.error is None
    assert server.requests[0].body["messages"][1] == {"role": "assistant", "content": "", "tool_calls": [call]}
    assert messages[1]["content"] is None  # the caller's messages are left alone
