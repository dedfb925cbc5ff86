"""Agent attempts through the real OpenAIBackend against the fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import tests.harness.models.fake_openai_server as fake_server
from agents.config import AgentConfig, Budgets
from agents.loop import EndStatus
from agents.model import BackendClient
from agents.prompts import initial_messages
from agents.runner import AgentRunner, Environments
from agents.scripted import FINISH, action
from agents.tools import Environment
from harness.config import OpenAIModelConfig
from harness.models.openai_http import OpenAIBackend
from harness.records import Problem
from tests.agents.helpers import DIV_FIX, spec


def agent_reply(key: str, seed: int | None, index: int) -> str:
    """The server's answer, from the last message only: find div, fix it, finish."""
    if "<issue>" in key:
        return action("find_definition div")
    if "definitions of 'div'" in key:
        return DIV_FIX
    return FINISH


def test_attempts_over_http(tmp_path: Path, toy_problem: Problem, toy_env: Environment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_server, "reply_text", agent_reply)
    server = fake_server.FakeOpenAIServer(latency_s=0.05)
    issue = initial_messages(toy_problem)[-1]["content"]
    base_url = server.start(faults={issue: [fake_server.Fault.http(503, times=2)]})  # retried by the backend
    try:
        backend = OpenAIBackend(OpenAIModelConfig(backend="openai", model="m", base_url=base_url, api_key_env=None,
                                                  concurrency=16), retry_base_s=0.01, retry_max_s=0.05)

        async def go() -> list:
            client = BackendClient(backend)
            runner = AgentRunner(client, AgentConfig(budgets=Budgets(max_steps=6)), Environments(lambda _p: toy_env), tmp_path)
            try:
                return [r async for r in runner.run((toy_problem, spec(toy_problem, i)) for i in range(40))]
            finally:
                await client.aclose()
                await backend.aclose()

        results = asyncio.run(go())
    finally:
        server.stop()
    assert len(results) == 40 and all(r.status is EndStatus.FINISHED for r in results)
    assert all("+    return a / b" in r.patch and r.totals.steps == 3 for r in results)
    assert server.max_in_flight > 1  # attempts overlap on the server
    bodies = [r.body for r in server.requests if r.fault is None]
    assert len(bodies) == 120 and {b["temperature"] for b in bodies} == {1.6}
    assert all(b["messages"][0]["role"] == "system" and b["n"] == 1 for b in bodies)
    assert {b["seed"] for b in bodies} == set(range(40))  # each attempt's own seed on each of its calls


def test_a_server_context_error_ends_the_attempt_at_its_context_limit(tmp_path: Path, toy_problem: Problem, toy_env: Environment,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_server, "reply_text", agent_reply)
    first_prompt = sum(len(m["content"]) for m in initial_messages(toy_problem))
    server = fake_server.FakeOpenAIServer(context_chars=first_prompt + 20)  # the first call fits, the second does not
    base_url = server.start()
    try:
        backend = OpenAIBackend(OpenAIModelConfig(backend="openai", model="m", base_url=base_url, api_key_env=None),
                                retry_base_s=0.01)

        async def go() -> list:
            client = BackendClient(backend)
            runner = AgentRunner(client, AgentConfig(budgets=Budgets(max_steps=6)), Environments(lambda _p: toy_env), tmp_path)
            try:
                return [r async for r in runner.run([(toy_problem, spec(toy_problem, 0))])]
            finally:
                await client.aclose()
                await backend.aclose()

        [result] = asyncio.run(go())
    finally:
        server.stop()
    assert result.status is EndStatus.CONTEXT_LIMIT and result.status.final  # an ending, not a model error to retry
    assert "exceed context window" in result.reason and result.totals.steps == 1
    assert len(server.requests) == 2  # the refused call was not retried
