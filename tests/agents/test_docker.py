"""The agent on the real toy instance: its snapshot read from the image, its patches judged in Docker.

Like the other Docker tests these fail, never skip, without an engine and the base image.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agents.config import AgentConfig, Budgets
from agents.loop import EndStatus
from agents.repo import RepoSnapshot
from agents.runner import Environments
from agents.sampling import sample_agent
from agents.scripted import ScriptedBackend
from agents.simulate import SimulatedAgentBackend
from agents.snapshots import DockerImageSource, SnapshotCache
from agents.tools import Environment
from harness.config import SamplingConfig
from harness.problems.datasets import SourceRow
from harness.problems.swebench import SWEBenchTask, problem_from_row
from harness.records import AttemptStatus, Problem, VerdictStatus
from harness.store import RunStore
from harness.verifiers.swebench import SWEBenchSettings, SWEBenchVerifier
from tests.agents.helpers import CORRECT, DIV_FIX, run_all
from tests.swebench_toy import build_toy_instance

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def toy() -> tuple[dict[str, Any], str]:
    return build_toy_instance()


@pytest.fixture(scope="module")
def problem(toy: tuple[dict[str, Any], str]) -> Problem:
    return problem_from_row(SourceRow("toy", 1, 0, toy[0]))


@pytest.fixture(scope="module")
def image_env(toy: tuple[dict[str, Any], str], tmp_path_factory: pytest.TempPathFactory) -> Environment:
    snapshot = SnapshotCache(tmp_path_factory.mktemp("repos")).get(DockerImageSource(toy[1]))
    return Environment.build(snapshot, AgentConfig().tools)


def verifier(tmp_path: Path) -> SWEBenchVerifier:
    judge = SWEBenchVerifier(SWEBenchSettings(flake_runs=0, majority_runs=1, eval_timeout_s=120))
    judge.bind_run_dir(tmp_path / "run")
    return judge


def test_snapshot_from_the_image_is_the_repository(image_env: Environment, toy_repo: tuple[Path, str]) -> None:
    snapshot = image_env.snapshot
    assert set(snapshot.files) == set(RepoSnapshot(toy_repo[0]).files)
    assert snapshot.read("calc/ops.py") == (toy_repo[0] / "calc/ops.py").read_text()


def test_correct_trajectory_resolves_the_instance_and_a_partial_one_does_not(
        tmp_path: Path, problem: Problem, image_env: Environment) -> None:
    script = {(problem.id, 0): CORRECT, (problem.id, 1): [DIV_FIX]}
    results = run_all(ScriptedBackend(script), problem, image_env, tmp_path / "t", indices=[0, 1])
    assert [r.status for r in results] == [EndStatus.FINISHED, EndStatus.FINISHED]
    candidates = [SWEBenchTask().extract(problem, r.patch) for r in results]
    verdicts = list(verifier(tmp_path).verify_many([(problem, c) for c in candidates if c is not None]))
    assert [v.status for v in verdicts] == [VerdictStatus.PASSED, VerdictStatus.FAILED]


def test_simulated_agent_run_into_the_store_then_verified(tmp_path: Path, problem: Problem, image_env: Environment) -> None:
    """The demo path: the simulated model plays the agent; attempts land in a run store; candidates are judged."""
    task = SWEBenchTask()
    backend = SimulatedAgentBackend([problem], lambda _pid: 0.5, max_steps=12)
    store = RunStore(tmp_path / "run")
    config = AgentConfig(budgets=Budgets(max_steps=12))
    sampling = SamplingConfig(samples_per_problem=24, temperature=1.6)
    envs = Environments(lambda _p: image_env)
    asyncio.run(sample_agent([problem], task, backend, store, sampling, config, tmp_path / "run", envs=envs))
    attempts = list(store.attempts())
    assert len(attempts) == 24 and all(a.status is AttemptStatus.OK for a in attempts)
    assert {a.finish_reason for a in attempts} <= {s.value for s in EndStatus}
    assert len(list((tmp_path / "run" / "trajectories").rglob("*.jsonl"))) == 24
    pending = store.unverified_candidates("swebench", verifier(tmp_path).version)
    judged = list(verifier(tmp_path).verify_many([(problem, c) for c in pending]))
    store.add_verdicts(zip(pending, judged, strict=True))
    passed = {c.key for c, v in zip(pending, judged, strict=True) if v.status is VerdictStatus.PASSED}
    resolved = [a for a in attempts if a.candidate_key in passed]
    assert 3 <= len(resolved) <= 21  # p = 0.5 over 24 attempts
    assert all(a.finish_reason == "finished" for a in resolved)
    assert len(pending) < 24  # identical patches are one candidate
    again = asyncio.run(sample_agent([problem], task, backend, store, sampling, config, tmp_path / "run", envs=envs))
    assert again.stored == 0  # a finished run has nothing left to sample
    store.close()

