"""OpenAIBackend against a real HTTP server on 127.0.0.1 (tests/harness/models/fake_openai_server.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the fake server sits next to this file (no tests/__init__.py)

from fake_openai_server import FakeOpenAIServer, Fault, completion_tokens, prompt_tokens, reply_text, tool_call  # noqa: E402

from harness.config import ConfigError, OpenAIModelConfig, config_from_dict  # noqa: E402
from harness.models.base import ModelBackend  # noqa: E402
from harness.models.openai_http import OpenAIBackend, split_by_length  # noqa: E402
from tests.harness.models.helpers import run_all  # noqa: E402
from harness.records import GenerationRequest, GenerationResult, SamplingParams  # noqa: E402

KEY_ENV = "MONKEYS_TEST_OPENAI_KEY"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    fake = FakeOpenAIServer()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)


def make_backend(base_url: str, **overrides: Any) -> OpenAIBackend:
    fields: dict[str, Any] = dict(
        backend="openai", model="fake-model", base_url=base_url, api_key_env=KEY_ENV,
        api="completions", concurrency=4, timeout_s=2.0, max_retries=3,
    )
    fields.update(overrides)
    # Tiny backoff keeps the retry tests fast; the cap bounds how long a Retry-After can stall them.
    return OpenAIBackend(OpenAIModelConfig(**fields), retry_base_s=0.01, retry_max_s=0.05, retry_after_cap_s=0.5)


def make_request(key: str, *, n: int = 2, seed: int = 7, chat: bool = False, stop: tuple[str, ...] = ()) -> GenerationRequest:
    params = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=64, stop=stop)
    if chat:
        messages = ({"role": "system", "content": "be brief"}, {"role": "user", "content": key})
        return GenerationRequest(problem_id=key, first_index=0, n=n, seed=seed, messages=messages, params=params)
    return GenerationRequest(problem_id=key, first_index=0, n=n, seed=seed, prompt=key, params=params)



def by_problem(results: list[GenerationResult]) -> dict[str, GenerationResult]:
    counts = Counter(r.request.problem_id for r in results)
    assert all(c == 1 for c in counts.values()), f"duplicated results: {counts}"
    return {r.request.problem_id: r for r in results}


def assert_ok(result: GenerationResult, key: str, seed: int = 7) -> None:
    """Texts in index order, and usage split so the parts sum to the server's total."""
    assert result.error is None, result.error
    texts = [c.text for c in result.completions]
    assert texts == [reply_text(key, seed, i) for i in range(result.request.n)]
    assert sum(c.completion_tokens for c in result.completions) == completion_tokens(texts)
    assert all(c.finish_reason == "stop" for c in result.completions)


# -- bodies, headers, parsing ----------------------------------------------------------


def test_completions_body_and_results(server: FakeOpenAIServer) -> None:
    backend = make_backend(server.base_url, api="completions")
    [result] = run_all(backend, [make_request("what is 2+2", n=3, stop=("\n\n", "Question:"))])
    assert_ok(result, "what is 2+2")
    assert result.latency_s > 0
    assert all(c.prompt_tokens == prompt_tokens("what is 2+2") for c in result.completions)
    [call] = server.requests
    assert call.path == "/v1/completions"
    assert call.body == {
        "model": "fake-model", "prompt": "what is 2+2", "n": 3, "temperature": 0.8, "top_p": 0.95,
        "max_tokens": 64, "stop": ["\n\n", "Question:"], "seed": 7,
    }


def test_chat_body_sends_messages(server: FakeOpenAIServer) -> None:
    backend = make_backend(server.base_url, api="chat")
    [result] = run_all(backend, [make_request("hello", n=2, seed=11, chat=True)])
    assert_ok(result, "hello", seed=11)
    [call] = server.requests
    assert call.path == "/v1/chat/completions"
    assert call.body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
    assert (call.body["n"], call.body["seed"]) == (2, 11)
    assert "stop" not in call.body  # empty stop is omitted, not sent as []
    assert "prompt" not in call.body


def test_chat_wraps_a_bare_prompt_as_one_user_message(server: FakeOpenAIServer) -> None:
    backend = make_backend(server.base_url, api="chat", send_seed=False)
    [result] = run_all(backend, [make_request("plain prompt", n=1)])
    assert result.error is None
    [call] = server.requests
    assert call.body["messages"] == [{"role": "user", "content": "plain prompt"}]
    assert "seed" not in call.body  # send_seed=False
    assert result.completions[0].text == reply_text("plain prompt", None, 0)


TOOLS = ({"type": "function", "function": {"name": "view", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}},)


