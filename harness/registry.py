"""Names used in configs -> classes, imported only when asked for (vllm and ray stay optional)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.config import ConfigError
from harness.problems.base import ConfiguresVerifier

if TYPE_CHECKING:
    from harness.config import RunConfig, VerifyConfig
    from harness.models.base import ModelBackend
    from harness.problems.base import Task
    from harness.records import Problem
    from harness.sources import AttemptSourceKind

TASKS: dict[str, str] = {
    "gsm8k": "harness.problems.gsm8k:GSM8KTask",
    "math": "harness.problems.math:MathTask",
    "humaneval": "harness.problems.humaneval:HumanEvalTask",
    "mbpp": "harness.problems.mbpp:MBPPTask",
    "code_contests": "harness.problems.code_contests:CodeContestsTask",
    "code_contests_cpp": "harness.problems.code_contests:CodeContestsCppTask",
    "swebench": "harness.problems.swebench:SWEBenchTask",
}

BACKENDS: dict[str, str] = {
    "simulated": "harness.models.simulated:SimulatedBackend",
    "openai": "harness.models.openai_http:OpenAIBackend",
    "vllm": "harness.models.vllm_engine:VLLMBackend",
    "replay": "harness.models.replay:ReplayBackend",
}


# Sources of attempts other than single completions; `agent:` in a run config selects "agent".
ATTEMPT_SOURCES: dict[str, str] = {
    "agent": "agents.sampling:AGENT",
}


def _import(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def load_task(name: str) -> Task:
    if name not in TASKS:
        raise ConfigError(f"task: unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    try:
        return _import(TASKS[name])()
    except ModuleNotFoundError as exc:
        if not exc.name or not exc.name.startswith("harness."):
            raise
        raise ConfigError(f"task: {name!r} is not available in this version ({exc.name} is missing)") from None


def configured_task(name: str, verify: VerifyConfig) -> Task:
    """The task with its verifier settings validated from the `verify` section (a ConfigError
    naming the field); a task without settings refuses `verify.options` rather than ignore them."""
    task = load_task(name)
    if isinstance(task, ConfiguresVerifier):
        task.configure(verify)
    elif verify.options:
        raise ConfigError(f"verify.options: task {name!r} takes no verifier settings "
                          f"(given: {', '.join(sorted(verify.options))})")
    return task


def attempt_source(config: RunConfig) -> AttemptSourceKind | None:
    """The attempt source the config selects; None: single completions through harness.sampler.sample."""
    return _import(ATTEMPT_SOURCES["agent"]) if config.agent is not None else None


def make_backend(config: RunConfig, task: Task, problems: list[Problem]) -> ModelBackend:
    """Every backend class offers from_config(run_config, task, problems)."""
    source = attempt_source(config)
    if source is not None and config.model.backend == "simulated":  # the simulated model plays the source
        return source.simulated_backend(config, task, problems)
    return _import(BACKENDS[config.model.backend]).from_config(config, task, problems)
