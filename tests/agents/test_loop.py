"""Whole attempts with a scripted model: each way an attempt can end, with its trajectory on disk."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from agents.config import AgentConfig, Budgets, Prices
from agents.loop import EndStatus
from agents.runner import trajectory_path
from agents.scripted import Fail, ScriptedBackend, action, edit_action
from agents.tools import Environment
from agents.conversation import messages_for
from agents.trajectory import TrajectoryFile
from harness.records import GenerationRequest, Problem
from tests.agents.helpers import CORRECT, DIV_FIX, run_all, spec
from tests.swebench_toy import toy_patch

SEARCH = action("search_code division floor")


def trajectory(tmp_path: Path, problem: Problem, index: int = 0):
    return TrajectoryFile(trajectory_path(tmp_path, spec(problem, index))).load()


def applied(repo: Path, patch: str, tmp_path: Path, name: str) -> str:
    tree = tmp_path / name
    shutil.copytree(repo, tree)
    subprocess.run(["git", "apply", "-"], cwd=tree, input=patch, text=True, check=True, capture_output=True)
    return (tree / "calc/ops.py").read_text()


def test_correct_trajectory_yields_the_gold_fix(tmp_path: Path, toy_problem: Problem, toy_env: Environment,
                                                toy_repo: tuple[Path, str]) -> None:
    [result] = run_all(ScriptedBackend({(toy_problem.id, 0): CORRECT}), toy_problem, toy_env, tmp_path / "t")
    assert result.status is EndStatus.FINISHED and result.totals.steps == len(CORRECT)
    assert result.identified == ["calc/ops.py:16-26"]  # the identified span grew over the two lines the mean fix added
    assert applied(toy_repo[0], result.patch, tmp_path, "ours") == applied(toy_repo[0], toy_patch("gold"), tmp_path, "gold")
    saved = trajectory(tmp_path / "t", toy_problem)
    assert [s.outcome for s in saved.steps] == ["ok"] * 6 + ["finished"]
    assert saved.end is not None and saved.end.patch == result.patch and saved.end.status == "finished"
    assert saved.start is not None and saved.start.temperature == 1.6 and saved.steps[4].changed == ["calc/ops.py"]
    assert saved.end.totals.tokens == result.totals.tokens > 0 and result.totals.cost > 0


def test_messages_on_disk_are_the_messages_the_model_got(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    seen: list[GenerationRequest] = []

    def respond(request: GenerationRequest, step: int) -> str:
        seen.append(request)
        return CORRECT[step]

    run_all(ScriptedBackend(responder=respond), toy_problem, toy_env, tmp_path)
    saved = trajectory(tmp_path, toy_problem)
    assert [messages_for(saved, k) for k in range(len(seen))] == [list(r.messages or ()) for r in seen]
    assert all(r.seed == 0 and r.params.temperature == 1.6 and r.n == 1 for r in seen)


def test_malformed_output_gets_feedback_then_the_budget_ends_it(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    script = ["I think the bug is in div.", "", DIV_FIX, "Let me think.", "```python\nx = 1\n```", "nothing"]
    config = AgentConfig(budgets=Budgets(max_steps=20, max_format_errors=3))
    [result] = run_all(ScriptedBackend({(toy_problem.id, 0): script}), toy_problem, toy_env, tmp_path, config=config)
    assert result.status is EndStatus.FORMAT_ERRORS and result.totals.format_errors == 4 and result.totals.steps == 5
    assert "return a / b" in result.patch  # the edit made before the limit is submitted
    saved = trajectory(tmp_path, toy_problem)
    assert [s.outcome for s in saved.steps] == ["format_error", "format_error", "ok", "format_error", "format_error"]
    assert "No action found" in saved.steps[0].observation and saved.steps[0].action is None


def test_rejected_edits_change_nothing_and_the_attempt_goes_on(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    script = [edit_action("calc/ops.py", "    return a // c", "    return a / b"),  # no match
              edit_action("calc/ops.py", "    return a // b", "  return (a / b"),  # breaks the syntax
              edit_action("calc/nope.py", "x", "y"), action("finish")]
    [result] = run_all(ScriptedBackend({(toy_problem.id, 0): script}), toy_problem, toy_env, tmp_path)
    assert result.status is EndStatus.FINISHED and result.patch == "" and result.totals.rejected == 3
    saved = trajectory(tmp_path, toy_problem)
    assert [s.outcome for s in saved.steps] == ["rejected", "rejected", "rejected", "finished"]
    assert "not in the file" in saved.steps[0].observation and "no longer parse" in saved.steps[1].observation


def test_step_limit(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    backend = ScriptedBackend({(toy_problem.id, 0): [DIV_FIX], (toy_problem.id, 1): [DIV_FIX]}, default=SEARCH)
    limited = AgentConfig(budgets=Budgets(max_steps=5))
    [result] = run_all(backend, toy_problem, toy_env, tmp_path / "a", config=limited)
    assert result.status is EndStatus.STEP_LIMIT and result.totals.steps == 5 and "return a / b" in result.patch
    saved = trajectory(tmp_path / "a", toy_problem)
    assert len(saved.steps) == 5 and saved.end is not None and saved.end.status == "step_limit"
    no_submit = AgentConfig(budgets=Budgets(max_steps=5), submit_on_limit=False)
    [result] = run_all(backend, toy_problem, toy_env, tmp_path / "b", indices=[1], config=no_submit)
    assert result.status is EndStatus.STEP_LIMIT and result.patch == ""


def test_token_cost_and_context_limits(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    backend = ScriptedBackend(default=SEARCH)
    cases = [(Budgets(max_tokens=3000), EndStatus.TOKEN_LIMIT), (Budgets(max_context_tokens=2000), EndStatus.CONTEXT_LIMIT)]
    for n, (budgets, status) in enumerate(cases):
        [result] = run_all(backend, toy_problem, toy_env, tmp_path / str(n), config=AgentConfig(budgets=budgets))
        assert result.status is status, budgets
    expensive = AgentConfig(prices=Prices(prompt_per_million=1000.0), budgets=Budgets(max_cost=2.0))
    [result] = run_all(backend, toy_problem, toy_env, tmp_path / "cost", config=expensive)
    assert result.status is EndStatus.COST_LIMIT and result.totals.cost >= 2.0 and result.totals.steps < 30


def test_model_error_ends_the_attempt_and_a_retry_continues_it(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    failing = ScriptedBackend({(toy_problem.id, 0): [*CORRECT[:3], Fail("HTTP 500 after 7 tries")]})
    [result] = run_all(failing, toy_problem, toy_env, tmp_path)
    assert result.status is EndStatus.MODEL_ERROR and "HTTP 500" in result.reason and not result.status.final
    assert trajectory(tmp_path, toy_problem).end.status == "model_error"
    retry = ScriptedBackend({(toy_problem.id, 0): CORRECT})
    [result] = run_all(retry, toy_problem, toy_env, tmp_path)
    assert result.status is EndStatus.FINISHED and result.resumed_steps == 3
    assert [step for _, _, step in retry.calls] == [3, 4, 5, 6]  # the saved steps were not asked again
    saved = trajectory(tmp_path, toy_problem)
    assert len(saved.steps) == len(CORRECT) and saved.end.status == "finished"


def test_a_finished_attempt_is_not_run_again(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    [first] = run_all(ScriptedBackend({(toy_problem.id, 0): CORRECT}), toy_problem, toy_env, tmp_path)
    again = ScriptedBackend({(toy_problem.id, 0): ["never asked"]})
    [second] = run_all(again, toy_problem, toy_env, tmp_path)
    assert again.calls == [] and second.patch == first.patch and second.status is EndStatus.FINISHED


def test_other_settings_start_the_attempt_afresh(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    run_all(ScriptedBackend({(toy_problem.id, 0): CORRECT}), toy_problem, toy_env, tmp_path)
    other = AgentConfig(budgets=Budgets(max_steps=11))
    again = ScriptedBackend({(toy_problem.id, 0): CORRECT})
    run_all(again, toy_problem, toy_env, tmp_path, config=other)
    assert len(again.calls) == len(CORRECT)
    assert trajectory_path(tmp_path, spec(toy_problem)).with_suffix(".stale.jsonl").exists()
