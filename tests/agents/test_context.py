"""Context management and file context: long attempts keep going with old observations elided; identified code stays in view."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.actions import parse_action
from agents.config import AgentConfig, Budgets, ContextConfig
from agents.context import HEADER, file_context, merged_spans
from agents.conversation import messages_for, message_chars
from agents.loop import EndStatus
from agents.prompts import initial_messages
from agents.runner import trajectory_path
from agents.scripted import Fail, ScriptedBackend, action, edit_action
from agents.tools import Environment, Span, Workspace, run_tool, shift_span
from agents.trajectory import TrajectoryFile
from harness.records import GenerationRequest, Problem
from tests.agents.helpers import DIV_FIX, MEAN_FIX, run_all, spec

VIEW = action("view calc/ops.py 1 24")  # about 700 characters back each time
SMALL = dict(max_steps=24, max_context_tokens=2600)


def recording(script: list[str]) -> tuple[ScriptedBackend, list[GenerationRequest]]:
    seen: list[GenerationRequest] = []

    def respond(request: GenerationRequest, step: int) -> str:
        seen.append(request)
        return script[step] if step < len(script) else VIEW

    return ScriptedBackend(responder=respond), seen


def load(root: Path, problem: Problem):
    return TrajectoryFile(trajectory_path(root, spec(problem))).load()


def test_a_long_attempt_keeps_going_with_old_observations_elided(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    config = AgentConfig(budgets=Budgets(**SMALL), max_tokens_per_call=256, context=ContextConfig(trim_at=0.8, keep_recent=3))
    backend, seen = recording([])
    [result] = run_all(backend, toy_problem, toy_env, tmp_path, config=config)
    assert result.status is EndStatus.STEP_LIMIT and result.totals.steps == 24
    saved = load(tmp_path, toy_problem)
    elided = [s.elided for s in saved.steps]
    assert elided == sorted(elided) and elided[-1] >= 15  # trimmed more and more, never restored
    last = list(seen[-1].messages or ())
    system = initial_messages(toy_problem, config.prompts, max_steps=config.budgets.max_steps)[0]
    assert last[0] == system and "<issue>" in last[1]["content"]  # kept whole
    observations = [m["content"] for m in last[2:] if m["role"] == "user"]
    assert observations[-3:] == [s.observation for s in saved.steps[-3:]] and "1| \"\"\"Arithmetic" in observations[-1]
    assert all(o.startswith("Observation:\n[elided to save context: the ") and "`view calc/ops.py 1 24`" in o
               for o in observations[:elided[-1]])
    assert "(step 1)" in observations[0]
    for request in seen:  # every prompt fits the budget, with room for the answer
        assert message_chars(request.messages or ()) // 4 + 256 <= 2600
    assert [messages_for(saved, k) for k in range(len(seen))] == [list(r.messages or ()) for r in seen]


def test_without_room_to_elide_the_attempt_still_ends_at_the_context_limit(tmp_path: Path, toy_problem: Problem,
                                                                             toy_env: Environment) -> None:
    config = AgentConfig(budgets=Budgets(**SMALL), max_tokens_per_call=256, context=ContextConfig(keep_recent=100))
    [result] = run_all(recording([])[0], toy_problem, toy_env, tmp_path, config=config)
    assert result.status is EndStatus.CONTEXT_LIMIT and result.totals.steps < 24 and "0 observations elided" in result.reason


def test_a_resumed_attempt_sees_what_an_uninterrupted_one_saw(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    config = AgentConfig(budgets=Budgets(**SMALL), max_tokens_per_call=256)
    script = [action("identify calc/ops.py 16-18"), *[VIEW] * 9, DIV_FIX, *[VIEW] * 5]
    whole, seen_whole = recording(script)
    run_all(whole, toy_problem, toy_env, tmp_path / "whole", config=config)
    cut = ScriptedBackend({(toy_problem.id, 0): [*script[:14], Fail("server gone")]})
    [first] = run_all(cut, toy_problem, toy_env, tmp_path / "cut", config=config)
    assert first.status is EndStatus.MODEL_ERROR
    resumed, seen_resumed = recording(script)
    [result] = run_all(resumed, toy_problem, toy_env, tmp_path / "cut", config=config)
    assert result.resumed_steps == 14 and result.status is EndStatus.STEP_LIMIT
    assert [r.messages for r in seen_resumed] == [r.messages for r in seen_whole[14:]]
    assert any("[elided" in str(m["content"]) for m in seen_resumed[0].messages or ())  # the resume point was trimmed


def context_of(request: GenerationRequest) -> str:
    last = str((request.messages or ())[-1]["content"])
    return last[last.index(HEADER):] if HEADER in last else ""


def test_identified_code_is_shown_with_every_prompt_as_it_reads_now(tmp_path: Path, toy_problem: Problem,
                                                                     toy_env: Environment) -> None:
    top = edit_action("calc/ops.py", '"""Arithmetic on two numbers and on lists of numbers."""',
                      '"""Arithmetic on two numbers and on lists of numbers."""\n\nimport math')  # 2 lines above the span
    script = [action("search_code div"), action("identify calc/ops.py 16-18"), action("find_files **/ops.py"),
              DIV_FIX, MEAN_FIX, top, action("finish")]
    backend, seen = recording(script)
    [result] = run_all(backend, toy_problem, toy_env, tmp_path, config=AgentConfig(budgets=Budgets(max_steps=12)))
    assert result.status is EndStatus.FINISHED and result.identified == ["calc/ops.py:18-20"]
    contexts = [context_of(r) for r in seen]
    assert contexts[:2] == ["", ""]  # nothing identified yet
    assert contexts[2] == f"{HEADER}\ncalc/ops.py\n16| def div(a, b):\n17|     \"\"\"a divided by b; raises ZeroDivisionError when b is 0.\"\"\"\n18|     return a // b"
    assert contexts[3] == contexts[2]
    assert contexts[4].endswith("18|     return a / b")  # refreshed after the edit
    assert contexts[5] == contexts[4]  # an edit below the span leaves it as it was
    assert contexts[6].endswith("18| def div(a, b):\n19|     \"\"\"a divided by b; raises ZeroDivisionError when b is 0.\"\"\"\n20|     return a / b")
    saved = load(tmp_path, toy_problem)
    assert [s.context is not None for s in saved.steps] == [False, False, True, False, True, False, True]
    assert [messages_for(saved, k) for k in range(len(seen))] == [list(r.messages or ()) for r in seen]
    # Only the newest prompt carries it: the history keeps no stale copies.
    assert sum(HEADER in str(m["content"]) for m in seen[-1].messages or ()) == 1


def test_file_context_can_be_switched_off(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    backend, seen = recording([action("identify calc/ops.py 16-18"), DIV_FIX, action("finish")])
    config = AgentConfig(context=ContextConfig(file_context=False))
    run_all(backend, toy_problem, toy_env, tmp_path, config=config)
    assert len(seen) == 3 and not any(context_of(r) for r in seen)
    assert config.digest() != AgentConfig().digest()  # it changes what the model sees: a resume must not mix them


def test_file_context_merges_spans_and_caps_lines(workspace: Workspace) -> None:
    for command in ("identify calc/ops.py 21-24", "identify calc/ops.py 16-18", "identify calc/ops.py 17-19", "identify README.md 1-2"):
        run_tool(workspace, parse_action(command))
    assert merged_spans(workspace.identified) == {"calc/ops.py": [(16, 19), (21, 24)], "README.md": [(1, 2)]}
    capped = file_context(workspace, max_lines=5)
    assert capped.count("| ") == 5 and "(5 identified lines not shown: at most 5 are" in capped
    assert capped.index("calc/ops.py") < capped.index("README.md")  # files in the order they were identified


@pytest.mark.parametrize(("span", "before", "after", "moved"), [
    ((5, 6), "a\nb\nc\nd\ne\nf\n", "a\nB\nc\nd\ne\nf\n", (5, 6)),  # edit above, same length: stays
    ((5, 6), "a\nb\nc\nd\ne\nf\n", "a\nb\nb2\nb3\nc\nd\ne\nf\n", (7, 8)),  # lines inserted above: moves down
    ((5, 6), "a\nb\nc\nd\ne\nf\n", "d\ne\nf\n", (2, 3)),  # lines deleted above: moves up
    ((1, 2), "a\nb\nc\nd\n", "a\nb\nc\nX\n", (1, 2)),  # edit below: stays
    ((2, 3), "a\nb\nc\nd\n", "a\nb\nC1\nC2\nC3\nd\n", (2, 5)),  # edit inside: grows over the new lines
    ((2, 4), "a\nb\nc\nd\ne\n", "a\nb\ne\n", (2, 2)),  # most of it deleted: what is left
    ((3, 3), "x\na\nb\n", "x\na\na\nb\n", (4, 4)),  # a repeated line inserted just above: moves with its line
])
def test_spans_follow_edits(span: tuple[int, int], before: str, after: str, moved: tuple[int, int]) -> None:
    shifted = shift_span(Span("f.py", *span), before, after)
    assert (shifted.start, shifted.end) == moved
    assert 1 <= shifted.start <= shifted.end <= max(1, len(after.splitlines()))


def test_tool_results_are_elided_the_same_way(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    config = AgentConfig(budgets=Budgets(**SMALL), max_tokens_per_call=256, action_format="tools")
    backend, seen = recording([])
    [result] = run_all(backend, toy_problem, toy_env, tmp_path, config=config)
    assert result.status is EndStatus.STEP_LIMIT
    results = [m["content"] for m in seen[-1].messages or () if m["role"] == "tool"]
    assert results[0].startswith("[elided to save context: the ") and "1| \"\"\"Arithmetic" in results[-1]
    saved = load(tmp_path, toy_problem)
    assert [messages_for(saved, k) for k in range(len(seen))] == [list(r.messages or ()) for r in seen]
