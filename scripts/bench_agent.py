"""Benchmark of the repair agent's own cost, with a zero-latency scripted model on a generated repository.

    python scripts/bench_agent.py [--files 1000] [--attempts 500] [--latency-ms 200] [--repo TREE] [--json out.json]
    python scripts/bench_agent.py --kit ../shared/swebench_real [--instances ID,ID] [--json out.json]

--kit: real SWE-bench instances (a swebench 5 task repo whose images are built): each
instance's repository is snapshotted from its image and indexed once (seconds per instance;
equal files of the instances of one repository are indexed once, `agents.filecache`), every
instance's gold patch is played through the agent's own actions (search, views, edits,
finish: the loop's time per step on the real repositories), then 1-3 below run on the
largest tree (a sympy instance).

1. Environment: listing the tree and building the index (definitions + BM25) once.
2. Loop time per step, one attempt at a time: each tool's time (search, view, edit, ...) as
   recorded in the trajectory, the whole step (parse, tool, request, trajectory append, event
   loop) and the final diff.
3. Concurrency: N attempts in one process against one scripted backend (zero latency, and with
   a fixed per-call latency as from a server): steps per second, the event loop's worst lag
   (a stall shows there), and memory per attempt in flight (RSS growth / N).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.config import AgentConfig, Budgets  # noqa: E402
from agents.model import BackendClient  # noqa: E402
from agents.repo import Overlay, RepoSnapshot  # noqa: E402
from agents.runner import AgentRunner, Environments  # noqa: E402
from agents.scripted import Hang, ScriptedBackend, action, edit_action  # noqa: E402
from agents.tools import Environment  # noqa: E402
from agents.trajectory import TrajectoryFile  # noqa: E402
from harness.records import GenerationRequest, GenerationResult, Problem  # noqa: E402

WORDS = ["parse", "value", "token", "cache", "render", "query", "field", "model", "session", "request", "response", "header", "encode", "decode", "stream", "buffer", "index", "lookup", "resolve", "config", "option", "default", "handler", "signal", "widget", "layout", "format", "number", "date", "time", "locale", "path", "file", "reader", "writer", "schema", "validate", "error", "warning", "limit", "range", "scale", "offset", "matrix", "vector"]


# --- the generated repository ----------------------------------------------------------------------


def _module(rng: random.Random, n: int) -> str:
    words = lambda k: " ".join(rng.choices(WORDS, k=k))  # noqa: E731
    out = [f'"""Module {n}: {words(8)}."""', "import os", "", f"CONSTANT_{n} = {rng.randrange(10**6)}", ""]
    for c in range(rng.randint(1, 3)):
        out += ["", f"class {rng.choice(WORDS).title()}{rng.choice(WORDS).title()}{n}_{c}:", f'    """{words(12)}."""', "",
                "    def __init__(self, value):", "        self.value = value"]
        for m in range(rng.randint(2, 6)):
            out += ["", f"    def {rng.choice(WORDS)}_{rng.choice(WORDS)}_{n}_{c}_{m}(self, x):", f'        """{words(10)}."""',
                    f"        result = x + {rng.randrange(1000)}", f"        if result > {rng.randrange(1000)}:",
                    f"            return self.value * result  # {words(4)}", "        return result"]
    for f in range(rng.randint(2, 6)):
        out += ["", "", f"def helper_{n}_{f}(a, b):", f'    """{words(10)}."""', f"    total = a * {rng.randrange(100)} + b",
                *[f"    total += {k}  # {words(3)}" for k in range(rng.randint(3, 12))],
                "    return total"]
    return "\n".join(out) + "\n"


def make_repo(root: Path, files: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    per_package = 50
    for n in range(files):
        package = root / "src" / f"pkg_{n // per_package:02d}"
        package.mkdir(parents=True, exist_ok=True)
        (package / f"mod_{n:04d}.py").write_text(_module(rng, n))
        if n % per_package == 0:
            (package / "__init__.py").write_text("")
            tests = root / "tests" / package.name
            tests.mkdir(parents=True, exist_ok=True)
            (tests / f"test_{package.name}.py").write_text("def test_nothing():\n    assert True\n")


# --- the scripted attempts -----------------------------------------------------------------------


def _targets(env: Environment) -> list[str]:
    """Files with a module-level function (the script edits one); the same list for every attempt."""
    if not hasattr(env, "_bench_targets"):
        env._bench_targets = [p for p, defs in env.index.outlines.items()  # type: ignore[attr-defined]
                              if any(d.kind == "function" and "." not in d.qualname for d in defs)]
    return env._bench_targets  # type: ignore[attr-defined]


def script_for(env: Environment, index: int) -> list[str]:
    """Ten steps of a plausible trajectory: search, find, view, outline, identify, edits (one rejected), finish."""
    rng = random.Random(index)
    path = rng.choice(_targets(env))
    definition = rng.choice(env.index.outlines[path])
    function = next(d for d in env.index.outlines[path] if d.kind == "function" and "." not in d.qualname)
    edited = function.signature + "  # edited"
    folder = path.rsplit("/", 1)[0] if "/" in path else ""
    return [
        action(f"search_code {' '.join(rng.sample(WORDS, 4))}"),
        action(f"find_definition {definition.name}"),
        action(f"find_files {folder + '/' if folder else ''}*.py"),
        action(f"view {path} {definition.start} {definition.end + 10}"),
        action(f"view {path}"),
        action(f"identify {path} {function.start}-{function.end}"),
        edit_action(path, function.signature, edited),
        edit_action(path, "    return", "    return ("),  # several matches, or a syntax error: rejected either way
        edit_action(path, edited, function.signature + "  # fixed"),
        action("finish"),
    ]


def scripted_backend(env: Environment, attempts: int) -> ScriptedBackend:
    return ScriptedBackend({("bench", i): script_for(env, i) for i in range(attempts)})


PROBLEM = Problem(id="bench", task="swebench", question="Something about parsing values is wrong.", data={"repo": "bench/repo"})


async def _run(client: object, env: Environment, attempts: int, trajectories: Path, in_flight: int) -> list:
    from agents.loop import AttemptSpec  # noqa: PLC0415

    config = AgentConfig(budgets=Budgets(max_steps=20), max_in_flight=in_flight)
    runner = AgentRunner(client, config, Environments(lambda _p: env), trajectories)  # type: ignore[arg-type]
    work = ((PROBLEM, AttemptSpec(problem_id="bench", index=i, seed=i, temperature=1.6)) for i in range(attempts))
    return [r async for r in runner.run(work)]


# --- measurements ----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def bench_environment(root: Path) -> tuple[Environment, dict]:
    started = time.perf_counter()
    snapshot = RepoSnapshot(root)
    listed = time.perf_counter()
    env = Environment.build(snapshot, AgentConfig().tools)
    built = time.perf_counter()
    return env, {"files": len(snapshot.files), "indexed_files": len(env.index.files), "chunks": len(env.index.chunks),
                 "definitions": sum(len(v) for v in env.index.by_name.values()),
                 "list_s": round(listed - started, 3), "index_s": round(built - listed, 3)}


def bench_steps(env: Environment, attempts: int, tmp: Path) -> dict:
    """Attempts one after another (no concurrency): the loop's own time per step."""
    backend = scripted_backend(env, attempts)
    walls: list[float] = []
    for i in range(attempts):
        sub = ScriptedBackend({("bench", 0): backend.scripts[("bench", i)]})
        started = time.perf_counter()
        [result] = asyncio.run(_run(BackendClient(sub), env, 1, tmp / f"seq{i}", 1))
        walls.append((time.perf_counter() - started) / result.totals.steps)
    by_tool: dict[str, list[float]] = defaultdict(list)
    for path in tmp.glob("seq*/**/*.jsonl"):
        for step in TrajectoryFile(path).load().steps:
            by_tool[step.action["name"] if step.action else "malformed"].append(step.tool_s)
    diffs = []
    for i in range(attempts):
        overlay = Overlay(env.snapshot)
        path = random.Random(i).choice(env.index.files)
        lines = (env.snapshot.read(path) or "").splitlines(keepends=True)
        lines.insert(len(lines) // 2, "# edited\n")  # a one-line change in the middle of the file
        overlay.write(path, "".join(lines))
        started = time.perf_counter()
        overlay.diff()
        diffs.append(time.perf_counter() - started)
    ms = lambda v: round(1000 * v, 3)  # noqa: E731
    tools = {name: {"median_ms": ms(statistics.median(v)), "p95_ms": ms(percentile(v, 0.95)), "n": len(v)} for name, v in sorted(by_tool.items())}
    return {"step_median_ms": ms(statistics.median(walls)), "step_p95_ms": ms(percentile(walls, 0.95)),
            "tools": tools, "diff_median_ms": ms(statistics.median(diffs)), "diff_p95_ms": ms(percentile(diffs, 0.95))}


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


class LatencyBackend:
    """A server stand-in: every call answers after latency x U(0.5, 1.5), all calls concurrently."""

    name, simulated = "latency", True

    def __init__(self, inner: ScriptedBackend, latency_s: float) -> None:
        self.inner, self.latency_s = inner, latency_s
        self.rng = random.Random(0)

    async def _one(self, request: GenerationRequest) -> GenerationResult:
        await asyncio.sleep(self.latency_s * self.rng.uniform(0.5, 1.5))  # calls of one batch end at different times
        result = self.inner.result(request)
        assert isinstance(result, GenerationResult)
        return result

    async def generate(self, requests):  # noqa: ANN201
        for task in asyncio.as_completed([self._one(r) for r in requests]):
            yield await task

    async def aclose(self) -> None:
        return None


async def _monitored(coro_factory, interval: float = 0.01) -> tuple[list, list[float]]:
    """Runs the coroutine while sampling the event loop's lag (how late a 10 ms timer fires)."""
    lags: list[float] = []
    done = False

    async def monitor() -> None:
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(interval)
            lags.append(time.perf_counter() - before - interval)

    watcher = asyncio.create_task(monitor())
    try:
        results = await coro_factory()
    finally:
        done = True
        await watcher
    return results, lags


def bench_concurrency(env: Environment, attempts: int, tmp: Path, latency_s: float) -> dict:
    backend = scripted_backend(env, attempts)
    model = backend if latency_s == 0 else LatencyBackend(backend, latency_s)
    client = BackendClient(model)  # type: ignore[arg-type]
    started = time.perf_counter()
    results, lags = asyncio.run(_monitored(lambda: _run(client, env, attempts, tmp / f"conc{latency_s}", attempts)))
    wall = time.perf_counter() - started
    steps = sum(r.totals.steps for r in results)
    return {"attempts": attempts, "latency_ms": latency_s * 1000, "finished": sum(r.status.value == "finished" for r in results),
            "steps": steps, "wall_s": round(wall, 2), "steps_per_s": round(steps / wall), "batches": client.batches,
            "loop_lag_median_ms": round(1000 * statistics.median(lags), 1), "loop_lag_p99_ms": round(1000 * percentile(lags, 0.99), 1),
            "loop_lag_max_ms": round(1000 * max(lags), 1)}


def bench_memory(env: Environment, attempts: int, tmp: Path) -> dict:
    """Python heap per attempt in flight: every attempt parked on its last model call (9 steps of history)."""
    import tracemalloc  # noqa: PLC0415

    backend = ScriptedBackend({("bench", i): [*script_for(env, i)[:-1], Hang()] for i in range(attempts)})
    client = BackendClient(backend)

    async def measure() -> int:
        task = asyncio.create_task(_run(client, env, attempts, tmp / "memory", attempts))
        await asyncio.sleep(0)
        while len(backend.calls) < attempts * 10:
            await asyncio.sleep(0.01)
        held = tracemalloc.get_traced_memory()[0]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return held

    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    held = asyncio.run(measure())
    tracemalloc.stop()
    return {"attempts_in_flight": attempts, "heap_mb": round((held - baseline) / 2**20, 1),
            "kb_per_attempt": round((held - baseline) / attempts / 1024, 1), "rss_mb": round(rss_bytes() / 2**20)}


# --- real instances (--kit) ------------------------------------------------------------------------


def kit_environments(kit: Path, ids: list[str] | None, tmp: Path, rows: list[dict], workers: int = 2) -> Iterator[tuple[Problem, Environment]]:
    """Every instance snapshotted from its image and indexed, in the task repo's order, timed into rows."""
    from swebench.task.repo import load_task_repo  # noqa: PLC0415

    from agents.filecache import FileCache  # noqa: PLC0415
    from agents.snapshots import DockerImageSource, SnapshotCache  # noqa: PLC0415
    from harness.problems.datasets import SourceRow  # noqa: PLC0415
    from harness.problems.swebench import problem_from_row  # noqa: PLC0415

    snapshots, files = SnapshotCache(tmp / "repos"), FileCache(tmp / "repos" / "file-index")
    for n, row in enumerate(load_task_repo(kit, ids)):
        problem = problem_from_row(SourceRow(str(kit), n + 1, n, row))
        started = time.perf_counter()
        snapshot = snapshots.get(DockerImageSource(row["image"]))
        snapped = time.perf_counter()
        hits, misses, cpu = files.hits, files.misses, time.process_time()
        env = Environment.build(snapshot, AgentConfig().tools, index_cache=snapshot.root.parent, file_cache=files, workers=workers)
        built = time.perf_counter()
        rows.append({"instance": problem.id, "files": len(snapshot.files), "indexed_py_files": len(env.index.outlines),
                     "chunks": len(env.index.chunks), "files_indexed_anew": files.misses - misses,
                     "files_from_cache": files.hits - hits, "snapshot_s": round(snapped - started, 2),
                     "index_s": round(built - snapped, 2), "total_s": round(built - started, 2),
                     "main_process_cpu_s": round(time.process_time() - cpu, 2), "load_average": round(os.getloadavg()[0], 1)})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        yield problem, env


def bench_gold(envs: Iterator[tuple[Problem, Environment]], tmp: Path) -> tuple[dict, Environment]:
    """Each instance's gold patch played through the agent's actions: whole-step times, outcome checked.
    Also gives back the largest environment (the others are dropped as soon as they are done)."""
    from agents.playback import edit_steps  # noqa: PLC0415

    walls: list[float] = []
    by_tool: dict[str, list[float]] = defaultdict(list)
    reached = count = 0
    largest: Environment | None = None
    for problem, env in envs:
        count += 1
        if largest is None or len(env.index.chunks) > len(largest.index.chunks):
            largest = env
        words = " ".join(problem.question.split()[:12])
        script = [action(f"search_code {words}"), action(f"view {edit_path(problem)}"), *edit_steps(str(problem.data["patch"])), action("finish")]
        backend = ScriptedBackend({(problem.id, 0): script})
        started = time.perf_counter()
        [result] = asyncio.run(_run_one(BackendClient(backend), env, problem, tmp / "gold" / problem.id))
        walls.append((time.perf_counter() - started) / result.totals.steps)
        reached += result.status.value == "finished" and result.totals.rejected == 0 and bool(result.patch)
        for path in (tmp / "gold" / problem.id).glob("**/*.jsonl"):
            for step in TrajectoryFile(path).load().steps:
                by_tool[step.action["name"] if step.action else "malformed"].append(step.tool_s)
    ms = lambda v: round(1000 * v, 3)  # noqa: E731
    assert largest is not None, "no instances"
    return {"instances": count, "edits_all_accepted": reached, "step_median_ms": ms(statistics.median(walls)),
            "step_max_ms": ms(max(walls)),
            "tools": {name: {"median_ms": ms(statistics.median(v)), "p95_ms": ms(percentile(v, 0.95)), "n": len(v)}
                      for name, v in sorted(by_tool.items())}}, largest


def edit_path(problem: Problem) -> str:
    from agents.playback import first_path  # noqa: PLC0415

    return first_path(str(problem.data["patch"])) or ""


async def _run_one(client: object, env: Environment, problem: Problem, trajectories: Path) -> list:
    from agents.loop import AttemptSpec  # noqa: PLC0415

    runner = AgentRunner(client, AgentConfig(budgets=Budgets(max_steps=40)), Environments(lambda _p: env), trajectories)  # type: ignore[arg-type]
    return [r async for r in runner.run([(problem, AttemptSpec(problem_id=problem.id, index=0, seed=0, temperature=0.0))])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--attempts", type=int, default=500)
    parser.add_argument("--sequential", type=int, default=100, help="attempts timed one at a time")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="per-call latency of the server-like run")
    parser.add_argument("--repo", type=Path, help="an existing tree to use instead of a generated one")
    parser.add_argument("--kit", type=Path, help="a swebench 5 task repo with built images: real instances")
    parser.add_argument("--instances", help="with --kit: these instance ids (comma-separated) only")
    parser.add_argument("--index-workers", type=int, default=2, help="with --kit: processes that parse files (agent.index_workers)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp_dir:
        tmp = Path(tmp_dir)
        report: dict = {}
        if args.kit:
            report["instances"] = []
            ids = args.instances.split(",") if args.instances else None
            envs = kit_environments(args.kit, ids, tmp, report["instances"], args.index_workers)
            report["gold_trajectories"], env = bench_gold(envs, tmp)
            environment = {"largest": env.snapshot.root.parent.name, "files": len(env.snapshot.files), "chunks": len(env.index.chunks)}
        else:
            root = args.repo or tmp / "repo"
            if args.repo is None:
                make_repo(root, args.files)
            env, environment = bench_environment(root)
        report |= {"environment": environment, "steps": bench_steps(env, args.sequential, tmp),
                  "concurrency": [bench_concurrency(env, args.attempts, tmp, 0.0),
                                  bench_concurrency(env, args.attempts, tmp, args.latency_ms / 1000)],
                  "memory": bench_memory(env, args.attempts, tmp)}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
