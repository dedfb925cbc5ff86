"""`monkeys run` of an agent config on the toy instance with the simulated model: sample, verify in Docker, report, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.config import load_config
from tests.swebench_toy import build_toy_instance

pytestmark = pytest.mark.timeout(900)
REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "configs" / "demo_swe_agent.yaml"


def test_configs_load() -> None:
    config = load_config(DEMO)
    assert config.task == "swebench" and config.agent.budgets.max_steps == 12
    config = load_config(REPO_ROOT / "configs" / "swebench_lite.yaml")
    assert config.sampling.samples_per_problem == 250 and config.sampling.temperature == 1.6 and config.agent.max_in_flight == 512


def test_bad_agent_section_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(DEMO), "--out", str(tmp_path), "--set", "agent.budgets.max_steps=0"]) == 2
    assert "max_steps" in capsys.readouterr().err and not (tmp_path / "run.sqlite").exists()


def test_demo_run_end_to_end_and_resume(tmp_path: Path) -> None:
    row, _ = build_toy_instance()
    data = tmp_path / "toy.jsonl"
    data.write_text(json.dumps(row) + "\n")
    out = tmp_path / "run"
    args = ["run", str(DEMO), "--out", str(out), "--no-progress", "--set", f"dataset.path={data}",
            "--set", "sampling.samples_per_problem=16", "--set", "verify.options.flake_runs=0"]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["simulated"] is True
    # The run's agent settings are recorded with the rest of its config.
    recorded = yaml.safe_load((out / "config.yaml").read_text())["agent"]
    assert len(list((out / "trajectories").rglob("*.jsonl"))) == 16 and recorded["budgets"]["max_steps"] == 12
    verdicts = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 16 and any(v["passed"] for v in verdicts)
    assert main(args) == 0  # resumed: nothing left to sample or verify
    assert main([*args, "--set", "agent.budgets.max_steps=5"]) == 2  # other agent settings: refused


def test_demo_run_with_tool_calls(tmp_path: Path) -> None:
    """The simulated model plays action_format: tools (its actions come as tool calls) through monkeys run."""
    row, _ = build_toy_instance()
    data = tmp_path / "toy.jsonl"
    data.write_text(json.dumps(row) + "\n")
    out = tmp_path / "run"
    assert main(["run", str(DEMO), "--out", str(out), "--no-progress", "--set", f"dataset.path={data}",
                 "--set", "sampling.samples_per_problem=12", "--set", "verify.options.flake_runs=0",
                 "--set", "agent.action_format=tools"]) == 0
    verdicts = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 12 and any(v["passed"] for v in verdicts)
    steps = [json.loads(line) for path in (out / "trajectories").rglob("*.jsonl") for line in path.read_text().splitlines()]
    calls = [s["call"]["tool_calls"] for s in steps if s["type"] == "step"]
    assert sum(bool(c) for c in calls) > len(calls) // 2  # most steps were tool calls (malformed plan steps stay prose)
    assert {c[0]["name"] for c in calls if c} >= {"search_code", "view", "edit", "finish"}


def demo_swe(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "demo_swe.py"), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=REPO_ROOT, timeout=600)


def test_demo_script_says_why_it_skips_without_docker(tmp_path: Path) -> None:
    done = demo_swe("--out", str(tmp_path), DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    assert done.returncode == 0  # the rest of the demo still counts
    assert "SKIPPED the toy SWE-bench agent demo: the Docker engine is not reachable" in done.stderr
    assert "scripts/setup_docker.sh" in done.stderr and not any(tmp_path.iterdir())


def test_demo_script_runs_the_toy_instance(tmp_path: Path) -> None:
    rows = tmp_path / "toy_swe.jsonl"
    done = demo_swe("--out", str(tmp_path), "--row-file", str(rows), "--no-progress",
                    "--set", "sampling.samples_per_problem=10", "--set", "verify.options.flake_runs=0")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "demo_swe_agent" / "report.json").read_text())
    assert report["simulated"] is True and json.loads(rows.read_text())["instance_id"] == "monkeys__calc-1"
    assert len(list((tmp_path / "demo_swe_agent" / "trajectories").rglob("*.jsonl"))) == 10
