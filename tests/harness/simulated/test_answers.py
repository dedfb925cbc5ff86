import random
from fractions import Fraction

import pytest

from harness.simulated.answers import AnswerPool, numeric_distractors, stable_seed


@pytest.mark.parametrize("gold", [Fraction(72), Fraction(0), Fraction(1), Fraction(-3), Fraction(3, 4), Fraction(1000)])
def test_numeric_distractors_are_distinct_and_wrong(gold: Fraction) -> None:
    values = numeric_distractors(gold, seed=7, count=50)
    assert len(values) == 50
    assert len(set(values)) == 50
    assert gold not in values
    assert numeric_distractors(gold, seed=7, count=50) == values  # deterministic


def test_answer_pool_is_zipf_like() -> None:
    pool = AnswerPool.build(["1"], [f"w{i}" for i in range(50)])
    rng = random.Random(0)
    picks = [pool.pick_wrong(rng) for _ in range(20_000)]
    counts = sorted((picks.count(w) for w in set(picks)), reverse=True)
    assert picks.count("w0") == counts[0]
    assert counts[0] > 0.25 * len(picks)  # a popular mistake
    assert len(counts) > 40  # and a long tail


def test_stable_seed_is_stable() -> None:
    assert stable_seed("math", "test/1.json") == stable_seed("math", "test/1.json")
    assert stable_seed("math", "a") != stable_seed("math", "b")
