"""A simulated model that plays the agent (demo and tests): it is not a model.

Per attempt a plan of responses is drawn from (problem id, seed): with the problem's
success probability the plan searches, opens the file, views each changed region, edits it
as viewed (`agents.playback`) until the repository holds the gold patch, and finishes;
otherwise it does something plausible and wrong: edits toward a wrong variant of the gold patch (a hunk left out, an added line
dropped), gives up, wanders until the step limit, or answers in a broken format. Step k of
the attempt gets plan[k], so a resumed attempt sees the same plan.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING

from agents.playback import Entry, Unplayable, edit_steps, first_path, resolve
from agents.scripted import FINISH, action, completion_for, step_of
from harness.problems.patches import parse_patch
from harness.records import GenerationRequest, GenerationResult, Problem

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.problems.base import Task

MALFORMED = ("I will look at the code now.", "Action: view the file", "```\nlook at the code\n```", "")


def _keywords(problem: Problem, rng: random.Random) -> str:
    words = [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_.]{2,}", problem.question) if not w.isupper()]
    return " ".join(words[:8]) if rng.random() < 0.7 else " ".join(rng.sample(words, min(5, len(words))) or ["bug"])


def _localize(problem: Problem, path: str, rng: random.Random) -> list[str]:
    steps = [action(f"search_code {_keywords(problem, rng)}")]
    if rng.random() < 0.5:
        steps.append(action(f"find_files **/{path.rsplit('/', 1)[-1]}"))
    steps.append(action(f"view {path}"))
    if rng.random() < 0.3:
        steps.append(action(f"identify {path} 1-{rng.randint(5, 40)}"))
    return steps


def _edit_plan(problem: Problem, patch: str, rng: random.Random) -> list[Entry] | None:
    path = first_path(patch)
    try:
        edits = edit_steps(patch)
    except Unplayable:
        return None
    plan: list[Entry] = list(_localize(problem, path, rng)) if path else []
    if rng.random() < 0.15:
        plan.append(rng.choice(MALFORMED))  # a slip the format feedback recovers from
    return [*plan, *edits, FINISH]


def _wrong_plan(problem: Problem, rng: random.Random, max_steps: int) -> list[Entry]:
    from harness.simulated.swebench import drop_added_line, revert_one_hunk  # noqa: PLC0415

    gold = str(problem.data.get("patch") or "")
    files = parse_patch(gold) if gold else []
    kind = rng.random()
    if kind < 0.55 and files:
        wrong = (revert_one_hunk if rng.random() < 0.4 else drop_added_line)(files, rng) or drop_added_line(files, rng)
        plan = _edit_plan(problem, wrong, rng) if wrong else None
        if plan:
            return plan
    if kind < 0.75:
        return [action(f"search_code {_keywords(problem, rng)}"), action("finish")]  # gives up: no patch
    if kind < 0.9:
        return [action(f"search_code {_keywords(problem, rng)}")] * max_steps  # wanders until the step limit
    return [rng.choice(MALFORMED) for _ in range(max_steps)]  # never gets the format right


def plan_for(problem: Problem, seed: int, correct: bool, max_steps: int = 30) -> list[Entry]:
    """The whole attempt's responses, a pure function of (problem, seed, correct)."""
    rng = random.Random(f"agent-plan:{problem.id}:{seed}")
    if correct:
        plan = _edit_plan(problem, str(problem.data.get("patch") or ""), rng)
        if plan:
            return plan
    return _wrong_plan(problem, rng, max_steps)


class SimulatedAgentBackend:
    """The agent counterpart of SimulatedBackend: same per-problem difficulty, multi-step plans."""

    name = "simulated"
    simulated = True

    def __init__(self, problems: list[Problem], success_probability: Callable[[str], float], max_steps: int = 30) -> None:
        self.problems = {p.id: p for p in problems}
        self.success_probability, self.max_steps = success_probability, max_steps

    @classmethod
    def from_config(cls, run_config: RunConfig, task: Task, problems: list[Problem], max_steps: int = 30) -> SimulatedAgentBackend:
        from harness.models.simulated import SimulatedBackend  # noqa: PLC0415

        difficulty = SimulatedBackend(run_config.model, task, problems)  # type: ignore[arg-type]
        return cls(problems, difficulty.success_probability, max_steps)

    def plan(self, problem_id: str, seed: int) -> list[Entry]:
        # Recomputed per step (cheap) rather than cached: 75,000 attempts' plans would not fit comfortably.
        correct = random.Random(f"agent:{problem_id}:{seed}").random() < self.success_probability(problem_id)
        return plan_for(self.problems[problem_id], seed, correct, self.max_steps)

    def respond(self, request: GenerationRequest) -> str:
        plan, step = self.plan(request.problem_id, request.seed), step_of(request)
        return resolve(plan[step], request) if step < len(plan) else FINISH

    async def generate(self, requests: Iterable[GenerationRequest]) -> AsyncIterator[GenerationResult]:
        for request in requests:
            yield GenerationResult(request=request, completions=[completion_for(request, self.respond(request), step_of(request))])

    async def aclose(self) -> None:
        return None
