"""Base models through the completions API: the conversation as one transcript prompt, stopped at the next turn."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import tests.harness.models.fake_openai_server as fake_server
from agents.config import AgentConfig, Budgets
from agents.conversation import messages_for
from agents.loop import EndStatus
from agents.model import BackendClient
from agents.runner import AgentRunner, Environments, trajectory_path
from agents.scripted import FINISH, ScriptedBackend, action, step_of
from agents.tools import Environment
from agents.trajectory import TrajectoryFile
from agents.transcript import MARKERS, STOP, assistant_turns, render
from harness.config import ConfigError, OpenAIModelConfig, RunConfig, config_from_dict
from harness.models.openai_http import OpenAIBackend
from harness.pipeline import agent_chat, prepare
from harness.records import GenerationRequest, Problem
from tests.agents.helpers import CORRECT, DIV_FIX, spec
from tests.swebench_toy import make_row


def run_completions(backend, problem: Problem, env: Environment, root: Path, indices=(0,), config: AgentConfig | None = None):
    config = config or AgentConfig(budgets=Budgets(max_steps=12))

    async def go() -> list:
        client = BackendClient(backend)
        runner = AgentRunner(client, config, Environments(lambda _p: env), root, chat=False)
        try:
            return [r async for r in runner.run((problem, spec(problem, i)) for i in indices)]
        finally:
            await client.aclose()
            if hasattr(backend, "config"):
                await backend.aclose()

    return sorted(asyncio.run(go()), key=lambda r: r.spec.index)


def test_render_writes_turns_and_ends_on_the_assistant_marker() -> None:
    messages = [{"role": "system", "content": "SYS"}, {"role": "user", "content": "the issue"},
                {"role": "assistant", "content": "look\n```action\nfinish\n```"}, {"role": "user", "content": "Observation:\nok"}]
    prompt = render(messages)
    assert prompt == ("SYS\n\n### User\nthe issue\n\n### Assistant\nlook\n```action\nfinish\n```\n\n"
                      "### User\nObservation:\nok\n\n### Assistant\n")
    assert assistant_turns(prompt) == 1 and assistant_turns(render(messages[:2])) == 0
    # Every marker a continuation could start the next turn with is a stop sequence.
    assert all("\n" + marker in STOP for role, marker in MARKERS.items() if role != "system")


def test_a_base_model_trajectory(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    seen: list[GenerationRequest] = []

    def respond(request: GenerationRequest, step: int) -> str:
        seen.append(request)
        return CORRECT[step]

    [result] = run_completions(ScriptedBackend(responder=respond), toy_problem, toy_env, tmp_path)
    assert result.status is EndStatus.FINISHED and "+    return a / b" in result.patch and "raise ValueError" in result.patch
    assert all(r.messages is None and r.prompt and r.params.stop == STOP and r.tools is None for r in seen)
    assert [step_of(r) for r in seen] == list(range(len(CORRECT)))
    assert seen[0].prompt.startswith("You are a software engineer") and seen[0].prompt.endswith("### Assistant\n")
    saved = TrajectoryFile(trajectory_path(tmp_path, spec(toy_problem))).load()
    assert [render(messages_for(saved, k)) for k in range(len(seen))] == [r.prompt for r in seen]
    assert "File context" in seen[-1].prompt and "File context" not in seen[3].prompt  # identified at step 3


def base_model_reply(prompt: str, seed: int | None, index: int) -> str:
    """The fake server as a base model: it continues the transcript from its last user turn."""
    last = prompt.rsplit("### User\n", 1)[-1]
    if "<issue>" in last:
        return action("find_definition div") + "\n\n### User\nObservation:\nI made this up"  # runs on: the stop cuts it
    if "definitions of 'div'" in last:
        return DIV_FIX
    return FINISH


def test_attempts_over_the_completions_api(tmp_path: Path, toy_problem: Problem, toy_env: Environment,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_server, "reply_text", base_model_reply)
    with fake_server.FakeOpenAIServer() as server:
        base_url = server.start()
        backend = OpenAIBackend(OpenAIModelConfig(backend="openai", model="base", base_url=base_url, api_key_env=None,
                                                  api="completions"), retry_base_s=0.01)
        results = run_completions(backend, toy_problem, toy_env, tmp_path, indices=range(4))
    assert [r.status for r in results] == [EndStatus.FINISHED] * 4 and all("+    return a / b" in r.patch for r in results)
    bodies = [r.body for r in server.requests]
    assert all(r.path == "/v1/completions" for r in server.requests) and len(bodies) == 12
    assert all(b["stop"] == list(STOP) and "messages" not in b and b["prompt"].endswith("### Assistant\n") for b in bodies)
    # The fake ignores stop sequences: the agent cuts the response where the next turn starts, so the
    # invented observation never enters the transcript and the real one follows.
    second = next(b["prompt"] for b in bodies if assistant_turns(b["prompt"]) == 1)
    assert "I made this up" not in second and second.count("### User\nObservation:\n") == 1 and "definitions of 'div'" in second


def agent_run_config(tmp_path: Path, toy_repo: tuple[Path, str], model: dict, agent: dict) -> RunConfig:
    data = tmp_path / "toy.jsonl"
    data.write_text(json.dumps(make_row(toy_repo[1], "monkeys-toy/calc:unbuilt")) + "\n")
    return config_from_dict({"name": "t", "task": "swebench", "dataset": {"path": str(data)}, "model": model, "agent": agent})


def test_prepare_accepts_base_models_and_refuses_tool_calls_they_cannot_make(tmp_path: Path, toy_repo: tuple[Path, str]) -> None:
    openai = {"backend": "openai", "model": "m", "api_key_env": None}
    prepared = prepare(agent_run_config(tmp_path, toy_repo, {**openai, "api": "completions"}, {}))
    assert prepared.config.agent is not None and not agent_chat(prepared.config)
    assert agent_chat(prepare(agent_run_config(tmp_path, toy_repo, {**openai, "api": "chat"}, {"action_format": "tools"})).config)
    for model in ({**openai, "api": "completions"}, {"backend": "vllm", "model": "m", "api": "chat"}):
        with pytest.raises(ConfigError, match="action_format"):
            prepare(agent_run_config(tmp_path, toy_repo, model, {"action_format": "tools"}))
