"""OpenAIBackend against a real inference server: llama.cpp's, serving SmolLM2-135M-Instruct on 127.0.0.1.

Nothing here is mocked (fixtures in tests/conftest.py). What the model says is what it says:
these tests assert behaviour (choices, seeds, token counts, stops, context errors, tool
calls), never what the text is.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from agents.toolcalls import TOOL_NAMES, TOOL_SCHEMAS
from harness.config import OpenAIModelConfig
from harness.models.openai_http import OpenAIBackend
from tests.harness.models.helpers import run_all  # noqa: E402
from harness.records import GenerationRequest, ModelErrorKind, SamplingParams
from tests.conftest import SMALL_CONTEXT, SMALL_MODEL

QUESTION = ({"role": "system", "content": "You answer in one short sentence."},
            {"role": "user", "content": "Name a fruit that is yellow."})


def backend(base_url: str, **overrides: Any) -> OpenAIBackend:
    fields: dict[str, Any] = dict(backend="openai", model=SMALL_MODEL, base_url=base_url, api_key_env=None, api="chat",
                                  concurrency=2, timeout_s=300.0, max_retries=1)
    return OpenAIBackend(OpenAIModelConfig(**(fields | overrides)), retry_base_s=0.05)


def ask(n: int = 1, seed: int = 0, temperature: float = 0.9, max_tokens: int = 12, stop: tuple[str, ...] = (),
        messages: tuple[dict[str, Any], ...] = QUESTION, problem_id: str = "q", tools: Any = None) -> GenerationRequest:
    return GenerationRequest(problem_id=problem_id, first_index=0, n=n, seed=seed, messages=messages, tools=tools,
                             params=SamplingParams(temperature=temperature, top_p=0.95, max_tokens=max_tokens, stop=stop))



def raw_chat(base_url: str, **body: Any) -> dict[str, Any]:
    """The same request straight to the server, without monkeys in between."""
    response = httpx.post(f"{base_url}/chat/completions", json={"model": SMALL_MODEL, **body}, timeout=300)
    response.raise_for_status()
    return response.json()


def test_the_server_answers_n_with_one_choice(llama_server: str) -> None:
    # The reason for what follows: llama.cpp's server ignores `n`.
    body = raw_chat(llama_server, messages=list(QUESTION), n=3, max_tokens=4, seed=1)
    assert len(body["choices"]) == 1


def test_n_samples_each_with_its_own_seed_and_the_servers_token_counts(llama_server: str) -> None:
    model = backend(llama_server)
    [result] = run_all(model, [ask(n=3, seed=40)])
    assert result.error is None, result.error
    assert len(result.completions) == 3 and not result.prompt_shared
    assert "one_choice_per_call" in model.run_notes()
    # Sample j is exactly what the server says for one sample with seed 40 + j, token counts included.
    for j, completion in enumerate(result.completions):
        alone = raw_chat(llama_server, messages=list(QUESTION), n=1, seed=40 + j, temperature=0.9, top_p=0.95, max_tokens=12)
        assert completion.text == alone["choices"][0]["message"]["content"]
        assert completion.completion_tokens == alone["usage"]["completion_tokens"] > 0
        assert completion.prompt_tokens == alone["usage"]["prompt_tokens"] > 0
        assert completion.finish_reason in ("stop", "length")


def test_greedy_samples_go_one_call_each(llama_server: str) -> None:
    model = backend(llama_server)
    [result] = run_all(model, [ask(n=2, temperature=0.0, max_tokens=8)])
    assert result.error is None and len(result.completions) == 2
    assert result.completions[0].text == result.completions[1].text  # greedy: the same text twice
    assert set(model.run_notes()) == {"greedy_split"}  # never sent n=2 at temperature 0


def test_stop_sequences_end_the_text(llama_server: str) -> None:
    counting = ({"role": "user", "content": "Count from 1 to 20, separated by commas."},)
    [result] = run_all(backend(llama_server), [ask(n=2, seed=3, max_tokens=40, stop=(",",), messages=counting)])
    assert result.error is None
    assert all("," not in c.text for c in result.completions)
    assert any(c.finish_reason == "stop" for c in result.completions)


def test_a_prompt_longer_than_the_context_ends_with_context_length_and_the_rest_go_on(llama_server: str) -> None:
    long_text = "The quick brown fox jumps over the lazy dog. " * (SMALL_CONTEXT // 5)  # ~10 tokens a sentence
    requests = [ask(problem_id="long", messages=({"role": "user", "content": long_text},)), ask(problem_id="short", n=2)]
    model = backend(llama_server)
    results = {r.request.problem_id: r for r in run_all(model, requests)}
    assert results["long"].error_kind is ModelErrorKind.CONTEXT_LENGTH, results["long"].error
    assert "context length" in (results["long"].error or "")
    assert results["short"].error is None and len(results["short"].completions) == 2
    assert "context_length" in model.run_notes()


def test_completions_api_on_the_same_server(llama_server: str) -> None:
    request = GenerationRequest(problem_id="c", first_index=0, n=2, seed=9, prompt="def add(a, b):\n",
                                params=SamplingParams(temperature=0.8, max_tokens=16, stop=("\ndef",)))
    [result] = run_all(backend(llama_server, api="completions"), [request])
    assert result.error is None and len(result.completions) == 2
    assert all(c.completion_tokens > 0 and c.prompt_tokens > 0 for c in result.completions)


def test_tool_calls_as_llama_cpp_emits_them(llama_tools_server: str) -> None:
    ask_view = ({"role": "system", "content": "You fix bugs in a repository by calling the tools."},
                {"role": "user", "content": "Open the file calc/ops.py with the view tool."})
    model = backend(llama_tools_server)
    [result] = run_all(model, [ask(n=2, seed=5, max_tokens=64, messages=ask_view, tools=TOOL_SCHEMAS)])
    assert result.error is None, result.error
    assert len(result.completions) == 2
    for completion in result.completions:
        # The server chooses between a message and calls with a grammar: either way the reply is usable.
        assert completion.tool_calls or completion.text
        for call in completion.tool_calls:
            assert call.id and call.name in TOOL_NAMES
            assert isinstance(json.loads(call.arguments), dict)  # its grammar makes the arguments JSON
        assert completion.completion_tokens > 0
    # The server's own answer to the same request, to see that calls come back as it sent them.
    body = raw_chat(llama_tools_server, messages=list(ask_view), tools=list(TOOL_SCHEMAS), tool_choice="auto",
                    seed=5, temperature=0.9, top_p=0.95, max_tokens=64)
    message = body["choices"][0]["message"]
    assert message.get("tool_calls") or message.get("content")


def test_a_tool_call_and_its_result_go_back_to_the_server(llama_tools_server: str) -> None:
    # The assistant turn that was all tool calls has no text: llama-cpp-python refuses null content (a 500).
    turn = ({"role": "user", "content": "Show me calc/ops.py."},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "view", "arguments": '{"path": "calc/ops.py"}'}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "1| def div(a, b):\n2|     return a // b"})
    [result] = run_all(backend(llama_tools_server), [ask(n=1, seed=2, max_tokens=32, messages=turn, tools=TOOL_SCHEMAS)])
    assert result.error is None, result.error
    assert result.completions[0].tool_calls or result.completions[0].text
