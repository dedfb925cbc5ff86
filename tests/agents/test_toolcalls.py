"""action_format: tools: tool calls become actions, garbage becomes format feedback, results go back as tool messages."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import tests.harness.models.fake_openai_server as fake_server
from agents.actions import ActionError
from agents.config import AgentConfig, Budgets
from agents.conversation import NOT_RUN, messages_for
from agents.loop import EndStatus
from agents.model import BackendClient
from agents.runner import AgentRunner, Environments, trajectory_path
from agents.scripted import Fail, ScriptedBackend
from agents.toolcalls import TOOL_NAMES, TOOL_SCHEMAS, action_from_call, calls_in_text
from agents.tools import Environment, Workspace, run_tool
from agents.trajectory import TrajectoryFile
from harness.config import OpenAIModelConfig
from harness.models.openai_http import OpenAIBackend
from harness.records import Completion, GenerationRequest, Problem, ToolCall
from tests.agents.helpers import CORRECT, run_all, spec

TOOLS = AgentConfig(budgets=Budgets(max_steps=12), action_format="tools")


def call(name: str, arguments: object, call_id: str = "c") -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments if isinstance(arguments, str) else json.dumps(arguments))


def load(root: Path, problem: Problem, index: int = 0):
    return TrajectoryFile(trajectory_path(root, spec(problem, index))).load()


def test_schemas_name_every_command_with_object_parameters() -> None:
    assert set(TOOL_NAMES) == {"find_files", "find_definition", "search_code", "view", "identify", "edit", "finish"}
    for schema in TOOL_SCHEMAS:
        parameters = schema["function"]["parameters"]
        assert schema["type"] == "function" and parameters["type"] == "object"
        assert set(parameters["required"]) <= set(parameters["properties"])


def test_calls_run_the_same_tools_as_text_actions(workspace: Workspace) -> None:
    view = run_tool(workspace, action_from_call(call("view", {"path": "calc/ops.py", "start_line": "16", "end_line": 18})))
    assert view.ok and "18|     return a // b" in view.observation and "lines 16-18" in view.observation
    found = run_tool(workspace, action_from_call(call("find_definition", {"name": "div", "path_pattern": "calc/*.py"})))
    assert "calc/ops.py:16-18" in found.observation
    hits = run_tool(workspace, action_from_call(call("search_code", {"query": "empty list mean"})))
    assert hits.ok and "calc/ops.py" in hits.observation
    marked = run_tool(workspace, action_from_call(call("identify", {"path": "calc/ops.py", "start_line": 16, "end_line": 18})))
    assert marked.ok and [(s.path, s.start, s.end) for s in workspace.identified] == [("calc/ops.py", 16, 18)]
    alias = action_from_call(call("str_replace", {"path": "calc/ops.py", "search": "    return a // b", "replace": "    return a / b"}))
    edited = run_tool(workspace, alias)
    assert edited.ok and edited.changed == ("calc/ops.py",) and "+    return a / b" in workspace.overlay.diff()
    assert action_from_call(call("finish", "")).name == "finish"  # no arguments at all is fine for finish


def test_an_edit_call_takes_its_strings_literally(workspace: Workspace) -> None:
    """Marker lines inside the code do not split a tool call's edit, as they would a text block."""
    search = "    return a // b"
    replace = "    # <<<<<<< SEARCH\n    # =======\n    # >>>>>>> REPLACE\n    return a / b"
    out = run_tool(workspace, action_from_call(call("edit", {"path": "calc/ops.py", "search": search, "replace": replace})))
    assert out.ok, out.observation
    assert replace in (workspace.overlay.read("calc/ops.py") or "")


@pytest.mark.parametrize(("bad", "says"), [
    (call("view", '{"path": "calc/ops.py"'), "not valid JSON"),
    (call("view", '["calc/ops.py"]'), "must be a JSON object"),
    (call("rm_rf", {"path": "/"}), "Unknown tool ('rm_rf')"),
    (ToolCall(arguments='"not a call"'), "Unknown tool (no tool name)"),
    (call("edit", {"path": "calc/ops.py", "search": "x"}), "lacks replace"),
    (call("identify", {"path": "calc/ops.py", "start_line": "ten", "end_line": 12}), "start_line must be a line number"),
    (call("edit", {"path": "calc/ops.py", "search": ["x"], "replace": "y"}), "must be strings"),
])
def test_garbage_calls_are_format_errors_with_feedback(bad: ToolCall, says: str) -> None:
    with pytest.raises(ActionError) as caught:
        action_from_call(bad)
    assert says in str(caught.value)


def test_calls_left_in_the_text_by_a_failed_server_parser_are_read() -> None:
    text = 'I will look.\n<tool_call>\n{"name": "view", "arguments": {"path": "calc/ops.py"}}\n</tool_call>'
    [found] = calls_in_text(text)
    assert action_from_call(found).args == ["calc/ops.py"]
    assert calls_in_text("<tool_call>{not json}</tool_call>") == ()


