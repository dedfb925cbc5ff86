#!/usr/bin/env python3
"""The HTML audit site at scale: 300 SWE-bench-like instances x 250 attempts, timed in headless Chromium.

    python scripts/bench_report_html.py [--problems 300] [--attempts 250] [--repeats 3] [--out DIR] [--keep]

Builds a synthetic run store (patches deduplicated Zipf-like, JSON evidence naming a test log
per unique candidate, a few flaky instances and model errors), times `write_audit_site`, then
opens the site from disk in Chromium (DevTools protocol over a pipe) and times: the list view
until rendered, a filter click, opening the largest problem, opening an attempt and a
candidate. Target: the site loads in under 5 s. Prints a JSON record and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the DevTools client lives with the tests

from harness.audit.site import write_audit_site
from harness.records import (
    Attempt,
    AttemptStatus,
    Candidate,
    Problem,
    Verdict,
    VerdictStatus,
)
from harness.registry import load_task
from harness.store import RunMeta, RunStore
from tests.harness.report.test_html import CHROMIUM, Chromium

TARGET_S = 5.0


# ---------------------------------------------------------------- a synthetic run


def fake_patch(rng: random.Random, instance: int, variant: int) -> str:
    hunks = []
    for h in range(rng.randint(1, 4)):
        body = "".join(f"     context line {k} of {instance}\n" for k in range(3))
        change = "".join(f"-    old = value_{variant}_{h}_{k}\n+    new = value_{variant}_{h}_{k} + 1\n" for k in range(rng.randint(2, 12)))
        hunks.append(f"@@ -{10 * h + 1},7 +{10 * h + 1},7 @@\n{body}{change}{body}")
    path = f"src/pkg{instance % 7}/module_{instance}.py"
    return f"diff --git a/{path} b/{path}\nindex 1234567..89abcde 100644\n--- a/{path}\n+++ b/{path}\n" + "".join(hunks)


def fake_log(rng: random.Random, passed: bool) -> str:
    lines = [f"tests/test_mod.py::test_case_{k} {'PASSED' if passed or rng.random() < 0.9 else 'FAILED'}" for k in range(rng.randint(40, 120))]
    return "+ pytest -rA tests/test_mod.py\n" + "\n".join(lines) + f"\n{'=' * 20} short test summary info {'=' * 20}\n"


def problem_attempts(rng: random.Random, pid: str, instance: int, attempts: int) -> tuple[list[Attempt], dict[str, bool]]:
    """Attempts drawn Zipf-like from a pool of distinct patches; a few model errors and empty answers."""
    pool = [fake_patch(rng, instance, v) for v in range(rng.randint(20, 120))]
    p_right = rng.betavariate(0.4, 2.0)
    right = {patch: rng.random() < p_right for patch in pool}
    weights = [1.0 / (rank + 1) for rank in range(len(pool))]
    out = []
    for index in range(attempts):
        roll = rng.random()
        if roll < 0.01:
            out.append(Attempt(problem_id=pid, index=index, seed=index, status=AttemptStatus.ERROR, error="HTTP 503 after 5 retries"))
            continue
        if roll < 0.04:
            out.append(Attempt(problem_id=pid, index=index, seed=index, status=AttemptStatus.OK, text="I could not find the bug."))
            continue
        patch = rng.choices(pool, weights)[0]
        text = f"Looking at the issue, the off-by-one is in module {instance}.\n\n```diff\n{patch}```\n"
        out.append(Attempt(problem_id=pid, index=index, seed=index, status=AttemptStatus.OK, text=text,
                           candidate_key=patch, completion_tokens=len(text) // 4, finish_reason="stop"))
    return out, right


def build_run(run_dir: Path, problems: int, attempts: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    verifier = load_task("swebench").verifier()
    store = RunStore(run_dir)
    rows = [Problem(id=f"org__repo-{i}", task="swebench", question=f"Issue {i}: " + "the function misbehaves. " * 40) for i in range(problems)]
    store.put_problems(rows)
    store.write_meta(RunMeta(identity="bench_html", name="bench_html", task="swebench", model="synthetic", backend="replay",
                             targets={p.id: attempts for p in rows}))
    logs = run_dir / "swebench_logs"
    counts = {"attempts": 0, "unique": 0}
    for i, problem in enumerate(rows):
        made, right = problem_attempts(rng, problem.id, i, attempts)
        keys = sorted({a.candidate_key for a in made if a.candidate_key})
        candidates = [Candidate(problem_id=problem.id, key=k, content=k) for k in keys]
        store.add_attempts(made, candidates)
        store.add_verdicts(verdicts(rng, candidates, right, logs / problem.id, verifier, flaky=i % 25 == 0))
        counts["attempts"] += len(made)
        counts["unique"] += len(keys)
    store.close()
    return counts


def verdicts(rng: random.Random, candidates: list[Candidate], right: dict[str, bool], logs: Path, verifier: Any,
             flaky: bool) -> list[tuple[Candidate, Verdict]]:
    logs.mkdir(parents=True, exist_ok=True)
    out = []
    for n, candidate in enumerate(candidates):
        log = logs / f"{n:04d}.log"
        log.write_text(fake_log(rng, right[candidate.key]))
        evidence: dict[str, Any] = {"instance_id": candidate.problem_id, "apply": "git apply", "log": str(log),
                                    "flake_check": True, "flaky_instance": flaky, "lenient_resolved": right[candidate.key]}
        if flaky and right[candidate.key]:
            evidence["majority"] = {"runs": 11, "resolved_runs": rng.randint(6, 11)}
        status = VerdictStatus.PASSED if right[candidate.key] else VerdictStatus.FAILED
        out.append((candidate, Verdict(status=status, verifier=verifier.name, verifier_version=verifier.version,
                                       evidence=json.dumps(evidence), duration_s=rng.uniform(20, 200))))
    return out


# ---------------------------------------------------------------- timing in the browser


def timed(browser: Chromium, action: str, until: str) -> float:
    """Seconds from running `action` until `until` holds (measured outside the page)."""
    started = time.perf_counter()
    browser.evaluate(action)
    browser.wait_for(until, timeout_s=60)
    return time.perf_counter() - started


def browser_round(site: Path, largest: int) -> dict[str, float]:
    ready = "document.body.dataset.ready === '1'"
    with Chromium(CHROMIUM) as browser:
        browser.blank()
        started = time.perf_counter()
        browser.open(site.as_uri(), fresh=False)
        times = {"list_view_s": time.perf_counter() - started,
                 "list_view_in_page_s": float(browser.evaluate("document.body.dataset.readyMs")) / 1000}
        times["filter_click_s"] = timed(browser, "document.querySelector('button[data-filter=unsolved]').click()",
                                        f"{ready} && location.hash === '#f=unsolved'")
        times["search_s"] = timed(browser, "var s = document.getElementById('search'); s.value = 'repo-1';"
                                           "s.dispatchEvent(new Event('input'))", "document.querySelectorAll('#rows tr').length > 0")
        times["open_problem_s"] = timed(browser, f"location.hash = '#p={largest}'",
                                        f"{ready} && document.body.dataset.view === 'problem'")
        times["open_attempt_s"] = timed(browser, "document.querySelector('#strip .cell').click()", "!!document.querySelector('#attempt pre')")
        times["open_candidate_s"] = timed(browser, "document.querySelector('#candidates > details').open = true",
                                          "!!document.querySelector('#candidates pre.diff')")
        times["open_test_log_s"] = timed(browser, "document.querySelector('#candidates button.artifact').click()",
                                         "!!document.querySelector('#candidates pre.log')")
        shots = Path(tempfile.gettempdir()) / "monkeys-audit-screenshots"
        browser.screenshot(shots / "bench-problem.png")
        browser.evaluate("location.hash = '#'")
        browser.wait_for(f"{ready} && document.body.dataset.view === 'list'")
        browser.screenshot(shots / "bench-list.png")
    return times


def site_size(site_dir: Path) -> dict[str, Any]:
    files = [p for p in site_dir.rglob("*") if p.is_file()]
    sizes = sorted(p.stat().st_size for p in files if "/data/p/" in p.as_posix())
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files),
            "summary_bytes": (site_dir / "data" / "summary.js").stat().st_size,
            "problem_file_bytes_median": statistics.median(sizes), "problem_file_bytes_max": sizes[-1]}


def largest_problem(site_dir: Path) -> int:
    files = sorted((site_dir / "data" / "p").glob("*.js"), key=lambda p: p.stat().st_size)
    return int(files[-1].stem)


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=300)
    parser.add_argument("--attempts", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="run directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    args = parser.parse_args()
    if CHROMIUM is None:
        print("bench_report_html: chromium is not installed (apt-get install -y chromium)", file=sys.stderr)
        return 2
    run_dir = args.out or Path(tempfile.mkdtemp(prefix="monkeys-bench-html-"))
    try:
        return run(run_dir, args)
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)


def run(run_dir: Path, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    counts = build_run(run_dir, args.problems, args.attempts, args.seed)
    store_s = time.perf_counter() - started
    generation = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        site = write_audit_site(run_dir)
        generation.append(time.perf_counter() - started)
    rounds = [browser_round(site, largest_problem(site.parent)) for _ in range(args.repeats)]
    result = {"problems": args.problems, "attempts": counts["attempts"], "unique_candidates": counts["unique"],
              "store_build_s": round(store_s, 2), "generation_s": [round(t, 2) for t in generation],
              "site": site_size(site.parent), "chromium": CHROMIUM,
              "browser": {key: [round(r[key], 3) for r in rounds] for key in rounds[0]}}
    print(json.dumps(result, indent=1))
    print(markdown(result))
    worst = max(result["browser"]["list_view_s"] + result["browser"]["open_problem_s"])
    return 0 if worst < TARGET_S else 1


def markdown(result: dict[str, Any]) -> str:
    def span(values: list[float]) -> str:
        return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else f"{values[0]:.2f}"

    lines = ["| step | seconds |", "|---|---:|", f"| write_audit_site ({result['attempts']:,} attempts) | {span(result['generation_s'])} |"]
    lines += [f"| {key.removesuffix('_s').replace('_', ' ')} | {span(values)} |" for key, values in result["browser"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
