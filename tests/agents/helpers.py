"""Helpers for the agent tests: the correct toy trajectory, attempt specs, running attempts to their end."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from agents.config import AgentConfig, Budgets
from agents.loop import AttemptResult, AttemptSpec
from agents.model import BackendClient
from agents.runner import AgentRunner, Environments
from agents.scripted import ScriptedBackend, action, edit_action
from agents.tools import Environment
from harness.records import Problem

DIV_FIX = edit_action("calc/ops.py", "    return a // b", "    return a / b")
MEAN_FIX = edit_action(
    "calc/ops.py",
    "    total = sum(values)\n    return total / len(values)",
    "    if not values:\n        raise ValueError(\"mean() of an empty list\")\n    total = sum(values)\n    return total / len(values)",
)
CORRECT = [action("search_code mean empty list ValueError"), action("find_definition div"),
           action("view calc/ops.py 15 24"), action("identify calc/ops.py 16-24"), DIV_FIX, MEAN_FIX, action("finish")]


def spec(problem: Problem, index: int = 0, seed: int | None = None, temperature: float = 1.6) -> AttemptSpec:
    return AttemptSpec(problem_id=problem.id, index=index, seed=index if seed is None else seed, temperature=temperature)


def run_all(backend: ScriptedBackend, problem: Problem, env: Environment, trajectories: Path,
            indices: Iterable[int] = (0,), config: AgentConfig | None = None) -> list[AttemptResult]:
    """Runs the attempts to their end; results sorted by index."""
    config = config or AgentConfig(budgets=Budgets(max_steps=12))

    async def go() -> list[AttemptResult]:
        client = BackendClient(backend)
        runner = AgentRunner(client, config, Environments(lambda _p: env), trajectories)
        try:
            return [r async for r in runner.run((problem, spec(problem, i)) for i in indices)]
        finally:
            await client.aclose()

    return sorted(asyncio.run(go()), key=lambda r: r.spec.index)


def gold_script(problem: Problem, patch: str | None = None) -> list:
    """A trajectory to the patch (default: the problem's gold patch) through the agent's own actions:
    a search, views of each changed region, edits copied from those views, finish."""
    from agents.playback import edit_steps  # noqa: PLC0415

    patch = str(problem.data.get("patch") or "") if patch is None else patch
    words = " ".join(problem.question.split()[:12])
    return [action(f"search_code {words}"), *edit_steps(patch), action("finish")]


def patched_files(snapshot_root: Path, patch: str, tmp: Path) -> dict[str, str | None]:
    """What `git apply` makes of the files a patch touches (None: deleted), read as the agent reads them."""
    import subprocess  # noqa: PLC0415

    from agents.playback import parse_patch  # noqa: PLC0415

    work = tmp / "git-apply"
    work.mkdir(parents=True, exist_ok=True)
    paths = [f.path() for f in parse_patch(patch)]
    for path in paths:
        source = snapshot_root / path
        if source.is_file():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_bytes(source.read_bytes())
    subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], input=patch.encode("utf-8", "surrogateescape"),
                   cwd=work, check=True, capture_output=True)
    return {path: ((work / path).read_bytes().decode("utf-8", "surrogateescape") if (work / path).exists() else None)
            for path in paths if path}
