"""Prompts are data: templates under configs/agent/prompts, replaceable per run, part of the run's identity,
and free of any benchmark instance's answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.config import PROMPTS_DIR, AgentConfig, PromptFiles
from agents.prompts import initial_messages
from agents.toolcalls import TOOL_SCHEMAS
from harness.config import ConfigError, check_inputs_exist, load_config
from harness.pipeline import prepare
from harness.records import Problem
from tests.swebench_toy import toy_patch


def changed_lines(patch: str) -> list[str]:
    """The lines a patch adds or removes, stripped, where they say something (not `)` or `else:`)."""
    lines = [line[1:].strip() for line in patch.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return [line for line in lines if len(line) >= 8]


def everything_the_model_is_told(problem: Problem, files: PromptFiles | None = None) -> str:
    texts = [m["content"] for tools in (False, True) for m in initial_messages(problem, files, tools=tools)]
    return "\n".join(texts[:1] + texts[2:3]) + json.dumps(TOOL_SCHEMAS)  # the system prompts and the tools, not the issue


def test_the_default_prompts_are_the_template_files(toy_problem: Problem) -> None:
    system, issue = initial_messages(toy_problem)
    assert PromptFiles().instance == PROMPTS_DIR / "instance.md" and PROMPTS_DIR.is_dir()
    assert system["content"].startswith("You are a software engineer fixing an issue in the Python repository monkeys/calc.")
    assert "edit <path>" in system["content"] and "at most 30 steps" in system["content"]
    assert toy_problem.question.strip() in issue["content"] and toy_problem.data["base_commit"][:12] in issue["content"]


def test_no_prompt_carries_the_toy_instance_answer(toy_problem: Problem) -> None:
    told = everything_the_model_is_told(toy_problem)
    gold = changed_lines(toy_patch("gold"))
    assert gold and "return a / b" in "\n".join(gold)  # the check looks at the real fix
    assert [line for line in gold if line in told] == []
    assert "calc/ops.py" not in told and "a // b" not in told


def test_an_issue_with_template_syntax_is_shown_as_written() -> None:
    problem = Problem(id="x__y-1", task="swebench", question="Jinja says {{ undefined }} and {% raw %}", data={"repo": "x/y"})
    assert "Jinja says {{ undefined }} and {% raw %}" in initial_messages(problem)[1]["content"]


def write_config(folder: Path, prompts: dict[str, str] | None = None) -> Path:
    rows = folder / "rows.jsonl"
    rows.write_text("")
    agent = {"budgets": {"max_steps": 5}} | ({"prompts": prompts} if prompts else {})
    config = {"name": "p", "task": "swebench", "dataset": {"path": "rows.jsonl"}, "model": {"backend": "simulated"}, "agent": agent}
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_run_config_points_at_its_own_prompt_files_and_they_make_a_different_run(tmp_path: Path, toy_problem: Problem) -> None:
    default = load_config(write_config(tmp_path))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "system.md").write_text("Fix {{ repo }} in {{ max_steps }} steps. Use the commands.\n")
    mine = load_config(write_config(tmp_path, {"system_text": "mine/system.md"}))
    assert mine.agent is not None and mine.agent.prompts.system_text == (tmp_path / "mine" / "system.md").resolve()
    assert mine.agent.prompts.instance == PromptFiles().instance  # the others stay the defaults
    check_inputs_exist(mine)
    system, issue = initial_messages(toy_problem, mine.agent.prompts, max_steps=5)
    assert system["content"] == "Fix monkeys/calc in 5 steps. Use the commands."
    assert issue == initial_messages(toy_problem)[1]
    assert mine.identity() != default.identity()
    before = mine.identity()
    (tmp_path / "mine" / "system.md").write_text("Fix {{ repo }}. Be brief.\n")  # the same path, other text
    assert load_config(write_config(tmp_path, {"system_text": "mine/system.md"})).identity() != before


def test_a_missing_prompt_file_is_named_before_anything_runs(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, {"instance": "nowhere/issue.md"}))
    with pytest.raises(ConfigError, match=r"agent\.prompts\.instance: file not found: .*nowhere/issue\.md"):
        check_inputs_exist(config)


@pytest.mark.parametrize(("text", "message"), [
    ("Fix {{ repository }}.", r"agent\.prompts\.system_text: .*bad\.md: 'repository' is undefined"),
    ("Fix {{ repo }.", r"agent\.prompts\.system_text: .*bad\.md, line 1: "),
])
def test_a_broken_template_is_a_config_error_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.md").write_text(text)
    config = load_config(write_config(tmp_path, {"system_text": "bad.md"}))
    with pytest.raises(ConfigError, match=message):
        prepare(config)


def test_the_digest_follows_the_text_not_the_path(tmp_path: Path) -> None:
    copy = tmp_path / "instance.md"
    copy.write_text(PromptFiles().instance.read_text())
    assert AgentConfig(prompts=PromptFiles(instance=copy)).digest() == AgentConfig().digest()
    copy.write_text(copy.read_text() + "Be careful.\n")
    assert AgentConfig(prompts=PromptFiles(instance=copy)).digest() != AgentConfig().digest()
