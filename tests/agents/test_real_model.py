"""The repair agent driven by a real model: SmolLM2-135M-Instruct behind llama.cpp's server
(tests/conftest.py) on the toy SWE-bench instance, its patches judged in Docker.

Text actions through the server's own chat template, and OpenAI tool calls through its
function-calling format. A 135M model rarely fixes anything; these assert behaviour: every
attempt ends in a final status with its steps on disk and the server's token counts, every
attempt gets a verdict, the report says the model was real. Like the other Docker tests they
fail, never skip, without an engine and the base image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.loop import EndStatus
from agents.toolcalls import TOOL_NAMES
from harness.config import config_from_dict
from harness.pipeline import execute
from harness.store import RunStore
from tests.conftest import SMALL_MODEL
from tests.swebench_toy import build_toy_instance

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def toy_row(tmp_path_factory: pytest.TempPathFactory) -> Path:
    row, _ = build_toy_instance()
    path = tmp_path_factory.mktemp("toy") / "toy.jsonl"
    path.write_text(json.dumps(row) + "\n")
    return path


def agent_run(tmp_path: Path, row: Path, base_url: str, action_format: str, attempts: int, steps: int) -> tuple[dict, list, Path]:
    config = config_from_dict({
        "name": f"real_agent_{action_format}", "task": "swebench", "dataset": {"path": str(row)},
        "model": {"backend": "openai", "model": SMALL_MODEL, "base_url": base_url, "api": "chat", "api_key_env": None,
                  "concurrency": 2, "max_retries": 1},
        "sampling": {"samples_per_problem": attempts, "temperature": 0.8, "seed": 0},
        "verify": {"workers": 1, "options": {"eval_timeout_s": 120, "flake_runs": 0, "majority_runs": 1}},
        "agent": {"action_format": action_format, "max_tokens_per_call": 96,
                  "budgets": {"max_steps": steps, "max_format_errors": steps, "max_context_tokens": 3500}},
    })
    run_dir = tmp_path / "run"
    execute(config, run_dir, show_progress=False)
    store = RunStore(run_dir)
    try:
        stored = list(store.attempts())
    finally:
        store.close()
    return json.loads((run_dir / "report.json").read_text()), stored, run_dir


def steps_of(run_dir: Path, attempt: Any) -> list[dict[str, Any]]:
    path = run_dir / "trajectories" / attempt.problem_id / f"{attempt.index:05d}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_real_agent_run(report: dict, stored: list, run_dir: Path, attempts: int) -> list[list[dict[str, Any]]]:
    assert report["simulated"] is False and report["model"] == SMALL_MODEL
    assert len(stored) == attempts and report["attempts"]["total"] == attempts
    finals = {status.value for status in EndStatus if status.final}
    assert all(a.status == "ok" and a.finish_reason in finals for a in stored), [(a.finish_reason, a.error) for a in stored]
    assert all(a.prompt_tokens > 0 and a.completion_tokens > 0 for a in stored)  # summed over the server's usage
    verdicts = [json.loads(line) for line in (run_dir / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == attempts
    assert all(v["status"] in ("passed", "failed", "apply_failed", "no_answer") for v in verdicts), verdicts
    for attempt, verdict in zip(sorted(stored, key=lambda a: a.index), sorted(verdicts, key=lambda v: v["sample_index"])):
        # A patch was judged in Docker; an attempt without one has nothing to judge.
        assert (verdict["status"] == "no_answer") == (not attempt.text.strip())
    trajectories = []
    for attempt in stored:
        records = steps_of(run_dir, attempt)
        assert records[-1]["type"] == "end" and records[-1]["status"] == attempt.finish_reason
        steps = [record for record in records if record["type"] == "step"]
        assert steps and all(step["call"]["completion_tokens"] > 0 for step in steps)  # the model was asked, and answered
        trajectories.append(steps)
    return trajectories


def test_the_agent_with_text_actions_and_a_real_model(tmp_path: Path, toy_row: Path, llama_server: str) -> None:
    report, stored, run_dir = agent_run(tmp_path, toy_row, llama_server, "text", attempts=2, steps=3)
    trajectories = assert_real_agent_run(report, stored, run_dir, attempts=2)
    steps = [step for steps in trajectories for step in steps]
    assert all(step["call"]["response"] or step["outcome"] == "format_error" for step in steps)


def test_the_agent_with_tool_calls_and_a_real_model(tmp_path: Path, toy_row: Path, llama_tools_server: str) -> None:
    report, stored, run_dir = agent_run(tmp_path, toy_row, llama_tools_server, "tools", attempts=1, steps=2)
    trajectories = assert_real_agent_run(report, stored, run_dir, attempts=1)
    calls = [call for steps in trajectories for step in steps for call in step["call"]["tool_calls"]]
    # The server's function-calling grammar picks a tool by name or answers in words: calls it made name real tools.
    assert all(call["name"] in TOOL_NAMES for call in calls), calls
