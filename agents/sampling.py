"""Agent attempts as run-store units: the agent counterpart of `harness.sampler.sample`.

A unit is still (problem, attempt index) with seed = base seed + index; it is stored when its
trajectory ends, as an Attempt whose text is the patch (`Task.extract` makes the candidate),
whose tokens are summed over all of its model calls, and whose finish_reason says how it
ended (finished, step_limit, ...). Model and agent errors are stored with status `error`;
`monkeys run --retry-errors` clears them and the retry continues their trajectory files.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from agents.config import AgentConfig
from agents.loop import AttemptResult, AttemptSpec
from agents.model import BackendClient
from agents.prompts import PromptError, check_prompts
from agents.runner import AgentRunner, Environments, snapshot_environments
from harness.config import ConfigError, SamplingConfig
from harness.models.base import ModelBackend
from harness.problems.base import Task
from harness.records import Attempt, AttemptStatus, Candidate, Problem
from harness.sampler import SamplingProgress
from harness.store import RunStore

FLUSH_EVERY_S = 0.5


def check_model(agent: AgentConfig, backend: str, chat: bool) -> None:
    """ConfigError when the configured model cannot play the agent the configured way, or a prompt template is unusable."""
    try:
        check_prompts(agent.prompts, agent.budgets.max_steps)
    except PromptError as exc:
        raise ConfigError(str(exc)) from None
    if agent.action_format == "tools" and not (chat and backend in ("openai", "simulated")):
        raise ConfigError("agent.action_format: tool calls need a chat server that returns them (model.backend: openai "
                          "with model.api: chat, e.g. vllm serve --enable-auto-tool-choice); use action_format: text "
                          "for base models and the offline engine")


def plan_attempts(problems: list[Problem], done: dict[str, set[int]], sampling: SamplingConfig) -> Iterator[tuple[Problem, AttemptSpec]]:
    """Every missing unit, problem by problem (so an instance's attempts share its environment while it is built)."""
    for problem in problems:
        stored = done.get(problem.id, set())
        for index in range(sampling.samples_per_problem):
            if index not in stored:
                yield problem, AttemptSpec(problem_id=problem.id, index=index, seed=sampling.seed + index,
                                           temperature=sampling.temperature, top_p=sampling.top_p)


def to_records(result: AttemptResult, problem: Problem, task: Task) -> tuple[Attempt, Candidate | None]:
    spec, totals = result.spec, result.totals
    candidate = None
    if result.status.final and result.patch.strip():
        try:
            candidate = task.extract(problem, result.patch)
        except Exception:  # noqa: BLE001 - as in the sampler: an extractor that chokes means "no answer"
            candidate = None
    attempt = Attempt(
        problem_id=spec.problem_id, index=spec.index, seed=spec.seed,
        status=AttemptStatus.OK if result.status.final else AttemptStatus.ERROR,
        error=None if result.status.final else f"{result.status.value}: {result.reason}",
        text=result.patch, finish_reason=result.status.value, prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens, candidate_key=candidate.key if candidate else None,
    )
    return attempt, candidate


async def sample_agent(problems: list[Problem], task: Task, backend: ModelBackend, store: RunStore,
                       sampling: SamplingConfig, agent: AgentConfig, run_dir: Path,
                       progress: SamplingProgress | None = None, envs: Environments | None = None,
                       chat: bool = True) -> SamplingProgress:
    """Run every missing agent attempt and store each as it ends (batched). Safe to interrupt.

    chat=False: the model is served by a completions API (a base model): transcript prompts.
    """
    progress = progress or SamplingProgress()
    by_id = {p.id: p for p in problems}
    envs = envs or snapshot_environments(agent, agent.snapshots_dir or run_dir / "repos", agent.repos_dir)
    client = BackendClient(backend)
    runner = AgentRunner(client, agent, envs, agent.trajectories_dir or run_dir / "trajectories", chat)
    attempts: list[Attempt] = []
    candidates: list[Candidate] = []
    last = time.monotonic()
    try:
        async for result in runner.run(plan_attempts(problems, store.done_indices(), sampling)):
            attempt, candidate = to_records(result, by_id[result.spec.problem_id], task)
            attempts.append(attempt)
            candidates += [candidate] if candidate else []
            if time.monotonic() - last > FLUSH_EVERY_S:
                _flush(store, progress, attempts, candidates)
                last = time.monotonic()
    finally:
        _flush(store, progress, attempts, candidates)
        await client.aclose()
    return progress


def _flush(store: RunStore, progress: SamplingProgress, attempts: list[Attempt], candidates: list[Candidate]) -> None:
    if not attempts:
        return
    store.add_attempts(attempts, candidates)
    progress.stored += len(attempts)
    progress.errors += sum(a.status is AttemptStatus.ERROR for a in attempts)
    progress.on_update(len(attempts))
    attempts.clear()
    candidates.clear()
