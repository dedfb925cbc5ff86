#!/usr/bin/env python3
"""Streaming vs sequential `monkeys run`, side by side, with a paced model and real verifiers.

    flock /work/wt/heavy.lock python scripts/bench_pipeline.py [--repeats 2] [--workload code,swebench]

Workloads: `code` (the 8 HumanEval-format demo problems, copied under new ids so that there are
enough distinct programs for tens of seconds of verification; every program runs in the sandbox
pool) and `swebench` (the toy SWE-bench instance under several instance ids, every distinct patch
tested in its Docker image). The model is the simulated one paced by model.seconds_per_request
(one request at a time, like a busy server); the pace is calibrated first so that sampling alone
takes about as long as verification alone. Then each repeat runs the workload in the sequential
order (verify.streaming: false: sampling, then verification, each timed) and streamed (both at
once), alternating which goes first, in fresh run directories. Ratio = streamed sampling+verification
time / the longer of the sequential run's two phases (1.0 would be perfect overlap, about 2.0 no
overlap); "tail" is how long the streamed run went on after its sampling ended. Both runs'
verdicts.jsonl must be identical line for line (every field: status, passed, answer, evidence) once
each run's own directory is written as <run> (swebench evidence names the test log, which lives in
the run directory) and the container's temporary apply directory as <tmp> (a fresh random name on
every apply, named in apply errors: two sequential runs differ there too). The last line is
`ratio R`: the worst workload's median ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import pipeline  # noqa: E402
from harness.config import RunConfig, config_from_dict  # noqa: E402


class PhaseClock:
    """Seconds spent in each wrapped pipeline phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

        return timed


def timed_run(config: RunConfig, out: Path) -> dict[str, float]:
    clock = PhaseClock()
    names = ("run_sampling", "run_verification", "run_streaming", "report_existing")
    originals = {name: getattr(pipeline, name) for name in names}
    sample_timed = pipeline.sample_timed
    ends: list[float] = []

    async def sampling_end_noted(*args: Any, **kwargs: Any) -> Any:
        try:
            return await sample_timed(*args, **kwargs)
        finally:
            ends.append(time.perf_counter())

    for name in names:
        setattr(pipeline, name, clock.wrap(name, originals[name]))
    pipeline.sample_timed = sampling_end_noted
    try:
        pipeline.execute(config, out, show_progress=False)
        finished = time.perf_counter()
    finally:
        for name in names:
            setattr(pipeline, name, originals[name])
        pipeline.sample_timed = sample_timed
    if ends:
        clock.seconds["tail"] = finished - ends[-1] - clock.seconds["report_existing"]  # the report follows both alike
    return clock.seconds


def code_config(work: Path, samples: int, copies: int) -> dict[str, Any]:
    rows = [json.loads(line) for line in (ROOT / "configs/data/demo_code.jsonl").read_text().splitlines() if line.strip()]
    dataset = work / "code.jsonl"
    with dataset.open("w") as out:
        for copy in range(copies):
            for row in rows:
                out.write(json.dumps(row | {"task_id": f"{row['task_id']}#{copy}"}) + "\n")
    return {"name": "bench_code", "task": "humaneval", "dataset": {"path": str(dataset)},
            "model": {"backend": "simulated"}, "sampling": {"samples_per_problem": samples, "n_per_request": 5, "seed": 3},
            "verify": {"workers": 2}}


def swebench_config(work: Path, samples: int, copies: int) -> dict[str, Any]:
    from tests.swebench_toy import build_toy_instance  # noqa: PLC0415

    row, _ = build_toy_instance()
    dataset = work / "swe.jsonl"
    dataset.write_text("".join(json.dumps(row | {"instance_id": f"{row['instance_id']}{copy}"}) + "\n"
                               for copy in range(copies)))
    return {"name": "bench_swe", "task": "swebench", "dataset": {"path": str(dataset)},
            "model": {"backend": "simulated", "alpha": 2.0, "beta": 2.0},
            "sampling": {"samples_per_problem": samples, "n_per_request": 1, "seed": 5},
            "verify": {"workers": 2, "options": {"flake_runs": 0, "majority_runs": 1, "containers": 2,
                                                  "eval_timeout_s": 120}}}


