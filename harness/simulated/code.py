"""What the simulated outputs of the code tasks share: a problem's programs framed up front,
picked Zipf-like, and formatting noise that never changes a program's key."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from harness.records import Problem
from harness.simulated.answers import AnswerPool, stable_seed


@dataclass(frozen=True)
class SimulatedOutputs:
    """One problem's simulated outputs: the reference in several framings, wrong programs
    weighted Zipf-like, and a few outputs with no code at all."""

    pool: AnswerPool
    no_code: tuple[str, ...]
    no_code_rate: float

    def pick(self, correct: bool, rng: random.Random) -> str:
        if not correct and (not self.pool.wrong or rng.random() < self.no_code_rate):
            return self.no_code[int(rng.random() * len(self.no_code))]
        if correct and self.pool.correct:
            return self.pool.pick_correct(rng)
        return self.pool.pick_wrong(rng) if self.pool.wrong else self.no_code[0]


class OutputsByProblem:
    """Each problem's SimulatedOutputs, built on first use and kept (building mutates and parses code)."""

    def __init__(self, build: Callable[[Problem], SimulatedOutputs]) -> None:
        self._build = build
        self._by_id: dict[str, SimulatedOutputs] = {}

    def __call__(self, problem: Problem, correct: bool, rng: random.Random) -> str:
        outputs = self._by_id.get(problem.id)
        if outputs is None:
            outputs = self._by_id[problem.id] = self._build(problem)
        return outputs.pick(correct, rng)


def build_outputs(task: str, problem_id: str, correct_programs: list[str], wrong_programs: list[str],
                  frame: Callable[[str, random.Random], str], no_code: tuple[str, ...],
                  no_code_rate: float = 0.04) -> SimulatedOutputs:
    """Frames every program up front (`frame` turns a program into output text: fenced, as a
    completion, ...), so picking an output is a table look-up."""
    rng = random.Random(stable_seed(task, "frames", problem_id))
    correct = [frame(program, rng) for program in correct_programs for _ in range(3)]
    wrong = [frame(program, rng) for program in wrong_programs]
    return SimulatedOutputs(AnswerPool.build(correct, wrong), no_code, no_code_rate)


def noisy(program: str, rng: random.Random) -> str:
    """Formatting-only changes a model makes; they must not change the key, so nothing
    touches a line (a line may sit inside a multi-line string)."""
    roll = rng.random()
    if roll < 0.6:
        return program
    if roll < 0.8:
        return program.rstrip("\n") + "\n\n\n"
    return program.rstrip("\n") + "\n# done\n"
