"""How coverage scales and how far it can be extrapolated.

- `fit_power_law`: the Large Language Monkeys scaling fit, log C(k) = a * k^b (a, b < 0).
- `fit_beta_binomial`, `extrapolate`, `extrapolation_check`: per-problem success chances
  modelled as Beta(alpha, beta); coverage at any k is then E[1 - (1 - p)^k].

Inputs are per-problem counts (n, c) or per-attempt outcome lists.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit, minimize
from scipy.special import betaln, digamma, gammaln

from harness.report.bands import coverage_curve
from harness.report.passk import Counts, k_grid

# Beta parameters are searched in log space inside these bounds: an MLE that runs off to 0 or
# infinity (every problem unsolved, or every problem alike) stops here and says so.
_LOG_PARAM_BOUNDS = (np.log(1e-4), np.log(1e5))


class FitError(ValueError):
    """The data cannot support the fit (too few usable points); the message says why."""


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
