"""Plausible answers for the simulated model: the gold in several equivalent spellings, and
wrong answers that repeat the way real ones do (a few popular mistakes and a long tail).
Everything here is deterministic from the problem id.
"""

from __future__ import annotations

import random
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate

ZIPF_EXPONENT = 1.3


def stable_seed(*parts: str) -> int:
    """A seed that, unlike hash(), is the same in every process."""
    return zlib.crc32("\x1f".join(parts).encode())


def zipf_cumulative_weights(count: int, exponent: float = ZIPF_EXPONENT) -> tuple[float, ...]:
    return tuple(accumulate(1.0 / rank**exponent for rank in range(1, count + 1)))


@dataclass(frozen=True)
class AnswerPool:
    """One problem's simulated answers: forms of the gold, and Zipf-weighted wrong answers."""

    correct: tuple[str, ...]
    wrong: tuple[str, ...]
    cumulative_weights: tuple[float, ...]

    @classmethod
    def build(cls, correct: list[str], wrong: list[str]) -> AnswerPool:
        return cls(tuple(correct), tuple(wrong), zipf_cumulative_weights(len(wrong)))

    def pick_correct(self, rng: random.Random) -> str:
        return self.correct[int(rng.random() * len(self.correct))]

    def pick_wrong(self, rng: random.Random) -> str:
        point = rng.random() * self.cumulative_weights[-1]
        return self.wrong[min(bisect_right(self.cumulative_weights, point), len(self.wrong) - 1)]


def _digit_swaps(value: int) -> list[int]:
    digits = str(abs(value))
    swaps = []
    for i in range(len(digits) - 1):
        swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        if swapped != digits and not swapped.startswith("0"):
            swaps.append(int(swapped) * (-1 if value < 0 else 1))
    return swaps


def _structured_mistakes(gold: Fraction) -> list[Fraction]:
    """Slips a solver makes: off by one, doubled, halved, digits swapped, inverted."""
    mistakes = [gold + 1, gold - 1, gold * 2, gold / 2, gold + 10, gold - 10, gold * 10, -gold]
    if gold.denominator == 1:
        mistakes[4:4] = [Fraction(v) for v in _digit_swaps(gold.numerator)]
    elif gold != 0:
        mistakes[1:1] = [1 / gold, Fraction(gold.numerator + 1, gold.denominator)]
    return mistakes


def numeric_distractors(gold: Fraction, seed: int, count: int) -> list[Fraction]:
    """`count` distinct wrong values, most plausible first; never equal to gold."""
    rng = random.Random(seed)
    allow_negative = gold < 0
    spread = max(2 * count, int(abs(gold)))  # room for `count` values even near 0
    chosen: list[Fraction] = []
    seen = {gold}
    candidates = iter(_structured_mistakes(gold))
    for _ in range(count * 20):  # bounded: tiny golds have few distinct neighbours
        if len(chosen) >= count:
            break
        value = next(candidates, None)
        if value is None:
            value = gold + Fraction(rng.randint(-spread, spread), gold.denominator)
        if value in seen or (value < 0 and not allow_negative):
            continue
        seen.add(value)
        chosen.append(value)
    return chosen


def format_plain_number(value: Fraction) -> str:
    """72, 0.75 (terminating decimals) or 1/3."""
    if value.denominator == 1:
        return str(value.numerator)
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator == 1 and value.denominator <= 10_000:
        return f"{float(value):.10f}".rstrip("0").rstrip(".")
    return f"{value.numerator}/{value.denominator}"


def format_latex_number(value: Fraction) -> str:
    """72 or \\frac{3}{4} (with a leading minus)."""
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"
