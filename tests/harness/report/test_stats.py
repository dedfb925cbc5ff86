"""Report statistics against known answers: simulated data with known parameters, brute-force
enumeration of subsets, and Monte Carlo."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import betabinom

from harness.report.passk import k_grid, mean_pass_at_ks
from harness.report.stats import (
    FitError,
    beta_coverage,
    best_of_k,
    bootstrap_band,
    coverage_curve,
    extrapolate,
    extrapolation_check,
    fit_beta_binomial,
    fit_power_law,
    selection_curve,
)
from harness.select import majority_vote


def beta_problems(count: int, n: int, alpha: float, beta: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.full(count, n), rng.binomial(n, rng.beta(alpha, beta, size=count))


# ---------------------------------------------------------------- coverage and bootstrap


def test_coverage_curve_is_mean_pass_at_k() -> None:
    ns, cs = beta_problems(50, 64, 0.5, 2.0, seed=1)
    ks = k_grid(64)
    assert coverage_curve(ns, cs, ks) == pytest.approx(mean_pass_at_ks(ns, cs, ks))


def test_bootstrap_band_contains_the_estimate_and_shrinks_with_more_problems() -> None:
    ks = k_grid(128)
    widths = []
    for count in (50, 800):
        ns, cs = beta_problems(count, 128, 0.4, 3.0, seed=2)
        point = coverage_curve(ns, cs, ks)
        lo, hi = bootstrap_band(ns, cs, ks, n_boot=1000, seed=0)
        assert (lo <= point + 1e-12).all() and (point <= hi + 1e-12).all()
        assert (lo >= 0).all() and (hi <= 1).all()
        widths.append(hi - lo)
    # Width falls like 1/sqrt(problems): 16x the problems, about a quarter of the width.
    assert (widths[1] < 0.5 * widths[0]).all()


def test_bootstrap_band_is_seeded_and_degenerate_when_problems_agree() -> None:
    ns, cs = beta_problems(40, 32, 1.0, 1.0, seed=3)
    first = bootstrap_band(ns, cs, [1, 8], n_boot=200, seed=7)
    again = bootstrap_band(ns, cs, [1, 8], n_boot=200, seed=7)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    lo, hi = bootstrap_band([10] * 5, [3] * 5, [1, 2], n_boot=50)
    assert lo == pytest.approx(hi) and lo == pytest.approx(coverage_curve([10] * 5, [3] * 5, [1, 2]))


def test_bootstrap_band_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="level"):
        bootstrap_band([4], [1], [1], level=1.0)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_band([4], [1], [1], n_boot=0)


# ---------------------------------------------------------------- power law


def test_power_law_recovers_parameters_from_a_noisy_curve() -> None:
    a, b = -2.3, -0.4
    ks = np.array(k_grid(10_000))
    rng = np.random.default_rng(0)
    noisy = np.exp(a * ks.astype(float) ** b) * (1 + rng.normal(0, 0.005, ks.size))
    fit = fit_power_law(ks, np.clip(noisy, 0, 1))
    assert fit.a == pytest.approx(a, rel=0.05) and fit.b == pytest.approx(b, rel=0.05)
    assert fit.r2 is not None and fit.r2 > 0.99
    assert np.abs(fit.residuals).max() < 0.03
    assert fit.predict([1])[0] == pytest.approx(np.exp(fit.a))


def test_power_law_is_exact_on_an_exact_curve() -> None:
    ks = np.arange(1, 200)
    fit = fit_power_law(ks, np.exp(-1.5 * ks**-0.7))
    assert (fit.a, fit.b) == pytest.approx((-1.5, -0.7), rel=1e-5)


def test_power_law_skips_zero_coverage_and_keeps_coverage_one() -> None:
    ks = [1, 2, 4, 8, 16, 32]
    coverage = [0.0, 0.0, *np.exp(-1.0 * np.array([4, 8, 16], dtype=float) ** -0.5), 1.0]
    fit = fit_power_law(ks, coverage)
    assert fit.skipped_zero == 2 and list(fit.ks) == [4, 8, 16, 32]
    assert fit.a < 0 and fit.b < 0


@pytest.mark.parametrize("coverage, message", [
    ([0.0, 0.0, 0.3], "two ks"),
    ([1.0, 1.0, 1.0], "undetermined"),
])
def test_power_law_says_when_it_cannot_fit(coverage: list[float], message: str) -> None:
    with pytest.raises(FitError, match=message):
        fit_power_law([1, 2, 4], coverage)


# ---------------------------------------------------------------- beta-binomial


def test_beta_binomial_mle_recovers_parameters() -> None:
    for alpha, beta in [(0.3, 2.5), (2.0, 5.0)]:
        ns, cs = beta_problems(3000, 40, alpha, beta, seed=11)
        fit = fit_beta_binomial(ns, cs)
        assert fit.alpha == pytest.approx(alpha, rel=0.12) and fit.beta == pytest.approx(beta, rel=0.12)
        assert not fit.at_bound
        assert fit.log_likelihood == pytest.approx(betabinom.logpmf(cs, ns, fit.alpha, fit.beta).sum())


def test_beta_binomial_mle_beats_nearby_parameters() -> None:
    ns, cs = beta_problems(300, 20, 0.7, 1.3, seed=12)
    fit = fit_beta_binomial(ns, cs)
    for da, db in [(1.05, 1), (0.95, 1), (1, 1.05), (1, 0.95)]:
        assert betabinom.logpmf(cs, ns, fit.alpha * da, fit.beta * db).sum() < fit.log_likelihood


def test_beta_coverage_matches_monte_carlo() -> None:
    alpha, beta = 0.35, 4.0
    p = np.random.default_rng(5).beta(alpha, beta, size=2_000_000)
    for k in (1, 7, 100, 5000):
        monte_carlo = float((1 - (1 - p) ** k).mean())
        assert beta_coverage(alpha, beta, [k])[0] == pytest.approx(monte_carlo, abs=2e-3)
    assert beta_coverage(alpha, beta, [1])[0] == pytest.approx(alpha / (alpha + beta))


def test_extrapolation_from_few_samples_predicts_the_large_k_curve() -> None:
    rng = np.random.default_rng(21)
    p = rng.beta(0.5, 3.0, size=400)
    outcomes = rng.random((400, 1024)) < p[:, None]
    predicted = extrapolate(np.full(400, 32), outcomes[:, :32].sum(axis=1), [1024])[0]
    observed = coverage_curve(np.full(400, 1024), outcomes.sum(axis=1), [1024])[0]
    assert predicted == pytest.approx(observed, abs=0.04)
    check = extrapolation_check(list(outcomes), m=32)
    report = check.to_dict()
    assert report["ks"] == k_grid(1024) and report["fit_on_first"] == 32
    assert report["beta_binomial_errors"]["max_abs_error"] < 0.05
    assert report["power_law_errors"] is not None


def test_extrapolation_check_needs_room_beyond_m() -> None:
    with pytest.raises(ValueError, match="smallest n"):
        extrapolation_check([[True, False], [False, False, True]], m=2)


def test_beta_fit_of_all_unsolved_problems_is_flagged() -> None:
    fit = fit_beta_binomial([50] * 20, [0] * 20)
    assert fit.at_bound and fit.predict([50])[0] < 0.05


# ---------------------------------------------------------------- selection


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


# ---------------------------------------------------------------- the report section


def outcome_problems(rows: list[list[bool]]) -> list:
    from harness.records import VerdictStatus
    from harness.outcomes import AttemptOutcome, ProblemOutcome

    return [ProblemOutcome(problem_id=f"p{i}", attempts=[
        AttemptOutcome(index=j, status=VerdictStatus.PASSED if ok else VerdictStatus.FAILED,
                       class_key="gold" if ok else f"w{j % 3}") for j, ok in enumerate(row)])
        for i, row in enumerate(rows)]


def test_report_statistics_is_json_and_agrees_with_the_parts() -> None:
    import json

    from harness.report.stats import render_statistics, report_statistics

    rng = np.random.default_rng(8)
    rows = (rng.random((30, 64)) < rng.beta(0.5, 2.0, size=30)[:, None]).tolist()
    section = report_statistics(outcome_problems(rows) + outcome_problems([[]]), n_boot=200)
    json.dumps(section, allow_nan=False)
    ns, cs = [64] * 30, [sum(r) for r in rows]
    assert section["coverage_band"]["ks"] == k_grid(64)
    assert section["beta_binomial"]["alpha"] == pytest.approx(fit_beta_binomial(ns, cs).alpha)
    assert section["power_law"]["predicted"].keys() >= {"1", "64", "640", "6400"}
    assert section["extrapolation_check"]["fit_on_first"] == 8
    assert section["selection"]["coverage"] == pytest.approx(coverage_curve(ns, cs, k_grid(64)))
    text = "\n".join(render_statistics(section, "fits.png", "sel.png"))
    assert "| 640 (extrapolated) |" in text and "![selection against coverage](sel.png)" in text


def test_report_statistics_of_degenerate_runs() -> None:
    from harness.report.stats import report_statistics

    assert report_statistics([]) == {}
    unsolved = report_statistics(outcome_problems([[False] * 4] * 3))
    assert "error" in unsolved["power_law"] and unsolved["extrapolation_check"] is None
    single = report_statistics(outcome_problems([[True], [False]]))
    assert single["coverage_band"]["ks"] == [1] and "error" in single["power_law"]


def test_extra_plots_are_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from harness.report.build import build_report
    from harness.outcomes import RunSummary
    from harness.report.plots_extra import plot_extra
    from harness.report.stats import report_statistics

    rng = np.random.default_rng(9)
    rows = (rng.random((12, 32)) < rng.beta(0.5, 2.0, size=12)[:, None]).tolist()
    summary = RunSummary(run_name="r", task="t", model="m", backend="b", simulated=True,
                         problems=outcome_problems(rows))
    report = build_report(summary) | {"statistics": report_statistics(summary.problems, n_boot=100)}
    paths = plot_extra(report, tmp_path)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths.values()) and len(paths) == 2
    assert plot_extra(build_report(summary) | {"statistics": {}}, tmp_path / "none") == {}