def test_tools_are_sent_and_tool_calls_parsed_garbage_included() -> None:
    replies = {
        0: [tool_call("view", {"path": "a.py"}, "c1"), tool_call("view", '{"path": "b.py"', "c2")],  # 2nd: invalid JSON
        1: [{"id": "c3", "type": "function", "function": {"name": "view", "arguments": {"path": "c.py"}}},  # an object
            "not a call", {"id": 5, "function": {"name": None}}],
    }
    with FakeOpenAIServer(tool_replies=lambda key, seed, i: replies[i]) as server:
        server.start()
        request = make_request("use a tool", n=2, chat=True).model_copy(update={"tools": TOOLS})
        [result] = run_all(make_backend(server.base_url, api="chat"), [request])
    assert result.error is None, result.error
    [call] = server.requests
    assert call.body["tools"] == list(TOOLS) and call.body["tool_choice"] == "auto"
    first, second = result.completions
    assert first.text == "" and first.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in first.tool_calls] == [("c1", "view", '{"path": "a.py"}'), ("c2", "view", '{"path": "b.py"')]
    # Entries without an id get one: the tool result going back must name its call.
    assert [(c.id, c.name) for c in second.tool_calls] == [("c3", "view"), ("call_1_1", ""), ("call_1_2", "")]
    assert json.loads(second.tool_calls[0].arguments) == {"path": "c.py"}
    assert second.tool_calls[1].arguments == '"not a call"'  # kept raw for the caller's feedback
    assert sum(c.completion_tokens for c in result.completions) > 0 and all(c.completion_tokens > 0 for c in result.completions)


def test_tool_messages_go_back_and_the_server_checks_them() -> None:
    with FakeOpenAIServer() as server:
        server.start()
        backend = make_backend(server.base_url, api="chat")
        turn = ({"role": "user", "content": "go"},
                {"role": "assistant", "content": None, "tool_calls": [tool_call("view", {"path": "a.py"}, "c1")]})
        answered = turn + ({"role": "tool", "tool_call_id": "c1", "content": "1| x = 1"},)
        orphan = turn + ({"role": "tool", "tool_call_id": "other", "content": "?"},)
        requests = [GenerationRequest(problem_id=name, first_index=0, n=1, seed=0, messages=messages, tools=TOOLS)
                    for name, messages in (("answered", answered), ("orphan", orphan))]
        results = by_problem(run_all(backend, requests))
    assert results["answered"].error is None and results["answered"].completions[0].text == reply_text("1| x = 1", 0, 0)
    assert "HTTP 400" in (results["orphan"].error or "") and "tool_call_id" in (results["orphan"].error or "")
    sent = next(r.body for r in server.requests if r.key == "1| x = 1")
    assert sent["messages"][1]["tool_calls"][0]["id"] == "c1" and sent["messages"][2]["role"] == "tool"


def test_tools_with_the_completions_api_are_refused_without_calling(server: FakeOpenAIServer) -> None:
    request = make_request("base model", n=1).model_copy(update={"tools": TOOLS})
    [result] = run_all(make_backend(server.base_url, api="completions"), [request])
    assert "tools need the chat API" in (result.error or "") and server.requests == []


def test_completions_api_rejects_chat_messages_without_calling(server: FakeOpenAIServer) -> None:
    backend = make_backend(server.base_url, api="completions")
    neither = GenerationRequest(problem_id="neither", first_index=0, n=1, seed=0)
    results = by_problem(run_all(backend, [make_request("chatty", chat=True), neither, make_request("fine")]))
    assert "needs a prompt" in (results["chatty"].error or "")
    assert "exactly one of prompt and messages" in (results["neither"].error or "")
    assert_ok(results["fine"], "fine")
    assert [r.key for r in server.requests] == ["fine"]


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_null_content_is_empty_text(server: FakeOpenAIServer, api: str) -> None:
    server.set_faults({"quiet": [Fault.null_content()]})
    [result] = run_all(make_backend(server.base_url, api=api), [make_request("quiet", n=3)])
    assert result.error is None
    assert [c.text for c in result.completions] == ["", "", ""]
    assert [c.completion_tokens for c in result.completions] == [1, 1, 1]  # total 3, split evenly


def test_missing_usage_is_estimated(server: FakeOpenAIServer) -> None:
    server.set_faults({"no usage here": [Fault.no_usage()]})
    [result] = run_all(make_backend(server.base_url), [make_request("no usage here", n=2)])
    assert result.error is None
    for i, completion in enumerate(result.completions):
        assert completion.text == reply_text("no usage here", 7, i)
        assert completion.completion_tokens == len(completion.text) // 4
        assert completion.prompt_tokens == len("no usage here") // 4


