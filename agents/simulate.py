"""A simulated model that plays the agent (demo and tests): it is not a model.

Per attempt a plan of responses is drawn from (problem id, seed): with the problem's
success probability the plan searches, opens the file, edits its way to the gold patch
(one SEARCH/REPLACE per hunk) and finishes; otherwise it does something plausible and
wrong: edits toward a wrong variant of the gold patch (a hunk left out, an added line
dropped), gives up, wanders until the step limit, or answers in a broken format. Step k of
the attempt gets plan[k], so a resumed attempt sees the same plan.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING

from agents.scripted import FINISH, action, completion_for, edit_action, step_of
from harness.problems.patches import FilePatch, parse_patch
from harness.records import GenerationRequest, GenerationResult, Problem

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.problems.base import Task

MALFORMED = ("I will look at the code now.", "Action: view the file", "```\nlook at ops\n```", "")


def hunk_edits(patch: str) -> list[tuple[str, str, str]]:
    """(path, search, replace) per hunk of a patch, blank context at the hunk's ends trimmed."""
    try:
        files: list[FilePatch] = parse_patch(patch)
    except Exception:  # noqa: BLE001 - an unparseable patch: nothing to replay
        return []
    edits = []
    for file_patch in files:
        path = file_patch.path()
        for hunk in file_patch.hunks:
            lines = [line for line in hunk.lines if not line.startswith("\\")]
            while lines and lines[0].strip() == "":
                lines.pop(0)
            while lines and lines[-1].strip() == "":
                lines.pop()
            old = "".join(line[1:] for line in lines if line[:1] in (" ", "-", "\n"))
            new = "".join(line[1:] for line in lines if line[:1] in (" ", "+", "\n"))
            if path and old:
                edits.append((path, old.removesuffix("\n"), new.removesuffix("\n")))
    return edits


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


def _edit_plan(problem: Problem, patch: str, rng: random.Random) -> list[str] | None:
    edits = hunk_edits(patch)
    if not edits:
        return None
    plan = _localize(problem, edits[0][0], rng)
    if rng.random() < 0.15:
        plan.append(rng.choice(MALFORMED))  # a slip the format feedback recovers from
    plan += [edit_action(path, old, new) for path, old, new in edits]
    return plan + [FINISH]


def _wrong_plan(problem: Problem, rng: random.Random, max_steps: int) -> list[str]:
    from harness.problems.swebench import drop_added_line, revert_one_hunk  # noqa: PLC0415

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


def plan_for(problem: Problem, seed: int, correct: bool, max_steps: int = 30) -> list[str]:
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

    def plan(self, problem_id: str, seed: int) -> list[str]:
        # Recomputed per step (cheap) rather than cached: 75,000 attempts' plans would not fit comfortably.
        correct = random.Random(f"agent:{problem_id}:{seed}").random() < self.success_probability(problem_id)
        return plan_for(self.problems[problem_id], seed, correct, self.max_steps)

    def respond(self, request: GenerationRequest) -> str:
        plan, step = self.plan(request.problem_id, request.seed), step_of(request)
        return plan[step] if step < len(plan) else FINISH

    async def generate(self, requests: Iterable[GenerationRequest]) -> AsyncIterator[GenerationResult]:
        for request in requests:
            yield GenerationResult(request=request, completions=[completion_for(request, self.respond(request), step_of(request))])

    async def aclose(self) -> None:
        return None
