"""Selection without a verifier against k, against brute-force enumeration of subsets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from harness.report.passk import mean_pass_at_ks
from harness.report.selection_curve import best_of_k, selection_curve
from harness.select import majority_vote


def attempts(spec: str, scores: list[float] | None = None) -> list[tuple[str | None, bool, float | None]]:
    """'AAb.' -> upper case: a correct class; lower case: a wrong class; '.': no answer."""
    out = []
    for i, ch in enumerate(spec):
        key = None if ch == "." else ch.lower()
        out.append((key, ch.isupper(), None if scores is None else scores[i]))
    return out


def brute_force(problem: list[tuple[str | None, bool, float | None]], k: int) -> tuple[float, float, float]:
    """Majority, best-of-k and score-weighted vote averaged over every k-subset."""
    correct = next((key for key, ok, _ in problem if ok), None)
    totals = np.zeros(3)
    subsets = list(itertools.combinations(problem, k))
    for subset in subsets:
        totals[0] += majority_vote([key for key, _, _ in subset], correct)
        if subset[0][2] is not None:
            top = max(s for _, _, s in subset)
            best = [ok for _, ok, s in subset if s == top]
            totals[1] += sum(best) / len(best)
            sums: dict[str, float] = {}
            for key, _, s in subset:
                if key is not None:
                    sums[key] = sums.get(key, 0.0) + float(s)
            if sums:
                winners = [key for key, v in sums.items() if np.isclose(v, max(sums.values()))]
                totals[2] += (correct in winners) / len(winners)
    return tuple(totals / len(subsets))  # type: ignore[return-value]


def test_selection_all_correct_and_all_wrong() -> None:
    curve = selection_curve([attempts("AAAA"), attempts("abcd"), attempts("....")], ks=[1, 2, 4])
    assert curve.majority_vote == pytest.approx([1 / 3] * 3)
    assert curve.coverage == pytest.approx([1 / 3] * 3)
    assert curve.best_of_k is None and curve.weighted_vote is None


def test_selection_tie_at_full_k_splits_evenly() -> None:
    curve = selection_curve([attempts("AAbb"), attempts("Abc."), attempts("Abbb")], ks=[4])
    # Tie A/b -> 1/2; three singletons -> 1/3; b outvotes A -> 0.
    assert curve.majority_vote == pytest.approx([(0.5 + 1 / 3 + 0) / 3])


def test_selection_at_full_k_equals_harness_majority_vote() -> None:
    rng = np.random.default_rng(4)
    problems = ["".join(rng.choice(list("AbcddE."), size=12)) for _ in range(30)]
    problems = [p.replace("E", "A") for p in problems]
    curve = selection_curve([attempts(p) for p in problems], ks=[12])
    expected = np.mean([majority_vote([None if c == "." else c.lower() for c in p], "a") for p in problems])
    assert curve.majority_vote[0] == pytest.approx(expected)


def test_selection_matches_subset_enumeration() -> None:
    scores = [0.9, 0.2, 0.8, 0.5, 0.7, 0.3, 0.3]
    problem = attempts("AAbbc.A", scores)
    curve = selection_curve([problem], ks=[1, 2, 3, 5, 7], n_subsets=40_000, seed=3)
    for i, k in enumerate(curve.ks):
        majority, best, weighted = brute_force(problem, k)
        assert curve.majority_vote[i] == pytest.approx(majority, abs=0.01)
        assert curve.best_of_k[i] == pytest.approx(best, abs=1e-12)  # exact, not sampled
        assert curve.weighted_vote[i] == pytest.approx(weighted, abs=0.01)


def test_selection_with_mostly_distinct_answers_pools_singletons_correctly() -> None:
    problem = attempts("Abcdefgh" + "ii")
    curve = selection_curve([problem], ks=[1, 3, 10], n_subsets=40_000, seed=5)
    for i, k in enumerate(curve.ks):
        assert curve.majority_vote[i] == pytest.approx(brute_force(problem, k)[0], abs=0.01)


def test_best_of_k_with_scores_equal_to_passed_is_pass_at_k() -> None:
    passed = np.array([True, False, False, True, False, False, False, False])
    ks = np.arange(1, 9)
    assert best_of_k(passed, passed.astype(float), ks) == pytest.approx(
        mean_pass_at_ks([8], [2], list(ks)))


def test_selection_is_reproducible_and_needs_sane_input() -> None:
    problems = [attempts("AAbbcc..AbAb"), attempts("aBBBcd.e")]
    assert selection_curve(problems, seed=9) == selection_curve(problems, seed=9)
    with pytest.raises(ValueError, match="smallest n"):
        selection_curve(problems, ks=[9])
    with pytest.raises(ValueError, match="scores >= 0"):
        selection_curve([attempts("Ab", [0.5, -1.0])])