def test_api_key_header_from_env_and_never_echoed(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-test-secret-123"
    monkeypatch.setenv(KEY_ENV, secret)
    server.set_faults({"leaky": [Fault.http(500, times=1, message=f"bad key {secret}"), Fault.http(400, message=f"bad key {secret}")]})
    backend = make_backend(server.base_url)
    assert secret not in repr(backend)
    with caplog.at_level(logging.DEBUG):
        results = by_problem(run_all(backend, [make_request("ok"), make_request("leaky")]))
    assert all(r.headers.get("authorization") == f"Bearer {secret}" for r in server.requests)
    assert results["leaky"].error is not None and secret not in results["leaky"].error
    assert "***" in results["leaky"].error
    assert secret not in caplog.text


def test_no_authorization_header_without_the_env_var(server: FakeOpenAIServer) -> None:
    run_all(make_backend(server.base_url), [make_request("anon")])
    assert "authorization" not in server.requests[0].headers


# -- retries -----------------------------------------------------------------------------

TRANSIENT = {
    "429": Fault.http(429, times=2),
    "500": Fault.http(500, times=2),
    "503": Fault.http(503, times=2),
    "408": Fault.http(408, times=2),
    "timeout": Fault.sleep(1.0, times=2),
    "malformed-json": Fault.malformed(times=2),
    "no-choices": Fault.no_choices(times=2),
    "dropped-connection": Fault.drop(times=2),
}


@pytest.mark.parametrize("api", ["chat", "completions"])
@pytest.mark.parametrize("name", list(TRANSIENT))
def test_transient_faults_are_retried_then_succeed(server: FakeOpenAIServer, name: str, api: str) -> None:
    server.set_faults({"flaky": [TRANSIENT[name]]})
    backend = make_backend(server.base_url, api=api, timeout_s=0.2, max_retries=3)
    results = by_problem(run_all(backend, [make_request("flaky", n=3), make_request("steady")]))
    assert_ok(results["flaky"], "flaky")
    assert_ok(results["steady"], "steady")
    assert server.hits("flaky") == 3  # two faults, then the answer


def test_persistent_failure_becomes_an_error_result(server: FakeOpenAIServer) -> None:
    server.set_faults({"down": [Fault.http(503, times=None, message="overloaded")]})
    backend = make_backend(server.base_url, max_retries=2)
    results = by_problem(run_all(backend, [make_request("down"), make_request("up")]))
    error = results["down"].error or ""
    assert "503" in error and "overloaded" in error and "3 attempts" in error
    assert results["down"].completions == []
    assert server.hits("down") == 3  # max_retries=2: one try and two retries
    assert_ok(results["up"], "up")


def test_persistent_timeout_becomes_an_error_result(server: FakeOpenAIServer) -> None:
    server.set_faults({"slow": [Fault.sleep(2.0, times=None)]})
    backend = make_backend(server.base_url, timeout_s=0.2, max_retries=1)
    results = by_problem(run_all(backend, [make_request("slow"), make_request("quick")]))
    assert "timed out after 0.2s" in (results["slow"].error or "")
    assert server.hits("slow") == 2
    assert_ok(results["quick"], "quick")


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_client_errors_are_not_retried(server: FakeOpenAIServer, status: int) -> None:
    server.set_faults({"bad": [Fault.http(status, times=None, message="max_tokens is too large")]})
    results = by_problem(run_all(make_backend(server.base_url), [make_request("bad"), make_request("good")]))
    error = results["bad"].error or ""
    assert f"HTTP {status}" in error and "max_tokens is too large" in error
    assert server.hits("bad") == 1
    assert_ok(results["good"], "good")


def test_retry_after_is_respected_and_capped(server: FakeOpenAIServer) -> None:
    # The server asks for 30 s; the backend's cap (0.5 s here) wins, and backoff alone would be ~0.01 s.
    server.set_faults({"busy": [Fault.http(429, times=1, retry_after="30")]})
    started = time.monotonic()
    [result] = run_all(make_backend(server.base_url), [make_request("busy")])
    elapsed = time.monotonic() - started
    assert_ok(result, "busy")
    assert 0.5 <= elapsed < 3


def test_connection_refused_becomes_an_error_result() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = make_backend(f"http://127.0.0.1:{port}/v1", max_retries=1)
    [result] = run_all(backend, [make_request("nobody home")])
    assert "connection error" in (result.error or "") and "2 attempts" in (result.error or "")


def test_mixed_batch_loses_no_request(server: FakeOpenAIServer) -> None:
    server.set_faults({
        "k0": [Fault.http(400, times=None)],
        "k1": [Fault.http(503, times=None)],
        "k2": [Fault.http(429, times=2)],
        "k3": [Fault.drop(), Fault.malformed()],
        "k4": [Fault.no_choices(), Fault.http(502)],
    })
    requests = [make_request(f"k{i}", n=1 + i % 3) for i in range(20)]
    results = by_problem(run_all(make_backend(server.base_url, max_retries=2, concurrency=5), requests))
    assert set(results) == {f"k{i}" for i in range(20)}
    assert {key for key, r in results.items() if r.error} == {"k0", "k1"}
    for key, result in results.items():
        if key not in ("k0", "k1"):
            assert_ok(result, key)


# -- concurrency and laziness ---------------------------------------------------------------


def test_concurrency_never_exceeds_the_limit() -> None:
    with FakeOpenAIServer(latency_s=0.05) as server:
        server.start()
        results = run_all(make_backend(server.base_url, concurrency=4), [make_request(f"c{i}") for i in range(24)])
    assert len(by_problem(results)) == 24
    assert server.max_in_flight == 4


def test_requests_are_pulled_lazily_and_early_stop_cancels() -> None:
    pulled = 0

    def source() -> Iterator[GenerationRequest]:
        nonlocal pulled
        for i in range(1_000_000):
            pulled += 1
            yield make_request(f"lazy{i}", n=1)

    async def take(backend: OpenAIBackend, count: int) -> list[tuple[int, GenerationResult]]:
        seen: list[tuple[int, GenerationResult]] = []
        stream = backend.generate(source())
        try:
            async for result in stream:
                seen.append((pulled, result))  # how far the source was pulled when this arrived
                if len(seen) == count:
                    break
        finally:
            await stream.aclose()
            await backend.aclose()
        return seen

    with FakeOpenAIServer(latency_s=0.02) as server:
        server.start()
        seen = asyncio.run(take(make_backend(server.base_url, concurrency=3), 10))
    assert seen[0][0] == 3  # one window pulled before anything came back
    assert all(pulled_then <= i + 3 for i, (pulled_then, _) in enumerate(seen))
    assert pulled <= 13 and len(server.requests) <= 13
    assert all(result.error is None for _, result in seen)


# -- small pieces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "lengths", "expected"),
    [
        (10, [1, 1, 1], [4, 3, 3]),  # ties go to the earlier choice
        (5, [2, 1, 1], [3, 1, 1]),  # 2.5 / 1.25 / 1.25: the .5 remainder wins
        (100, [1, 3], [25, 75]),
        (7, [0, 0], [4, 3]),  # no text at all: split evenly
        (9, [0, 10, 20], [0, 3, 6]),
        (0, [5, 6], [0, 0]),
        (3, [1000], [3]),
    ],
)
def test_split_by_length(total: int, lengths: list[int], expected: list[int]) -> None:
    assert split_by_length(total, lengths) == expected


