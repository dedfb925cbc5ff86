"""The agent as an attempt source (harness.sources): units in, attempts with candidates out.

harness.registry finds `AGENT` by name; harness.sampler.sample_from plans the units, and
buffers and stores the attempts, as it does for single completions.

A unit is still (problem, attempt index) with seed = base seed + index; it is stored when its
trajectory ends, as an Attempt whose text is the patch (`Task.extract` makes the candidate),
whose tokens are summed over all of its model calls, and whose finish_reason says how it
ended (finished, step_limit, ...). Model and agent errors are stored with status `error`;
`monkeys run --retry-errors` clears them and the retry continues their trajectory files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from agents.config import AgentConfig
from agents.loop import AttemptResult, AttemptSpec
from agents.model import BackendClient
from agents.prompts import PromptError, check_prompts
from agents.runner import AgentRunner, Environments, snapshot_environments
from harness.config import ConfigError, RunConfig, SamplingConfig
from harness.models.base import ModelBackend
from harness.problems.base import Task
from harness.records import Attempt, AttemptStatus, Candidate, Problem
from harness.sampler import SamplingProgress, sample_from
from harness.sources import AttemptUnit
from harness.store import RunStore


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


class AgentSource:
    """Each unit is one agent trajectory, stored when it ends (its text is the patch)."""

    def __init__(self, task: Task, backend: ModelBackend, sampling: SamplingConfig, agent: AgentConfig, run_dir: Path,
                 envs: Environments | None = None, chat: bool = True) -> None:
        self.task, self.sampling = task, sampling
        envs = envs or snapshot_environments(agent, agent.snapshots_dir or run_dir / "repos", agent.repos_dir)
        self.client = BackendClient(backend)
        self.runner = AgentRunner(self.client, agent, envs, agent.trajectories_dir or run_dir / "trajectories", chat)

    async def attempts(self, units: Iterable[AttemptUnit]) -> AsyncIterator[tuple[list[Attempt], list[Candidate]]]:
        problems: dict[str, Problem] = {}

        def specs() -> Iterable[tuple[Problem, AttemptSpec]]:
            for unit in units:
                problems[unit.problem.id] = unit.problem
                yield unit.problem, AttemptSpec(problem_id=unit.problem.id, index=unit.index, seed=unit.seed,
                                                temperature=self.sampling.temperature, top_p=self.sampling.top_p)

        async for result in self.runner.run(specs()):
            attempt, candidate = to_records(result, problems[result.spec.problem_id], self.task)
            yield [attempt], [candidate] if candidate else []

    async def aclose(self) -> None:
        await self.client.aclose()


class AgentKind:
    """What harness.registry finds by name ("agent"): the harness.sources.AttemptSourceKind of the agent."""

    def check(self, config: RunConfig) -> None:
        check_model(config.agent, config.model.backend, config.chat())

    def simulated_backend(self, config: RunConfig, task: Task, problems: list[Problem]) -> ModelBackend:
        from agents.simulate import SimulatedAgentBackend  # noqa: PLC0415 - the simulated model plays the agent

        return SimulatedAgentBackend.from_config(config, task, problems, config.agent.budgets.max_steps)

    def open(self, config: RunConfig, task: Task, backend: ModelBackend, run_dir: Path,
             sampling: SamplingConfig) -> AgentSource:
        return AgentSource(task, backend, sampling, config.agent, run_dir, chat=config.chat())


AGENT = AgentKind()


async def sample_agent(problems: list[Problem], task: Task, backend: ModelBackend, store: RunStore,
                       sampling: SamplingConfig, agent: AgentConfig, run_dir: Path,
                       progress: SamplingProgress | None = None, envs: Environments | None = None,
                       chat: bool = True) -> SamplingProgress:
    """Run every missing agent attempt and store each as it ends (batched). Safe to interrupt.

    chat=False: the model is served by a completions API (a base model): transcript prompts.
    """
    source = AgentSource(task, backend, sampling, agent, run_dir, envs, chat)
    try:
        return await sample_from(source, problems, store, sampling, progress)
    finally:
        await source.aclose()
