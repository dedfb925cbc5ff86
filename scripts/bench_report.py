#!/usr/bin/env python3
"""Report statistics at scale: pass@k, the bootstrap band and both scaling fits.

    python scripts/bench_report.py [--problems 300] [--samples 10000] [--seed 0] [--real DIR]

Timed core (target < 2 s on 2 cores): coverage at every k of the log grid, a 1,000-replicate
bootstrap band, the power-law fit and the beta-binomial fit with its predictions. Also timed,
outside the target: coverage at every k from 1 to n, the extrapolation honesty check and
selection against k. With --real (default ../shared/data when present), the honesty check
runs on real repeated samples too (GPT-4 on Game of 24, 100 x 100, per-sample correctness).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from harness.report.bands import bootstrap_band, coverage_curve
from harness.report.fits import extrapolation_check, fit_beta_binomial, fit_power_law
from harness.report.passk import k_grid
from harness.report.selection_curve import selection_curve

REAL_DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def timed(label: str, rows: list[tuple[str, float]], fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = fn()
    rows.append((label, time.perf_counter() - start))
    return value


def simulate(problems: int, samples: int, seed: int) -> np.ndarray:
    """Per-sample outcomes: a fifth of problems never solvable, the rest p ~ Beta(0.3, 3)."""
    rng = np.random.default_rng(seed)
    p = np.where(rng.random(problems) < 0.2, 0.0, rng.beta(0.3, 3.0, size=problems))
    return rng.random((problems, samples), dtype=np.float32) < p[:, None]


def core(ns: np.ndarray, cs: np.ndarray, rows: list[tuple[str, float]]) -> dict[str, Any]:
    ks = k_grid(int(ns.min()))
    cov = timed(f"coverage at {len(ks)} ks (log grid)", rows, lambda: coverage_curve(ns, cs, ks))
    lo, hi = timed("bootstrap band, 1,000 resamples", rows, lambda: bootstrap_band(ns, cs, ks))
    power = timed("power-law fit", rows, lambda: fit_power_law(ks, cov))
    beta = timed("beta-binomial fit (MLE)", rows, lambda: fit_beta_binomial(ns, cs))
    far = [10 * int(ns.min()), 100 * int(ns.min())]
    predicted = timed("beta-binomial predictions", rows, lambda: beta.predict(ks + far))
    return {"ks": ks, "coverage": cov, "lo": lo, "hi": hi, "power": power, "beta": beta,
            "predicted": predicted, "far": far}


def extras(outcomes: np.ndarray, rows: list[tuple[str, float]], seed: int) -> dict[str, Any]:
    ns, cs = np.full(outcomes.shape[0], outcomes.shape[1]), outcomes.sum(axis=1)
    every = list(range(1, outcomes.shape[1] + 1))
    timed(f"coverage at every k, 1..{outcomes.shape[1]}", rows, lambda: coverage_curve(ns, cs, every))
    check = timed("extrapolation check (fit on first 100)", rows,
                  lambda: extrapolation_check(list(outcomes), m=100))
    rng = np.random.default_rng(seed)
    sub = outcomes[:, :1000]
    keys = np.where(sub, 0, rng.integers(1, 40, size=sub.shape))  # wrong answers: 39 classes
    scores = np.clip(rng.normal(0.5 + 0.2 * sub, 0.2), 0, 1)  # a weak reward model
    problems = [list(zip(map(str, kr), pr.tolist(), sr.tolist())) for kr, pr, sr in zip(keys, sub, scores)]
    selection = timed(f"selection vs k ({sub.shape[0]} x {sub.shape[1]}, 100 subsets, scored)", rows,
                      lambda: selection_curve(problems, n_subsets=100, seed=seed))
    return {"check": check, "selection": selection}


def real_game24(root: Path) -> list[str]:
    lines = []
    for path in sorted((root / "repeated_sampling" / "tot_game24").glob("*.json")):
        # The CoT file keeps correctness as infos[i]["r"], the standard-prompt file as accs[i].
        outcomes = [[bool(i["r"]) for i in p["infos"]] if "infos" in p else [bool(a) for a in p["accs"]]
                    for p in json.loads(path.read_text())]
        check = extrapolation_check(outcomes, m=10).to_dict()
        cov = check["observed"]
        be, pe = check["beta_binomial_errors"], check["power_law_errors"]
        lines.append(f"- {path.name}: coverage {cov[0]:.3f} (k=1) -> {cov[-1]:.3f} (k=100); fit on first 10, "
                     f"beta-binomial max |error| {be['max_abs_error']:.3f} (at k=100: {be['error_at_largest_k']:+.3f}), "
                     + (f"power law {pe['max_abs_error']:.3f} (at k=100: {pe['error_at_largest_k']:+.3f})"
                        if pe else f"power law: {check['power_law_error']}"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=300)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", type=Path, default=REAL_DEFAULT)
    args = parser.parse_args()

    start = time.perf_counter()
    outcomes = simulate(args.problems, args.samples, args.seed)
    ns, cs = np.full(args.problems, args.samples), outcomes.sum(axis=1)
    print(f"simulated {args.problems} x {args.samples} outcomes in {time.perf_counter() - start:.2f} s (not timed)")

    rows: list[tuple[str, float]] = []
    result = core(ns, cs, rows)
    total = sum(t for _, t in rows)
    print(f"\n{'core step':52s} seconds")
    for label, seconds in rows:
        print(f"{label:52s} {seconds:7.3f}")
    print(f"{'TOTAL (target < 2 s)':52s} {total:7.3f}  {'ok' if total < 2 else 'OVER'}")

    p, b = result["power"], result["beta"]
    print(f"\npower law: a={p.a:.4f} b={p.b:.4f} R^2(log C)={p.r2:.5f} max|resid|={np.abs(p.residuals).max():.4f}")
    print(f"beta-binomial: alpha={b.alpha:.4f} beta={b.beta:.4f} mean p={b.mean:.4f} at_bound={b.at_bound}")
    print(f"{'k':>7} {'coverage':>9} {'95% band':>17} {'power law':>10} {'beta-binom':>10}")
    for i, k in enumerate(result["ks"]):
        print(f"{k:7d} {result['coverage'][i]:9.4f} [{result['lo'][i]:.4f}, {result['hi'][i]:.4f}] "
              f"{p.predict([k])[0]:10.4f} {result['predicted'][i]:10.4f}")
    for j, k in enumerate(result["far"]):
        print(f"{k:7d} {'':9s} {'':17s} {p.predict([k])[0]:10.4f} {result['predicted'][len(result['ks']) + j]:10.4f}")

    extra_rows: list[tuple[str, float]] = []
    more = extras(outcomes, extra_rows, args.seed)
    print(f"\n{'outside the target':52s} seconds")
    for label, seconds in extra_rows:
        print(f"{label:52s} {seconds:7.3f}")
    check = more["check"].to_dict()
    print(f"extrapolation from 100 samples to k={check['ks'][-1]}: beta-binomial max |error| "
          f"{check['beta_binomial_errors']['max_abs_error']:.4f}, power law "
          f"{check['power_law_errors']['max_abs_error']:.4f}")
    sel = more["selection"]
    print("selection: k, coverage, majority, best-of-k, weighted: "
          + "; ".join(f"{k}: {c:.3f} {m:.3f} {bk:.3f} {w:.3f}" for k, c, m, bk, w in
                      zip(sel.ks, sel.coverage, sel.majority_vote, sel.best_of_k, sel.weighted_vote)))

    if args.real.is_dir():
        print("\nreal repeated samples (GPT-4, Game of 24, 100 problems x 100 samples):")
        print("\n".join(real_game24(args.real)))


if __name__ == "__main__":
    main()