# workload -> (config maker, samples per problem, copies of the problems)
WORKLOADS = {"code": (code_config, 100, 12), "swebench": (swebench_config, 30, 8)}


def requests_of(raw: dict[str, Any]) -> int:
    sampling = raw["sampling"]
    per_problem = -(-sampling["samples_per_problem"] // sampling["n_per_request"])
    problems = sum(1 for line in Path(raw["dataset"]["path"]).read_text().splitlines() if line.strip())
    return per_problem * problems


def configured(raw: dict[str, Any], pace: float, streaming: bool) -> RunConfig:
    raw = json.loads(json.dumps(raw))
    raw["model"]["seconds_per_request"] = pace
    raw["verify"]["streaming"] = streaming
    return config_from_dict(raw)


TEMP_DIR = re.compile(r"/run/monkeys/apply\.[A-Za-z0-9_]+/")  # where a patch is applied: a fresh name each time


def verdicts(run: Path) -> list[str]:
    """verdicts.jsonl as compared: the run's own directory written as <run> (swebench evidence names the test
    log inside it) and the container's temporary directory as <tmp> (named in apply errors); nothing else."""
    text = (run / "verdicts.jsonl").read_text().replace(str(run), "<run>")
    return [TEMP_DIR.sub("<tmp>/", line) for line in text.splitlines()]


def compare(sequential: Path, streamed: Path) -> str:
    """'identical', or the first line that differs."""
    for a, b in zip(verdicts(sequential), verdicts(streamed), strict=True):
        if a != b:
            return f"DIFFER: sequential {a}\n        streamed   {b}"
    return "identical"


def bench(name: str, work: Path, repeats: int, scale: float) -> float:
    make, samples, copies = WORKLOADS[name]
    raw = make(work, max(2, round(samples * scale)), max(1, round(copies * scale)))
    calibration = timed_run(configured(raw, 0.0, False), work / f"{name}-calibrate")
    pace = calibration["run_verification"] / requests_of(raw)
    print(f"{name}: verification alone {calibration['run_verification']:.1f} s; pace {pace * 1000:.0f} ms/request "
          f"x {requests_of(raw)} requests", flush=True)
    print(f"{'repeat':>6} {'sampling':>9} {'verifying':>10} {'sequential':>11} {'streamed':>9} {'tail':>5} {'ratio':>6}"
          f"  load  verdicts")
    ratios = []
    for repeat in range(repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)
        times = {streaming: timed_run(configured(raw, pace, streaming), work / f"{name}-{streaming}-{repeat}")
                 for streaming in order}
        sampling, verifying = times[False]["run_sampling"], times[False]["run_verification"]
        streamed = times[True]["run_streaming"]
        ratio = streamed / max(sampling, verifying)
        same = compare(work / f"{name}-False-{repeat}", work / f"{name}-True-{repeat}")
        print(f"{repeat:>6} {sampling:>9.1f} {verifying:>10.1f} {sampling + verifying:>11.1f} {streamed:>9.1f} "
              f"{times[True]['tail']:>5.1f} {ratio:>6.2f} {os.getloadavg()[0]:>5.1f}  {same}", flush=True)
        if same != "identical":
            raise SystemExit(f"{name}: streamed verdicts differ from the sequential run's")
        ratios.append(ratio)
    return statistics.median(ratios)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workload", default="code,swebench")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="samples per problem and copies of the problems times this (a quick look: 0.3)")
    args = parser.parse_args()
    medians = {}
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        for name in args.workload.split(","):
            medians[name] = bench(name, Path(tmp), args.repeats, args.scale)
    print("median ratio per workload: " + ", ".join(f"{name} {r:.2f}" for name, r in medians.items()))
    print(f"ratio {max(medians.values()):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
