"""Statistics over a run's outcomes: how sure the coverage curve is, how it scales, how far it
can be extrapolated, and how much of it a verifier-free selector keeps.

- `coverage_curve`, `bootstrap_band`: pass@k and a percentile band from resampling problems.
- `fit_power_law`: the Large Language Monkeys scaling fit, log C(k) = a * k^b (a, b < 0).
- `fit_beta_binomial`, `extrapolate`, `extrapolation_check`: per-problem success chances
  modelled as Beta(alpha, beta); coverage at any k is then E[1 - (1 - p)^k].
- `selection_curve`: majority vote (and reward-model picks) against k, over random k-subsets.
- `report_statistics`, `render_statistics`: all of the above as report.json / report.md sections.

Inputs are per-problem counts (n, c) or per-attempt outcome lists, so every number stays a
function of RunSummary.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit, minimize
from scipy.special import betaln, digamma, gammaln

from harness.report.passk import Counts, k_grid, mean_pass_at_ks, per_problem_pass_at_k

# (class key or None, passed, score or None): one attempt as selection sees it.
SelectionAttempt: TypeAlias = tuple[str | None, bool, float | None]

# Beta parameters are searched in log space inside these bounds: an MLE that runs off to 0 or
# infinity (every problem unsolved, or every problem alike) stops here and says so.
_LOG_PARAM_BOUNDS = (np.log(1e-4), np.log(1e5))
# Largest block (replicates x problems, subsets x classes x ks) built at once: ~16 MB of float64.
_BLOCK = 1 << 21


class FitError(ValueError):
    """The data cannot support the fit (too few usable points); the message says why."""


# ---------------------------------------------------------------- coverage and its band


def coverage_curve(ns: Counts, cs: Counts, ks: Sequence[int]) -> np.ndarray:
    """Mean pass@k over problems at each k (passk's unbiased estimator)."""
    return np.asarray(mean_pass_at_ks(ns, cs, ks), dtype=np.float64)


def per_problem_curves(ns: Counts, cs: Counts, ks: Sequence[int]) -> np.ndarray:
    """pass@k of every problem at every k: shape (problems, len(ks))."""
    columns = [per_problem_pass_at_k(ns, cs, int(k)) for k in ks]
    return np.stack(columns, axis=1) if columns else np.empty((len(ns), 0))


def bootstrap_band(
    ns: Counts, cs: Counts, ks: Sequence[int], n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile band for coverage at each k, resampling problems with replacement.

    Problems are the unit that varies between benchmarks of the same kind; the samples within
    a problem are already averaged exactly by the estimator.
    """
    if n_boot < 1:
        raise ValueError(f"bootstrap_band needs n_boot >= 1, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"bootstrap_band needs 0 < level < 1, got {level}")
    matrix = per_problem_curves(ns, cs, ks)
    problems = matrix.shape[0]
    rng = np.random.default_rng(seed)
    # A resample is a multinomial count per problem, so all replicate means are matrix
    # products; chunks keep the (replicates x problems) count block small.
    chunk = max(1, _BLOCK // max(problems, 1))
    means = np.concatenate([
        rng.multinomial(problems, np.full(problems, 1.0 / problems), size=min(chunk, n_boot - start)) @ matrix
        for start in range(0, n_boot, chunk)
    ]) / problems
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail], axis=0)
    return lo, hi


# ---------------------------------------------------------------- exponentiated power law


@dataclass(frozen=True)
class PowerLawFit:
    """C(k) = exp(a * k^b), fitted by least squares on log C at the ks with C > 0."""

    a: float
    b: float
    r2: float | None  # on log coverage (the fitted quantity); None when log C is constant
    ks: np.ndarray  # the ks the fit used
    coverage: np.ndarray  # observed coverage there
    fitted: np.ndarray  # the fit there
    skipped_zero: int  # ks dropped because coverage was 0 (log undefined)

    @property
    def residuals(self) -> np.ndarray:
        """Observed minus fitted coverage (coverage scale, easier to read than log scale)."""
        return self.coverage - self.fitted

    def predict(self, ks: Sequence[int] | np.ndarray) -> np.ndarray:
        return np.exp(self.a * np.asarray(ks, dtype=np.float64) ** self.b)

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "r2": self.r2, "ks": [int(k) for k in self.ks],
                "fitted": self.fitted.tolist(), "residuals": self.residuals.tolist(),
                "max_abs_residual": float(np.abs(self.residuals).max()),
                "skipped_zero_coverage": self.skipped_zero}


def _log_linear_guess(ks: np.ndarray, log_c: np.ndarray) -> tuple[float, float]:
    """Start values: log(-log C) = log(-a) + b log k is a straight line where 0 < C < 1."""
    inside = log_c < 0
    if inside.sum() >= 2 and np.ptp(np.log(ks[inside])) > 0:
        b, log_neg_a = np.polyfit(np.log(ks[inside]), np.log(-log_c[inside]), 1)
        return -float(np.exp(log_neg_a)), float(b)
    return float(min(log_c.min(), -1e-3)), -0.5


def fit_power_law(ks: Sequence[int] | np.ndarray, coverage: Sequence[float] | np.ndarray) -> PowerLawFit:
    """Fit log C(k) = a k^b with a <= 0, b <= 0 (coverage rising to 1). Raises FitError."""
    ks_arr = np.asarray(ks, dtype=np.float64).reshape(-1)
    cov = np.asarray(coverage, dtype=np.float64).reshape(-1)
    if ks_arr.shape != cov.shape:
        raise ValueError(f"ks and coverage differ in length: {ks_arr.size} != {cov.size}")
    if (ks_arr < 1).any() or (cov < 0).any() or (cov > 1).any():
        raise ValueError("power-law fit needs ks >= 1 and coverage in [0, 1]")
    keep = cov > 0  # log 0 is undefined: coverage 0 says nothing about the curve's shape
    if keep.sum() < 2:
        raise FitError(f"power-law fit needs coverage > 0 at two ks or more, got {int(keep.sum())}")
    k_used, c_used = ks_arr[keep], cov[keep]
    log_c = np.log(c_used)
    if (log_c == 0).all():
        raise FitError("coverage is 1 at every k: the power law's exponent is undetermined")
    a0, b0 = _log_linear_guess(k_used, log_c)
    p0 = (min(a0, -1e-9), min(b0, -1e-9))  # start strictly inside the bounds
    with warnings.catch_warnings():
        # Two points fit exactly and leave no covariance; we report no parameter errors anyway.
        warnings.simplefilter("ignore", OptimizeWarning)
        (a, b), _ = curve_fit(lambda k, a, b: a * k**b, k_used, log_c, p0=p0,
                              bounds=([-np.inf, -np.inf], [0.0, 0.0]), method="trf")
    fitted_log = a * k_used**b
    ss_tot = float(((log_c - log_c.mean()) ** 2).sum())
    r2 = None if ss_tot == 0 else 1.0 - float(((log_c - fitted_log) ** 2).sum()) / ss_tot
    return PowerLawFit(a=float(a), b=float(b), r2=r2, ks=k_used.astype(np.int64), coverage=c_used,
                       fitted=np.exp(fitted_log), skipped_zero=int((~keep).sum()))


# ---------------------------------------------------------------- beta-binomial extrapolation


def beta_coverage(alpha: float, beta: float, ks: Sequence[int] | np.ndarray) -> np.ndarray:
    """E[1 - (1-p)^k] for p ~ Beta(alpha, beta), i.e. 1 - B(alpha, beta + k) / B(alpha, beta)."""
    k = np.asarray(ks, dtype=np.float64)
    # betaln differences stay finite at k = 10^6; -expm1 keeps tiny coverages accurate.
    return -np.expm1(betaln(alpha, beta + k) - betaln(alpha, beta))


@dataclass(frozen=True)
class BetaBinomialFit:
    alpha: float
    beta: float
    log_likelihood: float  # sum of beta-binomial log pmf over problems, constants included
    n_problems: int
    at_bound: bool  # the optimum hit a search bound: the Beta is degenerate, read with care

    @property
    def mean(self) -> float:
        """Mean success chance per attempt: the model's pass@1."""
        return self.alpha / (self.alpha + self.beta)

    def predict(self, ks: Sequence[int] | np.ndarray) -> np.ndarray:
        return beta_coverage(self.alpha, self.beta, ks)

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "beta": self.beta, "mean_p": self.mean,
                "log_likelihood": self.log_likelihood, "n_problems": self.n_problems,
                "at_bound": self.at_bound}


def _neg_log_likelihood(theta: np.ndarray, ns: np.ndarray, cs: np.ndarray) -> tuple[float, np.ndarray]:
    """Beta-binomial NLL (without the binomial constant) and its gradient in (log a, log b)."""
    a, b = np.exp(theta)
    count = ns.size
    ll = betaln(cs + a, ns - cs + b).sum() - count * betaln(a, b)
    common = digamma(ns + a + b).sum() - count * digamma(a + b)
    d_a = digamma(cs + a).sum() - count * digamma(a) - common
    d_b = digamma(ns - cs + b).sum() - count * digamma(b) - common
    return -float(ll), -np.array([d_a * a, d_b * b])  # chain rule for the log parameters


def _moment_start(ns: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """Method-of-moments start on observed rates c/n, clipped to sane values."""
    rates = cs / ns
    m = float(np.clip(rates.mean(), 1e-3, 1 - 1e-3))
    v = float(rates.var())
    strength = float(np.clip(m * (1 - m) / v - 1, 0.05, 1e3)) if v > 0 else 10.0
    return np.log([m * strength, (1 - m) * strength])


def fit_beta_binomial(ns: Counts, cs: Counts) -> BetaBinomialFit:
    """Maximum-likelihood Beta(alpha, beta) for the per-problem success chance, from (n, c)."""
    ns_arr = np.asarray(ns, dtype=np.float64).reshape(-1)
    cs_arr = np.asarray(cs, dtype=np.float64).reshape(-1)
    if ns_arr.shape != cs_arr.shape or ns_arr.size == 0:
        raise ValueError("fit_beta_binomial needs ns and cs of one nonzero length")
    if (ns_arr < 1).any() or (cs_arr < 0).any() or (cs_arr > ns_arr).any():
        raise ValueError("fit_beta_binomial needs n >= 1 and 0 <= c <= n for every problem")
    bounds = [_LOG_PARAM_BOUNDS, _LOG_PARAM_BOUNDS]
    result = minimize(_neg_log_likelihood, _moment_start(ns_arr, cs_arr), args=(ns_arr, cs_arr),
                      jac=True, method="L-BFGS-B", bounds=bounds)
    alpha, beta = np.exp(result.x)
    constant = (gammaln(ns_arr + 1) - gammaln(cs_arr + 1) - gammaln(ns_arr - cs_arr + 1)).sum()
    at_bound = bool(np.any(np.isclose(result.x, _LOG_PARAM_BOUNDS[0]) | np.isclose(result.x, _LOG_PARAM_BOUNDS[1])))
    return BetaBinomialFit(alpha=float(alpha), beta=float(beta), log_likelihood=float(constant - result.fun),
                           n_problems=int(ns_arr.size), at_bound=at_bound)


def extrapolate(ns: Counts, cs: Counts, ks_to_predict: Sequence[int]) -> np.ndarray:
    """Coverage predicted at any k (beyond n too) from the fitted per-problem Beta."""
    return fit_beta_binomial(ns, cs).predict(ks_to_predict)


@dataclass(frozen=True)
class ExtrapolationCheck:
    """Both models fitted on each problem's first m attempts, against the curve from all of them."""

    m: int
    ks: np.ndarray
    observed: np.ndarray  # coverage from every attempt
    beta_binomial: np.ndarray  # predicted from the first m
    power_law: np.ndarray | None  # predicted from the first-m curve; None when it cannot be fitted
    power_law_error: str | None

    def _errors(self, predicted: np.ndarray | None) -> dict[str, Any] | None:
        beyond = self.ks > self.m  # only k > m is a real out-of-sample test
        if predicted is None or not beyond.any():
            return None
        err = predicted[beyond] - self.observed[beyond]
        return {"max_abs_error": float(np.abs(err).max()), "mean_abs_error": float(np.abs(err).mean()),
                "error_at_largest_k": float(err[-1])}

    def to_dict(self) -> dict[str, Any]:
        return {"fit_on_first": self.m, "ks": [int(k) for k in self.ks], "observed": self.observed.tolist(),
                "beta_binomial": self.beta_binomial.tolist(),
                "power_law": None if self.power_law is None else self.power_law.tolist(),
                "power_law_error": self.power_law_error,
                "beta_binomial_errors": self._errors(self.beta_binomial),
                "power_law_errors": self._errors(self.power_law)}


def extrapolation_check(
    outcomes: Sequence[Sequence[bool]] | Sequence[np.ndarray], m: int, ks: Sequence[int] | None = None
) -> ExtrapolationCheck:
    """Fit on the first m attempts of every problem (in index order), predict the curve at ks
    (default: the power-of-two grid up to the smallest n) and set it against what all attempts show."""
    rows = [np.asarray(o, dtype=bool).reshape(-1) for o in outcomes]
    if not rows:
        raise ValueError("extrapolation_check needs at least one problem")
    ns = np.array([r.size for r in rows])
    if not 1 <= m < ns.min():
        raise ValueError(f"extrapolation_check needs 1 <= m < smallest n ({ns.min()}), got m={m}")
    cs = np.array([r.sum() for r in rows])
    cs_m = np.array([r[:m].sum() for r in rows])
    ks_arr = np.asarray(ks if ks is not None else k_grid(int(ns.min())), dtype=np.int64)
    observed = coverage_curve(ns, cs, ks_arr)
    beta_pred = fit_beta_binomial(np.full_like(ns, m), cs_m).predict(ks_arr)
    grid_m = k_grid(m)
    try:
        power = fit_power_law(grid_m, coverage_curve(np.full_like(ns, m), cs_m, grid_m)).predict(ks_arr)
        power_error = None
    except FitError as exc:
        power, power_error = None, str(exc)
    return ExtrapolationCheck(m=m, ks=ks_arr, observed=observed, beta_binomial=beta_pred,
                              power_law=power, power_law_error=power_error)


# ---------------------------------------------------------------- selection without a verifier


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
    per_chunk = max(1, _BLOCK // (widest * ks.size))
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


# ---------------------------------------------------------------- the report's statistics section


def _check_room(n_min: int) -> int | None:
    """Samples to fit on for the honesty check: a power of two near n/8, None when n < 8."""
    return None if n_min < 8 else 1 << int(np.log2(n_min / 8))


def _fits_section(ns: np.ndarray, cs: np.ndarray, ks: list[int], coverage: np.ndarray) -> dict[str, Any]:
    """Both scaling models, each with predictions on the grid and at 10x and 100x the samples."""
    far = [10 * int(ns.min()), 100 * int(ns.min())]
    at = ks + far

    def predictions(values: np.ndarray) -> dict[str, float]:
        return dict(zip(map(str, at), values.tolist()))

    try:
        power_fit = fit_power_law(ks, coverage)
        power: dict[str, Any] = power_fit.to_dict() | {"predicted": predictions(power_fit.predict(at))}
    except FitError as exc:
        power = {"error": str(exc)}
    beta = fit_beta_binomial(ns, cs)
    return {"power_law": power, "beta_binomial": beta.to_dict() | {"predicted": predictions(beta.predict(at))},
            "extrapolated_ks": far}


def report_statistics(problems: Sequence[Any], n_boot: int = 1000, level: float = 0.95,
                      n_subsets: int = 100, seed: int = 0) -> dict[str, Any]:
    """The JSON-able statistics of a report from ProblemOutcome-like objects (`attempts` with
    `passed` and `class_key`); problems without attempts are left out, as build_report does."""
    measured = [p for p in problems if len(p.attempts) > 0]
    if not measured:
        return {}
    outcomes = [np.array([a.passed for a in p.attempts], dtype=bool) for p in measured]
    ns, cs = np.array([o.size for o in outcomes]), np.array([int(o.sum()) for o in outcomes])
    ks = k_grid(int(ns.min()))
    coverage = coverage_curve(ns, cs, ks)
    lo, hi = bootstrap_band(ns, cs, ks, n_boot=n_boot, level=level, seed=seed)
    m = _check_room(int(ns.min()))
    scores = [a.score for p in measured for a in p.attempts if a.score is not None]
    selection = selection_curve([[(a.class_key, a.passed, a.score) for a in p.attempts] for p in measured],
                                ks=ks, n_subsets=n_subsets, seed=seed, weighted_vote=min(scores, default=0.0) >= 0)
    return {
        "coverage_band": {"ks": ks, "lo": lo.tolist(), "hi": hi.tolist(), "level": level,
                          "n_boot": n_boot, "seed": seed, "resampled": "problems"},
        **_fits_section(ns, cs, ks, coverage),
        "extrapolation_check": None if m is None else extrapolation_check(outcomes, m, ks).to_dict(),
        "selection": selection.to_dict() | _score_facts(measured, scores),
    }


def _score_facts(measured: Sequence[Any], scores: list[float]) -> dict[str, Any]:
    """How many attempts carry a reward-model score, and why a scored method may be missing."""
    total = sum(len(p.attempts) for p in measured)
    note = None
    if 0 < len(scores) and any(a.score is None and a.class_key is not None for p in measured for a in p.attempts):
        note = "some answering attempts have no reward-model score: best-of-k and weighted vote left out"
    elif scores and min(scores) < 0:
        note = "reward-model scores below 0: weighted vote left out (it needs scores >= 0, e.g. probabilities)"
    return {"scored_attempts": len(scores), "attempts": total, "scores_note": note}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _fit_lines(stats: dict[str, Any]) -> list[str]:
    power, beta = stats["power_law"], stats["beta_binomial"]
    lines = ["| k | power law | beta-binomial |", "|---:|---:|---:|"]
    for k, value in beta["predicted"].items():
        extrapolated = " (extrapolated)" if int(k) in stats["extrapolated_ks"] else ""
        lines.append(f"| {k}{extrapolated} | {_pct(power.get('predicted', {}).get(k))} | {_pct(value)} |")
    power_text = (f"a = {power['a']:.4f}, b = {power['b']:.4f}, R² (log coverage) = {_pct(power['r2'])}"
                  if "error" not in power else f"not fitted: {power['error']}")
    beta_text = (f"alpha = {beta['alpha']:.4f}, beta = {beta['beta']:.4f}"
                 + (" (**at a search bound: degenerate fit**)" if beta["at_bound"] else ""))
    return [f"- Power law log C(k) = a k^b: {power_text}", f"- Beta-binomial: {beta_text}", ""] + lines + [""]


def _check_lines(check: dict[str, Any] | None) -> list[str]:
    if check is None:
        return ["Too few samples per problem for an extrapolation check.", ""]
    lines = [f"Both models fitted on the first {check['fit_on_first']} samples of every problem, "
             "against the curve from all of them (k beyond the fit only):", ""]
    for name in ("beta_binomial", "power_law"):
        err = check[f"{name}_errors"]
        if err is not None:
            lines.append(f"- {name.replace('_', '-')}: max |error| {err['max_abs_error']:.4f}, "
                         f"at the largest k {err['error_at_largest_k']:+.4f}")
    return lines + [""]


def render_statistics(stats: dict[str, Any], fits_plot: str, selection_plot: str) -> list[str]:
    """report.md lines for report_statistics' section (empty when there is none)."""
    if not stats:
        return []
    band, sel = stats["coverage_band"], stats["selection"]
    lines = ["## Coverage band and scaling fits", "",
             f"{round(100 * band['level'])}% band from {band['n_boot']} resamples of the problems: "
             + ", ".join(f"k={k}: [{lo:.3f}, {hi:.3f}]" for k, lo, hi in zip(band["ks"], band["lo"], band["hi"])),
             ""] + _fit_lines(stats) + _check_lines(stats["extrapolation_check"])
    lines += [f"![coverage with band and fits]({fits_plot})", "",
              f"## Selection without a verifier against k (mean over {sel['n_subsets']} random subsets)", "",
              ] + _selection_table(sel)
    if sel.get("scores_note"):
        lines += ["", f"Reward-model scores on {sel['scored_attempts']} of {sel['attempts']} attempts; {sel['scores_note']}."]
    return lines + ["", f"![selection against coverage]({selection_plot})", ""]


def _selection_table(sel: dict[str, Any]) -> list[str]:
    """Coverage, majority vote and, where there are scores, the reward-model columns, per k."""
    columns = [("coverage", "coverage"), ("majority vote", "majority_vote"),
               ("best of k (RM)", "best_of_k"), ("weighted vote (RM)", "weighted_vote")]
    shown = [(title, key) for title, key in columns if sel.get(key) is not None]
    lines = ["| k | " + " | ".join(title for title, _ in shown) + " |", "|---:|" + "---:|" * len(shown)]
    for i, k in enumerate(sel["ks"]):
        lines.append(f"| {k} | " + " | ".join(f"{sel[key][i]:.4f}" for _, key in shown) + " |")
    return lines
