"""Selection without a verifier against k: how much of coverage majority vote (and, with
reward-model scores, best of k and score-weighted vote) keeps, over random k-subsets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from scipy.special import gammaln

from harness.report.bands import BLOCK, coverage_curve
from harness.report.passk import k_grid

# (class key or None, passed, score or None): one attempt as selection sees it.
SelectionAttempt: TypeAlias = tuple[str | None, bool, float | None]


@dataclass(frozen=True)
class _Encoded:
    """One problem's attempts as arrays: class codes (-1: no vote), class correctness, scores."""

    codes: np.ndarray
    class_correct: np.ndarray
    passed: np.ndarray
    scores: np.ndarray  # NaN where an attempt has no score

    @property
    def voters_scored(self) -> bool:
        return not np.isnan(self.scores[self.codes >= 0]).any()


def _encode(attempts: Sequence[SelectionAttempt]) -> _Encoded:
    index: dict[str, int] = {}
    codes = np.array([-1 if key is None else index.setdefault(key, len(index)) for key, _, _ in attempts],
                     dtype=np.int64)
    passed = np.array([bool(p) for _, p, _ in attempts], dtype=bool)
    scores = np.array([np.nan if s is None else float(s) for _, _, s in attempts], dtype=np.float64)
    # A class is correct when its attempts passed (producers give correct answers one class).
    class_correct = np.zeros(len(index), dtype=bool)
    class_correct[codes[passed & (codes >= 0)]] = True
    return _Encoded(codes=codes, class_correct=class_correct, passed=passed, scores=scores)


