"""Benchmark: real SWE-bench Lite predictions on the kit's real instances, ours vs swebench's run_instance.

Instances: the kit (a swebench 5 task repo, ../shared/swebench_real; its images built by prepare.sh).
Predictions per instance, from ../shared/data (MANIFEST.md): the patches of the systems that resolved
it (`swebench_lite_results/lite_patches_by_system.json`), the AutoCodeRover and SWE-agent runs of
`swebench_lite_repeated/` and `swebench_lite/sweagent_gpt4_preds.jsonl` (resolved and not). Identical
texts of one instance are one candidate: each side verifies every distinct patch once, and each
prediction takes its patch's verdict.

Per instance, one after the other on the same images, after one unmeasured run of the eval script (so
that neither side reads the image's files cold; whichever ran first would):
- ours: `SWEBenchVerifier.verify_many`, as `monkeys verify` verifies, `--containers` at once
  (default 2), no flake check (the official harness has none);
- swebench: the official `swebench.harness.run_evaluation.run_instance` once per patch, one after
  another, as its reference run does (one container per prediction, created, started, stopped,
  removed); the Test runtime it logs for each eval script gives the floor.
- with `--flake`: ours again with the flake check on (gold runs per instance, majority runs for
  verdicts that hinge on flaky tests: SWEBenchSettings' defaults), for what it adds.

`--apply-only`: every distinct patch of the chosen instances, only applied (no tests), by both sides:
the official `run_instance` with the row's eval script replaced by a probe printing the tree's `git diff`
and new files (its apply code untouched; several at once, since its time is mostly the idle
`docker stop` wait), and ours (`DockerSandbox.apply_patch`, then the same probe). Applied or not and
the probe's output must be the same (`.orig`/`.rej` files aside: ours removes `patch`'s backups).

Results go to `--results` (JSON, one entry per instance, written after each): a second invocation
skips instances already there, so the work runs in pieces (`--budget-min`: no new instance starts
after that many minutes).

    flock /work/wt/heavy.lock python scripts/bench_swebench_real.py --instances pallets__flask-4045
    python scripts/bench_swebench_real.py --summary           # the table of what --results holds
    flock /work/wt/heavy.lock python scripts/bench_swebench_real.py --apply-only --results runs/apply.json
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_swebench import Outcome, ours_outcome, swebench_outcome  # noqa: E402

from harness.problems.datasets import SourceRow  # noqa: E402
from harness.problems.patches import patch_key  # noqa: E402
from harness.problems.swebench import problem_from_row  # noqa: E402
from harness.records import Candidate, Problem  # noqa: E402
from harness.verifiers.swebench import SWEBenchSettings, SWEBenchVerifier  # noqa: E402

SHARED = Path(os.environ.get("MONKEYS_SHARED", "/work/shared"))
RUN_TAG = "benchreal"  # in every container name / run id this script makes, to clean up after a kill
RUNTIME = re.compile(r"Test runtime: ([0-9_.]+) seconds")


# --- predictions ---------------------------------------------------------------------------------


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def predictions(data: Path, instance_ids: set[str]) -> dict[str, list[tuple[str, str, bool | None]]]:
    """instance -> [(source, patch, resolved as the source's own report says, None if unknown)]."""
    out: dict[str, list[tuple[str, str, bool | None]]] = {i: [] for i in instance_ids}

    def add(source: str, preds: dict[str, str], resolved: set[str]) -> None:
        for iid, patch in preds.items():
            if iid in out:
                out[iid].append((source, patch or "", iid in resolved))

    rep = data / "swebench_lite_repeated"
    for name in ("acr-run-1", "acr-run-2", "acr-run-3", "acr-val-only", "acr-val-sbfl"):
        preds = json.loads((rep / name / "predictions_for_swebench.json").read_text())
        resolved = set(json.loads((rep / name / "new_eval_results_report.json").read_text())["resolved"])
        add(name, {p["instance_id"]: p["model_patch"] for p in preds}, resolved)
    for n in (1, 2, 3):
        folder = rep / f"swe-agent-gpt4_cost_2_{n}"
        report = json.loads((folder / "final_report.json").read_text())
        resolved = {i for ids in report["resolved_per_project"].values() for i in ids}
        add(folder.name, {p["instance_id"]: p["model_patch"] for p in _jsonl(folder / "all_preds.jsonl")}, resolved)
    resolved = set(json.loads((data / "swebench_lite_results/20240402_sweagent_gpt4/resolved.json").read_text())["resolved"])
    add("sweagent_gpt4", {p["instance_id"]: p["model_patch"] for p in _jsonl(data / "swebench_lite/sweagent_gpt4_preds.jsonl")},
        resolved)
    for entry in json.loads((data / "swebench_lite_results/lite_patches_by_system.json").read_text()):
        if entry["instance_id"] in out:
            for system in entry["resolved_by"]:
                out[entry["instance_id"]].append((system["name"], system["patch"] or "", True))
    return out


def kit_problems(kit: Path) -> dict[str, tuple[dict[str, Any], Problem]]:
    from swebench.task.repo import load_task_repo  # noqa: PLC0415

    rows = list(load_task_repo(str(kit)))
    return {row["instance_id"]: (row, problem_from_row(SourceRow(str(kit), i + 1, i, row, label=row["instance_id"])))
            for i, row in enumerate(rows)}


# --- the two sides -------------------------------------------------------------------------------


def run_ours(problem: Problem, patches: list[str], containers: int, timeout: int, logs: Path,
             flake: bool = False) -> tuple[list[Outcome], float, list[dict[str, Any]]]:
    """Outcomes, wall time, and per patch its evidence with `duration_s` (apply + tests + grading) added."""
    settings = SWEBenchSettings(containers=containers, eval_timeout_s=timeout, logs_dir=logs,
                                **({} if flake else {"flake_runs": 0, "majority_runs": 1}))
    verifier = SWEBenchVerifier(settings)
    verifier.run_id = RUN_TAG
    items = [(problem, Candidate(problem_id=problem.id, key=patch_key(p), content=p)) for p in patches]
    started = time.perf_counter()
    verdicts = list(verifier.verify_many(items))
    return ([ours_outcome(v) for v in verdicts], time.perf_counter() - started,
            [{**json.loads(v.evidence), "duration_s": v.duration_s} for v in verdicts])


def run_official(row: dict[str, Any], patches: list[str], timeout: int, workdir: Path,
                 run_id: str) -> tuple[list[Outcome], float, list[float | None]]:
    """run_instance once per patch, one after another; its logs under workdir/logs/run_evaluation/<run id>."""
    from swebench.harness.run_evaluation import _docker_client, run_instance  # noqa: PLC0415
    from swebench.harness.utils import make_test_spec  # noqa: PLC0415

    spec, client = make_test_spec(row), _docker_client()
    os.chdir(workdir)  # run_instance writes logs/ relative to the working directory
    outcomes: list[Outcome] = []
    runtimes: list[float | None] = []
    started = time.perf_counter()
    for index, patch in enumerate(patches):
        model = f"cand{index}"
        prediction = {"instance_id": row["instance_id"], "model_name_or_path": model, "model_patch": patch}
        result = run_instance(spec, prediction, client, run_id, timeout=timeout)
        log_dir = workdir / "logs" / "run_evaluation" / run_id / model / row["instance_id"]
        outcomes.append(swebench_outcome(result, log_dir))
        runtimes.append(test_runtime(log_dir / "run_instance.log"))
    return outcomes, time.perf_counter() - started, runtimes


def test_runtime(log: Path) -> float | None:
    """The eval script's own run time, as run_instance logs it (None: the tests never ran)."""
    found = RUNTIME.search(log.read_text(errors="replace")) if log.exists() else None
    return float(found.group(1).replace("_", "")) if found else None


def remove_leftovers() -> None:
    """Containers of an earlier, killed invocation of this script: ours by their owner label, swebench's
    by the pid in their name (`sweb.eval.<instance>.benchreal-<pid>-...`); a live invocation's stay."""
    import docker  # noqa: PLC0415

    from sandboxes.docker_engine import LABEL_OWNER, LABEL_RUN, owner_alive  # noqa: PLC0415

    client = docker.from_env()
    for container in client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={RUN_TAG}"}):
        if not owner_alive(container.labels.get(LABEL_OWNER, "")):
            container.remove(force=True)
    for container in client.containers.list(all=True, filters={"name": RUN_TAG}):
        found = re.search(rf"\.{RUN_TAG}-(?:apply-)?(\d+)-", container.name)
        if found and not Path(f"/proc/{found.group(1)}").exists():
            container.remove(force=True)


# --- one instance --------------------------------------------------------------------------------


def warm_up(row: dict[str, Any], timeout: int) -> float:
    """One unmeasured run of the eval script on the unpatched tree: the image's files (the repository, its
    Python, the tests) into the page cache, so that neither side pays for reading them cold."""
    from sandboxes.docker import DockerSandbox  # noqa: PLC0415

    started = time.perf_counter()
    with DockerSandbox(row["image"], run_id=RUN_TAG, prestart=False) as box:
        box.write_file("/eval.sh", row["eval_script"])
        box.exec("/bin/bash /eval.sh", timeout_s=timeout)
    return time.perf_counter() - started


def bench_instance(row: dict[str, Any], problem: Problem, preds: list[tuple[str, str, bool | None]],
                   args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    iid = row["instance_id"]
    patches = list(dict.fromkeys(p for _, p, _ in preds))  # distinct, first-seen order
    print(f"  warm-up (unmeasured): {warm_up(row, args.timeout):.1f}s", flush=True)
    ours, ours_s, evidence = run_ours(problem, patches, args.containers, args.timeout, tmp / "ours" / iid)
    print(f"  ours: {len(patches)} patches in {ours_s:.1f}s", flush=True)
    theirs, theirs_s, runtimes = run_official(row, patches, args.timeout, tmp, f"{RUN_TAG}-{os.getpid()}-{iid}")
    print(f"  swebench run_instance: {theirs_s:.1f}s", flush=True)
    entry: dict[str, Any] = {
        "instance": iid, "repo": row["repo"], "predictions": len(preds), "distinct": len(patches),
        "ours_s": round(ours_s, 1), "swebench_s": round(theirs_s, 1),
        "eval_runtimes_s": [None if r is None else round(r, 2) for r in runtimes],
        "ours_durations_s": [round(e["duration_s"], 2) for e in evidence],
        "containers": args.containers,
        "patches": [{"ours": o.status, "ours_resolved": o.resolved, "swebench": t.status, "swebench_resolved": t.resolved,
                     "apply": e.get("apply"), "note": e.get("note")}
                    for o, t, e in zip(ours, theirs, evidence, strict=True)],
        "sources": [{"source": s, "patch": patches.index(p), "shipped_resolved": r} for s, p, r in preds],
    }
    if args.flake:
        flaky, flaky_s, flaky_evidence = run_ours(problem, patches, args.containers, args.timeout, tmp / "flake" / iid, flake=True)
        entry["flake"] = {"ours_s": round(flaky_s, 1), "flaky_instance": any(e.get("flaky_instance") for e in flaky_evidence),
                          "same_verdicts": sum(a.resolved == b.resolved for a, b in zip(flaky, ours, strict=True)),
                          "majority_votes": sum("majority" in e for e in flaky_evidence)}
        print(f"  ours with flake check: {flaky_s:.1f}s", flush=True)
    return entry


# --- apply only ----------------------------------------------------------------------------------

# The official exec traces commands (set -x, to stderr, merged into its output): stderr goes nowhere here.
PROBE = """exec 2>/dev/null
cd /testbed
git -c core.fileMode=false diff
echo '@@ new files'
git status --porcelain --untracked-files=all | grep '^??' | grep -v -e '[.]orig$' -e '[.]rej$'
true
"""


def untraced(output: str) -> str:
    """The probe's output without the trace of its first line (printed before stderr is dropped; stderr
    and stdout interleave, so it may come anywhere)."""
    return "\n".join(line for line in output.splitlines() if line != "+ exec")


def apply_ours(image: str, patches: list[str]) -> list[tuple[bool, str]]:
    from sandboxes.docker import DockerSandbox  # noqa: PLC0415

    out = []
    with DockerSandbox(image, run_id=RUN_TAG) as box:
        for index, patch in enumerate(patches):
            if index:
                box.reset()
            applied = box.apply_patch(patch).applied
            out.append((applied, untraced(box.exec(PROBE, timeout_s=300).stdout) if applied else ""))
    return out


def apply_official(row: dict[str, Any], patches: list[str], workdir: Path, threads: int) -> list[tuple[bool, str]]:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from swebench.harness.run_evaluation import _docker_client, run_instance  # noqa: PLC0415
    from swebench.harness.utils import make_test_spec  # noqa: PLC0415

    spec, client = make_test_spec({**row, "eval_script": PROBE}), _docker_client()
    os.chdir(workdir)
    run_id = f"{RUN_TAG}-apply-{os.getpid()}-{row['instance_id']}"

    def one(index: int) -> tuple[bool, str]:
        prediction = {"instance_id": row["instance_id"], "model_name_or_path": f"cand{index}", "model_patch": patches[index]}
        run_instance(spec, prediction, client, f"{run_id}-{index}", timeout=300)
        output = workdir / "logs" / "run_evaluation" / f"{run_id}-{index}" / f"cand{index}" / row["instance_id"] / "test_output.txt"
        return (True, untraced(output.read_text(errors="replace"))) if output.exists() else (False, "")

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(len(patches))))


def apply_instance(row: dict[str, Any], preds: list[tuple[str, str, bool | None]], tmp: Path, threads: int) -> dict[str, Any]:
    patches = list(dict.fromkeys(p for _, p, _ in preds))
    started = time.perf_counter()
    ours = apply_ours(row["image"], patches)
    ours_s = time.perf_counter() - started
    theirs = apply_official(row, patches, tmp, threads)
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    for i in differ:
        lines = difflib.unified_diff(ours[i][1].splitlines(), theirs[i][1].splitlines(), "ours", "swebench", lineterm="")
        print(f"  DIFFER patch {i}: ours applied={ours[i][0]}, swebench applied={theirs[i][0]}", *list(lines)[:12],
              sep="\n    ", flush=True)
    return {"instance": row["instance_id"], "repo": row["repo"], "predictions": len(preds), "distinct": len(patches),
            "applied_ours": sum(a for a, _ in ours), "applied_swebench": sum(a for a, _ in theirs),
            "same": len(patches) - len(differ), "differ": differ, "ours_s": round(ours_s, 1),
            "swebench_s": round(time.perf_counter() - started - ours_s, 1)}


# --- summary -------------------------------------------------------------------------------------


def summarize(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Per repository and in all: agreement per prediction and per patch, wall times, floor, ratios."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        groups.setdefault(entry["repo"], []).append(entry)
    table = {repo: _totals(group) for repo, group in sorted(groups.items())}
    table["all"] = _totals(entries)
    return table


def _totals(entries: list[dict[str, Any]]) -> dict[str, Any]:
    preds = [(e, s) for e in entries for s in e["sources"]]
    agree_pred = sum(e["patches"][s["patch"]]["ours_resolved"] == e["patches"][s["patch"]]["swebench_resolved"] for e, s in preds)
    patches = [p for e in entries for p in e["patches"]]
    ours_s, theirs_s = sum(e["ours_s"] for e in entries), sum(e["swebench_s"] for e in entries)
    runtime = sum(r or 0.0 for e in entries for r in e["eval_runtimes_s"])
    floor = sum(sum(r or 0.0 for r in e["eval_runtimes_s"]) / e["containers"] for e in entries)
    shipped = [(e["patches"][s["patch"]]["swebench_resolved"], s["shipped_resolved"]) for e, s in preds]
    totals: dict[str, Any] = {
        "instances": len(entries), "predictions": len(preds), "distinct_patches": len(patches),
        "agree_predictions": agree_pred, "agree_patches": sum(p["ours_resolved"] == p["swebench_resolved"] for p in patches),
        "same_status_patches": sum(p["ours"] == p["swebench"] for p in patches),
        "resolved (swebench)": sum(p["swebench_resolved"] for p in patches),
        "status_pairs (ours/swebench)": dict(Counter(f"{p['ours']}/{p['swebench']}" for p in patches)),
        "ours_s": round(ours_s, 1), "swebench_s": round(theirs_s, 1),
        "ratio_vs_swebench": round(theirs_s / ours_s, 2) if ours_s else None,
        "eval_runtime_sum_s": round(runtime, 1), "floor_s": round(floor, 1),
        "ours_vs_floor": round(ours_s / floor, 2) if floor else None,
        # the best ratio (a) any verifier at the floor could reach against run_instance
        "ceiling_vs_swebench": round(theirs_s / floor, 1) if floor else None,
        "swebench_agrees_with_shipped": f"{sum(a == b for a, b in shipped)}/{len(shipped)}",
    }
    flaked = [e for e in entries if "flake" in e]
    if flaked:
        base = sum(e["ours_s"] for e in flaked)
        totals["flake_check"] = {"instances": len(flaked), "ours_s_without": round(base, 1),
                                 "ours_s_with": round(sum(e["flake"]["ours_s"] for e in flaked), 1),
                                 "flaky_instances": sum(e["flake"]["flaky_instance"] for e in flaked),
                                 "majority_votes": sum(e["flake"]["majority_votes"] for e in flaked)}
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kit", type=Path, default=SHARED / "swebench_real", help="the task repo")
    parser.add_argument("--data", type=Path, default=SHARED / "data", help="the real predictions (MANIFEST.md)")
    parser.add_argument("--instances", default="", help="comma-separated instance ids (default: every kit instance)")
    parser.add_argument("--containers", type=int, default=2, help="our containers at once")
    parser.add_argument("--timeout", type=int, default=900, help="eval script timeout (s), both sides")
    parser.add_argument("--flake", action="store_true", help="also run ours with the flake check, for what it adds")
    parser.add_argument("--results", type=Path, default=Path("runs/bench_swebench_real.json"))
    parser.add_argument("--budget-min", type=float, default=18.0, help="start no new instance after this many minutes")
    parser.add_argument("--summary", action="store_true", help="only print the summary of --results")
    parser.add_argument("--markdown", action="store_true", help="with --summary: the per-repository table for docs")
    parser.add_argument("--merge", type=Path, action="append", default=[],
                        help="with --summary: results files whose instances replace those of --results (re-runs)")
    parser.add_argument("--apply-only", action="store_true", help="only apply every patch on both sides, compare the trees")
    parser.add_argument("--threads", type=int, default=6, help="--apply-only: run_instance calls at once")
    args = parser.parse_args()
    args.results = args.results.resolve()

    done: dict[str, Any] = json.loads(args.results.read_text()) if args.results.exists() else {}
    if not args.summary:
        run_pieces(args, done)
    for extra in args.merge:
        done.update(json.loads(extra.read_text()))
    entries = list(done.values())
    if args.apply_only:
        print(json.dumps({"instances": len(entries), "predictions": sum(e["predictions"] for e in entries),
                          "distinct": sum(e["distinct"] for e in entries), "same": sum(e["same"] for e in entries),
                          "applied (swebench)": sum(e["applied_swebench"] for e in entries),
                          "differ": {e["instance"]: e["differ"] for e in entries if e["differ"]}}, indent=2))
    elif args.markdown:
        print(markdown(summarize(entries)))
    else:
        print(json.dumps(summarize(entries), indent=2))
    return 0


def markdown(table: dict[str, Any]) -> str:
    lines = ["| repository | instances | predictions (distinct) | resolved agree | same status | resolved | ours | "
             "swebench run_instance | ratio (a) | eval scripts' own time / 2 = floor | ours / floor | "
             "ceiling of (a): swebench / floor |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for repo, t in table.items():
        lines.append(f"| {repo} | {t['instances']} | {t['predictions']} ({t['distinct_patches']}) | "
                     f"{t['agree_predictions']}/{t['predictions']} | {t['same_status_patches']}/{t['distinct_patches']} | "
                     f"{t['resolved (swebench)']} | {t['ours_s']:.1f} s | {t['swebench_s']:.1f} s | "
                     f"**{t['ratio_vs_swebench']}x** | {t['eval_runtime_sum_s']:.1f} s / 2 = {t['floor_s']:.1f} s | "
                     f"**{t['ours_vs_floor']}** | {t['ceiling_vs_swebench']}x |")
    return "\n".join(lines)


def run_pieces(args: argparse.Namespace, done: dict[str, Any]) -> None:
    problems = kit_problems(args.kit)
    wanted = [i for i in args.instances.split(",") if i] or sorted(problems)
    unknown = [i for i in wanted if i not in problems]
    if unknown:
        raise SystemExit(f"not in the kit {args.kit}: {', '.join(unknown)}")
    preds = predictions(args.data, set(wanted))
    remove_leftovers()
    started = time.monotonic()
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-swebench-real-") as tmp:
        for iid in wanted:
            if iid in done:
                continue
            if time.monotonic() - started > args.budget_min * 60:
                print(f"budget of {args.budget_min:g} min spent: stopping before {iid}", flush=True)
                break
            print(f"{iid}: {len(preds[iid])} predictions", flush=True)
            row, problem = problems[iid]
            if args.apply_only:
                done[iid] = apply_instance(row, preds[iid], Path(tmp), args.threads)
            else:
                done[iid] = bench_instance(row, problem, preds[iid], args, Path(tmp))
            args.results.write_text(json.dumps(done, indent=1) + "\n")
    remove_leftovers()


if __name__ == "__main__":
    sys.exit(main())
