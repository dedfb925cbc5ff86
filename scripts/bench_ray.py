#!/usr/bin/env python3
"""The Ray executor's overhead over the local one, on the demo workload, side by side.

    python scripts/bench_ray.py [--repeats 3] [--num-cpus 2] [--suite configs/demo.yaml]

Runs every config of the suite (the offline demo: GSM8K, MATH and code with the simulated
model) as `monkeys run` does, in fresh run directories, alternating local and Ray runs so
both see the same machine load. Prints per repeat the wall time of each, split into
sampling + verification (what the executor does) and the rest (config, reports), and the
ratios Ray / local of the medians. Ray's start-up is timed on its own, not in the ratio:
`ray.init` starting a Ray in this process, and a second process joining that running cluster
(`ray.init(address=...)`, as `executor.address: auto` does). Every Ray run's verdicts.jsonl
must equal the local run's, byte for byte.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import pipeline  # noqa: E402
from harness.config import load_config, read_suite  # noqa: E402

JOIN_SNIPPET = """
import sys, time
import ray
started = time.perf_counter()
ray.init(address=sys.argv[1], logging_level="WARNING")
joined = time.perf_counter()
ray.get(ray.remote(lambda: None).remote())  # a new job's first task waits for a worker process of its own
print(joined - started, time.perf_counter() - joined)
"""


class PhaseClock:
    """Adds up the seconds spent in the pipeline's sampling and verification phases."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


def run_suite(configs: list[Path], kind: str, out: Path) -> tuple[float, float]:
    """(whole wall time, sampling + verification) of the suite's runs on one executor."""
    clock = PhaseClock()
    originals = pipeline.run_sampling, pipeline.run_verification
    pipeline.run_sampling, pipeline.run_verification = clock.wrap(originals[0]), clock.wrap(originals[1])
    started = time.perf_counter()
    try:
        for path in configs:
            config = load_config(path, [f"executor.kind={kind}"])
            pipeline.execute(config, out / config.name, show_progress=False)
    finally:
        pipeline.run_sampling, pipeline.run_verification = originals
    return time.perf_counter() - started, clock.seconds


def same_verdicts(configs: list[Path], left: Path, right: Path) -> bool:
    names = [load_config(path).name for path in configs]
    return all((left / n / "verdicts.jsonl").read_bytes() == (right / n / "verdicts.jsonl").read_bytes() for n in names)


def start_ray(num_cpus: int) -> tuple[float, float, float]:
    """Start Ray in this process: (seconds to start it, for another process to join it, for that one's first task)."""
    import ray

    started = time.perf_counter()
    ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="WARNING")
    start_s = time.perf_counter() - started
    address = ray.get_runtime_context().gcs_address
    joined = subprocess.run([sys.executable, "-c", JOIN_SNIPPET, address], capture_output=True, text=True, check=True)
    join_s, first_task_s = (float(x) for x in joined.stdout.strip().splitlines()[-1].split())
    return start_s, join_s, first_task_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=ROOT / "configs" / "demo.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the Ray started here (the local executor uses the machine's)")
    args = parser.parse_args()
    configs = read_suite(args.suite) or [args.suite]

    start_s, join_s, first_task_s = start_ray(args.num_cpus)
    print(f"ray start-up (not in the ratios): ray.init starting Ray here {start_s:.2f} s; another process "
          f"joining it {join_s:.2f} s, its first task {first_task_s:.2f} s")
    with tempfile.TemporaryDirectory(prefix="bench_ray_") as tmp:
        work = Path(tmp)
        run_suite(configs, "ray", work / "warmup")  # first use: worker processes import the harness
        times: dict[str, list[tuple[float, float]]] = {"local": [], "ray": []}
        print(f"{'repeat':>6} {'local total':>12} {'ray total':>10} {'local s+v':>10} {'ray s+v':>8}  verdicts")
        for repeat in range(args.repeats):
            order = ("local", "ray") if repeat % 2 == 0 else ("ray", "local")
            for kind in order:
                times[kind].append(run_suite(configs, kind, work / f"{kind}{repeat}"))
            same = same_verdicts(configs, work / f"local{repeat}", work / f"ray{repeat}")
            (lt, lp), (rt, rp) = times["local"][-1], times["ray"][-1]
            print(f"{repeat:>6} {lt:>12.2f} {rt:>10.2f} {lp:>10.2f} {rp:>8.2f}  {'identical' if same else 'DIFFER'}")
            if not same:
                return 1
    total = statistics.median(t for t, _ in times["ray"]) / statistics.median(t for t, _ in times["local"])
    phases = statistics.median(p for _, p in times["ray"]) / statistics.median(p for _, p in times["local"])
    print(f"ray / local, medians of {args.repeats}: whole suite {total:.3f}; sampling + verification {phases:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