def test_split_by_length_is_exact_and_near_proportional() -> None:
    lengths = [17, 3, 250, 0, 91, 44]
    for total in range(0, 400, 7):
        parts = split_by_length(total, lengths)
        assert sum(parts) == total
        assert all(abs(p - total * w / sum(lengths)) < 1 for p, w in zip(parts, lengths))


def test_from_config_builds_a_model_backend() -> None:
    config = config_from_dict({
        "name": "t", "task": "gsm8k", "dataset": {"path": "data.jsonl"},
        "model": {"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1/"},
    })
    backend = OpenAIBackend.from_config(config, task=None, problems=[])  # type: ignore[arg-type]
    assert isinstance(backend, ModelBackend)
    assert (backend.name, backend.simulated) == ("openai", False)
    assert "http://127.0.0.1:1/v1/chat/completions" in repr(backend)  # trailing slash handled

    simulated = config.model_copy(update={"model": config_from_dict({
        "name": "t", "task": "gsm8k", "dataset": {"path": "d.jsonl"}, "model": {"backend": "simulated"}}).model})
    with pytest.raises(ConfigError):
        OpenAIBackend.from_config(simulated, task=None, problems=[])  # type: ignore[arg-type]


def test_backend_can_be_reused_across_event_loops(server: FakeOpenAIServer) -> None:
    # The pipeline builds the backend outside any loop; each asyncio.run gets a fresh client.
    backend = make_backend(server.base_url)
    assert_ok(run_all(backend, [make_request("first")])[0], "first")
    assert_ok(run_all(backend, [make_request("second")])[0], "second")  # run_all closed it: reopens
    asyncio.run(backend.aclose())  # closing twice, or before any use, is harmless