def _random_prefixes(n: int, ks: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Attempt indices at the first max(ks) places of `size` random orders, and each place's k-bucket.

    A prefix of a random order is a uniform k-subset, so one shuffle serves every k; place t
    falls in bucket j = #(ks <= t) and counts toward every k > t.
    """
    kmax = int(ks[-1])
    order = rng.permuted(np.broadcast_to(np.arange(n), (size, n)), axis=1)[:, :kmax]
    return order, np.searchsorted(ks, np.arange(kmax), side="right")


def _slots(codes: np.ndarray, order: np.ndarray, bucket: np.ndarray, n_classes: int, k_count: int) -> np.ndarray:
    """Flat (subset, class, k-bucket) slot of every drawn attempt, for np.bincount."""
    return ((np.arange(order.shape[0])[:, None] * n_classes + codes[order]) * k_count + bucket).ravel()


def _class_totals(slots: np.ndarray, weights: np.ndarray | None, size: int, n_classes: int,
                  k_count: int) -> np.ndarray:
    """Per subset, class and k: the count (or weight sum) of the class in the k-prefix."""
    totals = np.bincount(slots, weights=weights, minlength=size * n_classes * k_count)
    return totals.reshape(size, n_classes, k_count).cumsum(axis=2)


def _majority_codes(enc: _Encoded) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes with wrong one-off answers pooled: (codes, correct mask of kept classes, kept count).

    A class seen once in the whole problem has count 0 or 1 in any subset, so wrong singletons
    only matter as a number (they tie when the top count is 1). Pooling them keeps the class
    axis small when nearly every sample is distinct (code), which keeps the work near O(n).
    Codes: kept classes 0..kept-1, the pool kept, no vote kept+1.
    """
    sizes = np.bincount(enc.codes[enc.codes >= 0], minlength=enc.class_correct.size)
    keep = (sizes > 1) | enc.class_correct
    kept = int(keep.sum())
    new_id = np.append(np.where(keep, np.cumsum(keep) - 1, kept), kept + 1)
    codes = new_id[enc.codes]  # code -1 picks the appended "no vote" id
    return codes, enc.class_correct[keep], kept


def _share_of_correct_winners(at_top: np.ndarray, extra_winners: np.ndarray | int, correct: np.ndarray) -> np.ndarray:
    """Sum over subsets of (correct winners / winners) at each k: ties split evenly, no winner scores 0."""
    winners = at_top.sum(axis=1) + extra_winners
    right = (at_top & correct[None, :, None]).sum(axis=1)
    return np.where(winners > 0, right / np.maximum(winners, 1), 0.0).sum(axis=0)


def _majority_sum(totals: np.ndarray, correct: np.ndarray, kept: int) -> np.ndarray:
    counts, pooled = totals[:, :kept], totals[:, kept]
    top = np.maximum(counts.max(axis=1, initial=0), (pooled > 0).astype(np.float64))  # (subsets, ks)
    at_top = (counts == top[:, None, :]) & (top[:, None, :] > 0)
    return _share_of_correct_winners(at_top, np.where(top == 1, pooled, 0), correct)


def _weighted_sum(sums: np.ndarray, counts: np.ndarray, correct: np.ndarray) -> np.ndarray:
    present = counts > 0
    top = np.where(present, sums, -np.inf).max(axis=1, initial=-np.inf)[:, None, :]
    # Float sums of equal score sets can differ in the last bits: compare with a tolerance.
    at_top = present & (sums >= top - 1e-9 * np.maximum(np.abs(top), 1.0))
    return _share_of_correct_winners(at_top, 0, correct)


def _problem_selection(enc: _Encoded, ks: np.ndarray, n_subsets: int, rng: np.random.Generator,
                       scored: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Majority and (when scored) score-weighted vote accuracy at each k, on the same subsets."""
    codes, correct, kept = _majority_codes(enc)
    n_classes = enc.class_correct.size + 1  # weighted vote: every class, plus "no vote"
    vote_codes = np.where(enc.codes >= 0, enc.codes, n_classes - 1)
    weights = np.where(enc.codes >= 0, np.nan_to_num(enc.scores), 0.0)
    widest = n_classes if scored else kept + 2
    per_chunk = max(1, BLOCK // (widest * ks.size))
    majority, weighted = np.zeros(ks.size), np.zeros(ks.size)
    for start in range(0, n_subsets, per_chunk):
        size = min(per_chunk, n_subsets - start)
        order, bucket = _random_prefixes(enc.codes.size, ks, size, rng)
        slots = _slots(codes, order, bucket, kept + 2, ks.size)
        majority += _majority_sum(_class_totals(slots, None, size, kept + 2, ks.size), correct, kept)
        if scored:
            slots = _slots(vote_codes, order, bucket, n_classes, ks.size)
            sums = _class_totals(slots, weights[order].ravel(), size, n_classes, ks.size)[:, :-1]
            counts = _class_totals(slots, None, size, n_classes, ks.size)[:, :-1]
            weighted += _weighted_sum(sums, counts, enc.class_correct)
    return majority / n_subsets, (weighted / n_subsets if scored else None)


def best_of_k(passed: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray,
              ks: Sequence[int] | np.ndarray) -> np.ndarray:
    """Exact expected correctness of picking the top-scored attempt of a random k-subset.

    Ranked best first, rank r is the subset's best with chance C(n-1-r, k-1) / C(n, k); ties
    in score are split evenly, and attempts without a score are never picked over scored ones.
    """
    passed, scores = np.asarray(passed, dtype=bool), np.asarray(scores, dtype=np.float64)
    ks = np.asarray(ks, dtype=np.int64)
    n = passed.size
    scored = ~np.isnan(scores)
    rank_key = -np.where(scored, scores, -np.inf)  # ascending: best first, unscored last
    value = np.where(scored, passed, False).astype(np.float64)
    _, group, sizes = np.unique(rank_key, return_inverse=True, return_counts=True)
    # Tied attempts share their mean; np.unique's groups come sorted, so this is the ranked order.
    value = np.repeat(np.bincount(group, weights=value) / sizes, sizes)
    r = np.arange(n)[None, :].astype(np.float64)
    k = ks[:, None].astype(np.float64)
    valid = r <= n - k
    rest = np.where(valid, n - r - k, 0.0)
    log_w = gammaln(n - r) - gammaln(k) - gammaln(rest + 1) - (gammaln(n + 1.0) - gammaln(k + 1) - gammaln(n - k + 1))
    return np.where(valid, np.exp(np.where(valid, log_w, 0.0)), 0.0) @ value


@dataclass(frozen=True)
class SelectionCurve:
    ks: list[int]
    coverage: list[float]  # pass@k: what a perfect verifier would get
    majority_vote: list[float]
    best_of_k: list[float] | None  # reward model best-of-k (exact); None without scores
    weighted_vote: list[float] | None  # score-weighted majority vote; None without scores
    n_subsets: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_selection_input(problems: Sequence[Sequence[SelectionAttempt]], ks: Sequence[int] | None) -> np.ndarray:
    if not problems or any(len(p) == 0 for p in problems):
        raise ValueError("selection_curve needs at least one problem, each with attempts")
    n_min = min(len(p) for p in problems)
    ks_arr = np.unique(np.asarray(ks if ks is not None else k_grid(n_min), dtype=np.int64))
    if ks_arr.size == 0 or ks_arr[0] < 1 or ks_arr[-1] > n_min:
        raise ValueError(f"selection_curve needs 1 <= k <= smallest n ({n_min}), got ks={ks_arr.tolist()}")
    return ks_arr


def selection_curve(problems: Sequence[Sequence[SelectionAttempt]], ks: Sequence[int] | None = None,
                    n_subsets: int = 100, seed: int = 0, weighted_vote: bool = True) -> SelectionCurve:
    """Selection without a verifier against k, averaged over n_subsets random k-subsets per
    problem and k (seeded per problem). Scored methods appear when every voting attempt of
    every problem has a score; score-weighted vote (unless weighted_vote=False) needs scores >= 0."""
    ks_arr = _check_selection_input(problems, ks)
    encoded = [_encode(p) for p in problems]
    scored = all(e.voters_scored for e in encoded)
    weigh = scored and weighted_vote
    if weigh and any((e.scores[~np.isnan(e.scores)] < 0).any() for e in encoded):
        raise ValueError("score-weighted vote needs scores >= 0 (use probabilities, not logits)")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(encoded))]
    results = [_problem_selection(e, ks_arr, n_subsets, g, weigh) for e, g in zip(encoded, rngs)]
    majority = np.mean([m for m, _ in results], axis=0)
    coverage = coverage_curve([e.passed.size for e in encoded], [int(e.passed.sum()) for e in encoded], ks_arr)
    best = weighted = None
    if scored:
        best = np.mean([best_of_k(e.passed, e.scores, ks_arr) for e in encoded], axis=0).tolist()
    if weigh:
        weighted = np.mean([w for _, w in results], axis=0).tolist()
    return SelectionCurve(ks=ks_arr.tolist(), coverage=coverage.tolist(), majority_vote=majority.tolist(),
                          best_of_k=best, weighted_vote=weighted, n_subsets=n_subsets, seed=seed)
