"""Simulated outputs of the few-shot math tasks (GSM8K, MATH): two reasoning lines, then an answer.

A `FewShotOutputs` subclass supplies what differs per task: its reasoning lines, the outputs
that never reach an answer, the answer pool of a problem, and how an output ends.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod

from harness.records import Problem
from harness.simulated.answers import AnswerPool

WRONG_ANSWERS_RANGE = (8, 120)  # distinct wrong answers per simulated problem (a long tail)


class FewShotOutputs(ABC):
    """The output maker of a few-shot math task; keeps each problem's answer pool."""

    reasoning_lines: tuple[str, ...]  # simulated outputs draw two of these
    unfinished_outputs: tuple[str, ...]  # simulated outputs that never reach an answer
    no_marker_rate = 0.04  # share of wrong simulated outputs that never reach an answer

    def __init__(self) -> None:
        self._answer_pools: dict[tuple[str, str | None], AnswerPool] = {}

    @abstractmethod
    def _new_answer_pool(self, problem: Problem) -> AnswerPool:
        """Right and wrong answers that simulated outputs pick from."""

    @abstractmethod
    def _conclusion(self, answer: str, rng: random.Random) -> str:
        """What follows the reasoning lines of a simulated output, separator included."""

    def __call__(self, problem: Problem, correct: bool, rng: random.Random) -> str:
        """A plausible output; correct ones carry the gold in one of its accepted spellings."""
        pool = self._answer_pool(problem)
        if not correct and rng.random() < self.no_marker_rate:
            return self.unfinished_outputs[int(rng.random() * len(self.unfinished_outputs))]
        answer = pool.pick_correct(rng) if correct else pool.pick_wrong(rng)
        lines = self.reasoning_lines
        first = int(rng.random() * len(lines))
        second = (first + 1 + int(rng.random() * (len(lines) - 1))) % len(lines)
        return f"{lines[first]}\n{lines[second]}{self._conclusion(answer, rng)}"

    def _answer_pool(self, problem: Problem) -> AnswerPool:
        # Pools are costly to build and a run simulates many outputs per problem.
        cache_key = (problem.id, problem.answer)
        pool = self._answer_pools.get(cache_key)
        if pool is None:
            pool = self._answer_pools[cache_key] = self._new_answer_pool(problem)
        return pool
