"""The statistics section of a report (report.json `statistics`): the coverage band, both scaling
fits with predictions beyond the samples taken and an extrapolation check, and selection without
a verifier against k (`bands`, `fits`, `selection_curve`). Every number is a function of the
problems' outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.report.bands import bootstrap_band, coverage_curve
from harness.report.fits import FitError, extrapolation_check, fit_beta_binomial, fit_power_law
from harness.report.passk import k_grid
from harness.report.selection_curve import selection_curve


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