def test_a_trajectory_of_tool_calls(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    seen: list[GenerationRequest] = []

    def respond(request: GenerationRequest, step: int) -> str:
        seen.append(request)
        return CORRECT[step]  # sent as the equivalent tool call, since the request offers tools

    [result] = run_all(ScriptedBackend(responder=respond), toy_problem, toy_env, tmp_path, config=TOOLS)
    assert result.status is EndStatus.FINISHED and "+    return a / b" in result.patch and "raise ValueError" in result.patch
    assert all(r.tools == TOOL_SCHEMAS and r.params.stop == () for r in seen)
    assert "```action" not in seen[0].messages[0]["content"] and "Call exactly one tool" in seen[0].messages[0]["content"]
    last = list(seen[-1].messages)
    assert last[2]["role"] == "assistant" and last[2]["tool_calls"][0]["function"]["name"] == "search_code"
    assert last[3]["role"] == "tool" and last[3]["tool_call_id"] == last[2]["tool_calls"][0]["id"]
    assert not last[3]["content"].startswith("Observation:")  # a tool result needs no label
    saved = load(tmp_path, toy_problem)
    assert [messages_for(saved, k) for k in range(len(seen))] == [list(r.messages or ()) for r in seen]
    assert saved.steps[4].action["edits"] == [["    return a // b", "    return a / b"]]


def test_garbage_counts_against_the_retry_budget(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    two = Completion(text="", tool_calls=(call("view", {"path": "calc/ops.py"}, "a"), call("finish", {}, "b")))
    script: list[str | Completion] = [
        Completion(text="", tool_calls=(call("view", "{'path': 'calc/ops.py'}", "x"),)),  # not JSON
        Completion(text="", tool_calls=(call("delete_repo", {}, "y"),)),  # no such tool
        two,  # two calls: the first runs, the second is answered "not run"
        "I am not sure what to do.",  # prose, no call
        Completion(text="", tool_calls=(call("edit", {"path": "calc/ops.py"}, "z"),)),  # lacks arguments
    ]
    config = AgentConfig(budgets=Budgets(max_steps=20, max_format_errors=3), action_format="tools")
    [result] = run_all(ScriptedBackend({(toy_problem.id, 0): script}), toy_problem, toy_env, tmp_path, config=config)
    assert result.status is EndStatus.FORMAT_ERRORS and result.totals.format_errors == 4 and result.totals.steps == 5
    saved = load(tmp_path, toy_problem)
    assert [s.outcome for s in saved.steps] == ["format_error", "format_error", "ok", "format_error", "format_error"]
    assert "not valid JSON" in saved.steps[0].observation and "Unknown tool ('delete_repo')" in saved.steps[1].observation
    assert "Only the first of your 2 tool calls" in saved.steps[2].observation and "Call one of the tools" in saved.steps[3].observation
    messages = messages_for(saved, 4)
    answers = [m for m in messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in answers] == ["x", "y", "a", "b"] and answers[3]["content"] == NOT_RUN
    assert messages[-1] == {"role": "user", "content": saved.steps[3].observation}  # no call to answer: a user message


def test_a_resumed_tool_call_trajectory_replays_its_edits(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    [cut] = run_all(ScriptedBackend({(toy_problem.id, 0): [*CORRECT[:6], Fail("gone")]}), toy_problem, toy_env, tmp_path, config=TOOLS)
    assert cut.status is EndStatus.MODEL_ERROR
    again = ScriptedBackend({(toy_problem.id, 0): CORRECT})
    [result] = run_all(again, toy_problem, toy_env, tmp_path, config=TOOLS)
    assert result.status is EndStatus.FINISHED and result.resumed_steps == 6 and [s for _, _, s in again.calls] == [6]
    assert "+    return a / b" in result.patch and "raise ValueError" in result.patch


def server_reply(key: str, seed: int | None, index: int) -> list[object] | None:
    """The fake server as a tool-calling model, from the last message only (seed 1 sends garbage first)."""
    if "<issue>" in key:
        if seed == 1:
            return [fake_server.tool_call("find_definition", '{"name": "div"', "bad")]  # invalid JSON
        return [fake_server.tool_call("find_definition", {"name": "div"}, "c1")]
    if "not valid JSON" in key:
        return [fake_server.tool_call("find_definition", {"name": "div"}, "c1b")]
    if "definitions of 'div'" in key:
        fix = {"path": "calc/ops.py", "search": "    return a // b", "replace": "    return a / b"}
        return [fake_server.tool_call("edit", fix, "c2"), fake_server.tool_call("finish", {}, "c3")]
    return [fake_server.tool_call("finish", {}, "c4")]


def test_attempts_over_http_with_tool_calls(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    server = fake_server.FakeOpenAIServer(latency_s=0.02, tool_replies=server_reply)
    base_url = server.start()
    try:
        backend = OpenAIBackend(OpenAIModelConfig(backend="openai", model="m", base_url=base_url, api_key_env=None,
                                                  concurrency=8), retry_base_s=0.01, retry_max_s=0.05)

        async def go() -> list:
            client = BackendClient(backend)
            runner = AgentRunner(client, TOOLS, Environments(lambda _p: toy_env), tmp_path)
            try:
                return [r async for r in runner.run((toy_problem, spec(toy_problem, i)) for i in range(6))]
            finally:
                await client.aclose()
                await backend.aclose()

        results = sorted(asyncio.run(go()), key=lambda r: r.spec.index)
    finally:
        server.stop()
    assert [r.status for r in results] == [EndStatus.FINISHED] * 6, [r.reason for r in results]
    assert all("+    return a / b" in r.patch for r in results)
    assert [r.totals.format_errors for r in results] == [0, 1, 0, 0, 0, 0]
    assert [r.totals.steps for r in results] == [3, 4, 3, 3, 3, 3]  # a 400 for a bad body would have ended one
    assert all(r.body["tools"] == list(TOOL_SCHEMAS) for r in server.requests)
    steps = load(tmp_path, toy_problem, 1).steps
    assert steps[0].outcome == "format_error" and steps[-1].call.tool_calls[0].name == "finish"
    assert [c.name for c in steps[2].call.tool_calls] == ["edit", "finish"] and steps[2].outcome == "ok"
