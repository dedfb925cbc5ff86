"""Simulated MATH outputs: reasoning lines, then the Minerva answer line or a \\boxed{} answer.

Right answers come in spellings the verifier must judge equal (\\frac{3}{4}, \\dfrac34, 3/4,
0.75); wrong ones are nearby numbers, or a non-numeric gold with its first integer changed.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction

from harness.problems.answers import numeric_value
from harness.problems.math import final_answer_line
from harness.records import Problem
from harness.simulated.answers import (
    AnswerPool,
    format_latex_number,
    format_plain_number,
    numeric_distractors,
    stable_seed,
)
from harness.simulated.fewshot import WRONG_ANSWERS_RANGE, FewShotOutputs

# An integer whose change changes the value: not a digit of a brace-less \frac34 (-> \frac68
# is equal), not part of a decimal, not under a factorial (math-verify compares 1/2004! and
# 14/2004! only to a few digits, so both look like 0).
_PERTURBABLE_INTEGER = re.compile(r"(?<![\d.])(?<!frac)(?<!frac )\d+(?![\d!])")
_LETTER_CHOICE = re.compile(r"(\\text\{)?\(?([A-E])\)?(\})?")

_REASONING_LINES = (
    "We begin by writing down what the problem gives us.",
    "Rewriting the expression in a simpler form makes the structure clearer.",
    "Collecting like terms and simplifying, we reach the result.",
    "We check the result against the conditions stated in the problem.",
    "Using the standard identity here avoids a long computation.",
    "Substituting back confirms that the value satisfies the equation.",
)
_UNFINISHED_OUTPUTS = (
    "We begin by writing down what the problem gives us.\nNow we consider the cases where",
    "I am not sure how to approach this problem; perhaps a substitution would help, but",
    "Let us try a different method. Suppose that",
)


class MathOutputs(FewShotOutputs):
    reasoning_lines = _REASONING_LINES
    unfinished_outputs = _UNFINISHED_OUTPUTS

    def _new_answer_pool(self, problem: Problem) -> AnswerPool:
        return build_answer_pool(problem)

    def _conclusion(self, answer: str, rng: random.Random) -> str:
        # Mostly the Minerva line; sometimes only a \boxed{}, which extraction also accepts.
        if rng.random() < 0.8:
            return f"\n{final_answer_line(answer)}"
        return f" Therefore, the answer is $\\boxed{{{answer}}}$."


def numeric_spellings(value: Fraction) -> list[str]:
    """Equal spellings of a number: \\frac{3}{4}, \\dfrac34, 3/4, 0.75; 1000, 1,000, 1000.0."""
    if value.denominator == 1:
        forms = [str(value.numerator), str(value.numerator), f"{value.numerator}.0"]
        if abs(value) >= 1000:
            forms += [f"{value.numerator:,}", f"{value.numerator:,}".replace(",", "{,}")]
        return forms
    latex = format_latex_number(value)
    sign, p, q = ("-" if value < 0 else ""), abs(value.numerator), value.denominator
    forms = [latex, latex, latex.replace("\\frac", "\\dfrac"), f"{sign}{p}/{q}", f"\\frac{{{value.numerator}}}{{{q}}}"]
    if p < 10 and q < 10:
        forms.append(f"{sign}\\dfrac{p}{q}")
    plain = format_plain_number(value)
    if "/" not in plain:
        forms.append(plain)
    return forms


_SINGLE_FRACTION = re.compile(r"\\[dt]?frac\{((?:[^{}]|\{[^{}]*\})+)\}\{(\d+)\}")


def symbolic_spellings(gold: str) -> list[str]:
    """Equal spellings of a non-numeric gold (spacing, \\dfrac, \\left( \\right), a/b)."""
    forms = [gold, gold]
    if "\\frac" in gold:
        forms.append(gold.replace("\\frac", "\\dfrac"))
    if "," in gold:
        forms.append(gold.replace(", ", ",") if ", " in gold else gold.replace(",", ", "))
    if gold.startswith("(") and gold.endswith(")") and "\\left" not in gold:
        forms.append(f"\\left({gold[1:-1]}\\right)")
    single = _SINGLE_FRACTION.fullmatch(gold)
    if single:  # \frac{\sqrt{21}}{5} -> (\sqrt{21})/5, which math-verify must judge
        forms.append(f"({single.group(1)})/{single.group(2)}")
    return forms


def symbolic_distractors(gold: str, seed: int, count: int) -> list[str]:
    """Wrong answers for a non-numeric gold: its first integer changed, or other choices.

    The first integer is usually the value itself (15 in "15\\mbox{ cm}^2", 4343 in "4343_6");
    later ones are often unit exponents or bases, which math-verify ignores.
    """
    rng = random.Random(seed)
    choice = _LETTER_CHOICE.fullmatch(gold)
    if choice:
        return [gold.replace(choice.group(2), letter, 1) for letter in "ABCDE" if letter != choice.group(2)]
    integers = [] if "!" in gold else list(_PERTURBABLE_INTEGER.finditer(gold))
    if not integers:  # nothing safe to perturb: plain numbers are wrong for sure
        return [str(n) for n in rng.sample(range(0, 200), min(count, 200))]
    first = integers[0]
    value = int(first.group(0))
    replacements = [value + 1, value - 1, value * 2, value + 2, value + 10]
    replacements += [rng.randint(1, max(20, 3 * value)) for _ in range(count * 3)]
    wrong: list[str] = []
    for replacement in replacements:
        text = f"{gold[: first.start()]}{replacement}{gold[first.end():]}"
        # 0 can make a degenerate expression (\frac{\pi}{0}) that math-verify mishandles.
        if replacement > 0 and replacement != value and text not in wrong:
            wrong.append(text)
        if len(wrong) >= count:
            break
    return wrong


def build_answer_pool(problem: Problem) -> AnswerPool:
    seed = stable_seed("math", problem.id)
    gold = problem.answer or ""
    count = random.Random(seed).randint(*WRONG_ANSWERS_RANGE)
    value = numeric_value(gold)
    if value is None:
        return AnswerPool.build(symbolic_spellings(gold), symbolic_distractors(gold, seed, count))
    spelling_rng = random.Random(seed + 1)
    wrong = [spelling_rng.choice(numeric_spellings(v)) for v in numeric_distractors(value, seed, count)]
    return AnswerPool.build(numeric_spellings(value), wrong)
