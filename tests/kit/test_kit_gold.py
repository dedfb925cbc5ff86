"""Opt-in: every instance of a real SWE-bench task repo, its gold patch reached through the agent's own actions
(search, views, SEARCH/REPLACE edits copied from the views, finish) and judged resolved in its real image.

    MONKEYS_KIT=../shared/swebench_real pytest -m kit

Not part of the default suite (pyproject deselects the `kit` marker): it needs the kit and its built images
(tens of minutes of eval scripts). Selected without them, it fails naming what is missing; it never skips.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from agents.config import AgentConfig, Budgets
from agents.filecache import FileCache
from agents.loop import AttemptResult, EndStatus
from agents.model import BackendClient
from agents.runner import AgentRunner, Environments
from agents.scripted import ScriptedBackend
from agents.snapshots import DockerImageSource, SnapshotCache
from agents.tools import Environment
from harness.problems.datasets import SourceRow
from harness.problems.swebench import SWEBenchTask, problem_from_row
from harness.records import Problem, Verdict, VerdictStatus
from harness.verifiers.swebench import SWEBenchSettings, SWEBenchVerifier
from tests.agents.helpers import gold_script, patched_files, spec

pytestmark = [pytest.mark.kit, pytest.mark.timeout(7200)]
KIT = os.environ.get("MONKEYS_KIT", "")


def _instance_ids() -> list[str]:
    tasks = Path(KIT) / "tasks"
    return sorted(p.name for p in tasks.iterdir() if p.is_dir()) if KIT and tasks.is_dir() else ["<no kit>"]


def _rows() -> list[dict[str, Any]]:
    if not KIT:
        pytest.fail("MONKEYS_KIT is not set: point it at a swebench 5 task repo, e.g. MONKEYS_KIT=../shared/swebench_real pytest -m kit")
    if not (Path(KIT) / "tasks").is_dir():
        pytest.fail(f"MONKEYS_KIT={KIT}: no tasks/ folder there (not a swebench 5 task repo)")
    from swebench.task.repo import load_task_repo  # noqa: PLC0415

    rows = load_task_repo(KIT)
    from sandboxes.docker import docker_client  # noqa: PLC0415

    import docker  # noqa: PLC0415

    client = docker_client()

    def absent(image: str) -> bool:  # asked one by one: listing every image races with builds elsewhere
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            return True
        return False

    missing = [row["image"] for row in rows if absent(row["image"])]
    if missing:
        pytest.fail(f"{len(missing)} of {len(rows)} instance images of {KIT} are not built, e.g. {', '.join(missing[:3])}; "
                    f"build them with {Path(KIT) / 'prepare.sh'}")
    return rows


def _play(problem: Problem, env: Environment, trajectories: Path) -> AttemptResult:
    async def go() -> list[AttemptResult]:
        client = BackendClient(ScriptedBackend({(problem.id, 0): gold_script(problem)}))
        runner = AgentRunner(client, AgentConfig(budgets=Budgets(max_steps=40)), Environments(lambda _p: env), trajectories)
        try:
            return [r async for r in runner.run([(problem, spec(problem, 0))])]
        finally:
            await client.aclose()

    return asyncio.run(go())[0]


@pytest.fixture(scope="module")
def kit_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kit")


def _environment(row: dict[str, Any], tmp: Path) -> Environment:
    """Snapshot and index made once per instance under tmp (later calls load them)."""
    snapshot = SnapshotCache(tmp / "repos").get(DockerImageSource(row["image"]))
    return Environment.build(snapshot, AgentConfig().tools, index_cache=snapshot.root.parent, file_cache=FileCache(tmp / "repos" / "file-index"))


@pytest.fixture(scope="module")
def outcomes(kit_tmp: Path) -> dict[str, tuple[AttemptResult, bool, Verdict | None]]:
    """Per instance: the gold trajectory's result, whether its patch makes the gold patch's files, its verdict."""
    tmp = kit_tmp
    task, played = SWEBenchTask(), {}
    problems = []
    for n, row in enumerate(_rows()):
        problem = problem_from_row(SourceRow(KIT, n + 1, n, row))
        env = _environment(row, tmp)
        snapshot = env.snapshot
        result = _play(problem, env, tmp / "trajectories")
        same = bool(result.patch) and (patched_files(snapshot.root, result.patch, tmp / "mine" / problem.id)
                                       == patched_files(snapshot.root, row["patch"], tmp / "gold" / problem.id))
        played[problem.id] = (result, same)
        problems.append(problem)
    judge = SWEBenchVerifier(SWEBenchSettings(flake_runs=0, majority_runs=1, eval_timeout_s=900))
    judge.bind_run_dir(tmp / "run")
    work = [(p, task.extract(p, played[p.id][0].patch)) for p in problems if played[p.id][0].patch.strip()]
    verdicts = dict(zip([p.id for p, _ in work], judge.verify_many([(p, c) for p, c in work if c is not None]), strict=True))
    return {pid: (result, same, verdicts.get(pid)) for pid, (result, same) in played.items()}


@pytest.mark.parametrize("instance_id", _instance_ids())
def test_the_gold_trajectory_resolves_the_instance(outcomes: dict[str, tuple[AttemptResult, bool, Verdict | None]], instance_id: str) -> None:
    result, same, verdict = outcomes[instance_id]
    assert result.status is EndStatus.FINISHED, result.reason
    assert same, "the trajectory's patch does not make the files the gold patch makes"
    assert verdict is not None and verdict.status is VerdictStatus.PASSED, verdict


def test_no_prompt_carries_a_kit_instance_answer() -> None:
    from tests.agents.test_prompts import changed_lines, everything_the_model_is_told  # noqa: PLC0415

    rows = _rows()
    sample = problem_from_row(SourceRow(KIT, 1, 0, rows[0]))
    told = everything_the_model_is_told(sample)
    leaked = {row["instance_id"]: line for row in rows for line in changed_lines(row["patch"]) if line in told}
    assert leaked == {}


@pytest.mark.parametrize("instance_id", _instance_ids())
def test_the_simulated_model_reaches_the_gold_patch_exactly_when_it_drew_success(kit_tmp: Path, instance_id: str) -> None:
    """On the real repository: 12 attempts at p = 0.5 through the real tools; an attempt's patch makes the gold
    patch's files exactly when its draw said it would succeed (nothing is judged here: the tools and edits are)."""
    import random  # noqa: PLC0415

    from agents.simulate import SimulatedAgentBackend  # noqa: PLC0415

    rows = {row["instance_id"]: (n, row) for n, row in enumerate(_rows())}
    n, row = rows[instance_id]
    problem = problem_from_row(SourceRow(KIT, n + 1, n, row))
    env = _environment(row, kit_tmp)
    backend = SimulatedAgentBackend([problem], lambda _pid: 0.5, max_steps=30)

    async def go() -> list[AttemptResult]:
        client = BackendClient(backend)
        runner = AgentRunner(client, AgentConfig(budgets=Budgets(max_steps=30)), Environments(lambda _p: env), kit_tmp / "simulated")
        try:
            return [r async for r in runner.run((problem, spec(problem, i)) for i in range(12))]
        finally:
            await client.aclose()

    results = sorted(asyncio.run(go()), key=lambda r: r.spec.index)
    gold = patched_files(env.snapshot.root, row["patch"], kit_tmp / "sim-gold" / instance_id)
    reached = [bool(r.patch) and patched_files(env.snapshot.root, r.patch, kit_tmp / "sim" / instance_id / str(r.spec.index)) == gold
               for r in results]
    drawn = [random.Random(f"agent:{problem.id}:{r.spec.seed}").random() < 0.5 for r in results]
    assert reached == drawn
