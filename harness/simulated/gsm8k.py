"""Simulated GSM8K outputs: digit-free reasoning, then the answer after '####' (mostly) or in words."""

from __future__ import annotations

import random
from fractions import Fraction

from harness.problems.answers import numeric_value
from harness.problems.gsm8k import ANSWER_MARKER
from harness.records import Problem
from harness.simulated.answers import AnswerPool, format_plain_number, numeric_distractors, stable_seed
from harness.simulated.fewshot import WRONG_ANSWERS_RANGE, FewShotOutputs

# Digit-free reasoning so an output without a marker has no number to extract.
_REASONING_LINES = (
    "Let's work through the problem step by step.",
    "First, find the quantities the question gives us.",
    "Next, combine them in the order the story describes.",
    "We keep track of what is added and what is taken away.",
    "Checking the units, the result is in the units the question asks for.",
    "Putting the pieces together gives the total.",
)
_UNFINISHED_OUTPUTS = (
    "Let's work through the problem step by step.\nFirst, we need to figure out how many",
    "I am not sure which quantity the question is asking about.",
    "The problem does not say enough to decide; it depends on the",
)


class GSM8KOutputs(FewShotOutputs):
    reasoning_lines = _REASONING_LINES
    unfinished_outputs = _UNFINISHED_OUTPUTS

    def _new_answer_pool(self, problem: Problem) -> AnswerPool:
        return build_answer_pool(problem)

    def _conclusion(self, answer: str, rng: random.Random) -> str:
        return f"\n{_answer_line(answer, rng)}"


def _answer_line(answer: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.75:
        return f"{ANSWER_MARKER} {answer}"
    if roll < 0.9:
        return f"The answer is {answer}."
    return f"So the final result is \\boxed{{{answer}}}."


def _spellings(value: Fraction) -> list[str]:
    """Ways a model writes a number that extraction + normalization map to the same key."""
    plain = format_plain_number(value)
    forms = [plain, plain, f"${plain}", f"{plain} dollars"]
    if value.denominator == 1:
        forms.append(f"{plain}.00")
        if abs(value) >= 1000:
            forms.append(f"{value.numerator:,}")
    return forms


def build_answer_pool(problem: Problem) -> AnswerPool:
    seed = stable_seed("gsm8k", problem.id)
    gold = numeric_value(problem.answer or "")
    if gold is None:  # a non-numeric gold cannot come from GSM8K; answer it as written
        return AnswerPool.build([problem.answer or ""], ["0", "1", "2"])
    count = random.Random(seed).randint(*WRONG_ANSWERS_RANGE)
    wrong_values = numeric_distractors(gold, seed, count)
    spelling_rng = random.Random(seed + 1)
    wrong = [spelling_rng.choice(_spellings(value)) for value in wrong_values]
    return AnswerPool.build(_spellings(gold), wrong)
