"""One run end to end: prepare (validate everything), sample, verify, report.

Nothing is written to the run directory until the config, the dataset and the backend
have all been checked, so a bad input never leaves a half-made run behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.audit.site import write_site
from harness.config import ConfigError, CostConfig, RunConfig, check_inputs_exist
from harness.executors.base import Executor
from harness.executors.choice import make_executor
from harness.executors.local import LocalExecutor
from harness.models.base import EstimatesTokens, HoldsSamples, ModelBackend, ReportsServerBehaviour
from harness.outcomes import OutcomeRow
from harness.pricing import CostInputs, read_cost_inputs
from harness.problems.base import RunsInImages, SkipsInstances, Task
from harness.progress import ProgressBar, StageBars
from harness.records import Candidate, Problem, Verdict
from harness.registry import attempt_source, configured_task, load_task
from harness.report.build import write_report
from harness.runview import CORRECT_CLASS, RunView, open_store, require_meta
from harness.sampler import SamplingProgress, sample, sample_from
from harness.store import RunMeta, RunStore, dump_jsonl
from harness.streaming import SamplingThread, verify_while_sampling
from harness.verifiers.base import HasVerdictFields, KeepsRunFiles, NeedsIsolation, Verifier

VERDICT_FLUSH_S = 2.0


@dataclass
class PreparedRun:
    config: RunConfig
    task: Task
    problems: list[Problem]
    backend: ModelBackend
    targets: dict[str, int]  # problem id -> how many attempts the run wants
    cost: CostInputs | None = None  # the config's cost section with its price and baseline files read


def prepare(config: RunConfig, executor: Executor | None = None) -> PreparedRun:
    """Validate inputs and build the task, problems and backend (through `executor`, local by default); writes nothing."""
    check_inputs_exist(config)
    source = attempt_source(config)
    if source is not None:
        source.check(config)
    task = configured_task(config.task, config.verify)  # its verifier settings validated from `verify`
    problems = task.load(config.dataset)
    if not problems:
        raise ConfigError("dataset: no problems selected (check dataset.ids and dataset.limit)")
    executor = executor or LocalExecutor(config.verify.workers)
    verifier = task.verifier()
    if isinstance(verifier, NeedsIsolation):  # fail closed: no sandbox, no run (and nothing written)
        verifier.check_isolation()
    executor.check(verifier)  # before replicas start: a cluster without Docker nodes fails here
    backend = executor.model_backend(config, task, problems)
    targets = {p.id: config.sampling.samples_per_problem for p in problems}
    if isinstance(backend, HoldsSamples):  # replayed samples: each problem has what the file holds
        targets = {pid: min(n, backend.available(pid)) for pid, n in targets.items()}
        problems = [p for p in problems if targets[p.id] > 0]
    cost = read_cost_inputs(config.cost) if config.cost is not None else None
    return PreparedRun(config, task, problems, backend, targets, cost)


def agent_chat(config: RunConfig) -> bool:
    """Agent attempts talk to a chat API unless the model says completions (a base model: transcript prompts)."""
    return config.chat()


def open_run(prepared: PreparedRun, run_dir: Path) -> RunStore:
    """Create the run directory, or check that an existing one is the same run."""
    config = prepared.config
    existing = (run_dir / "run.sqlite").exists()
    store = RunStore(run_dir)
    stored = store.meta()
    if existing and stored is not None and stored.identity != config.identity():
        store.close()
        raise ConfigError(
            f"{run_dir} holds a run with a different task, dataset, model, sampling or agent settings; "
            "resume it with its own config (saved as config.yaml there) or choose another --out"
        )
    store.put_problems(prepared.problems)
    store.write_meta(RunMeta(
        identity=config.identity(), name=config.name, task=config.task, model=config.model.model,
        backend=config.model.backend, simulated=bool(prepared.backend.simulated),
        tokens_estimated=isinstance(prepared.backend, EstimatesTokens) and prepared.backend.tokens_estimated, targets=prepared.targets,
        sampling_wall_s=stored.sampling_wall_s if stored else None,  # measured over every invocation
        # without a cost section a resumed run keeps the one it has
        cost=prepared.cost if prepared.cost is not None or stored is None else stored.cost,
    ))
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    return store


def _todo(prepared: PreparedRun, store: RunStore) -> int:
    done = store.done_indices()
    return sum(max(0, n - len(done.get(pid, ()))) for pid, n in prepared.targets.items())


def run_sampling(prepared: PreparedRun, store: RunStore, show_progress: bool) -> SamplingProgress:
    """Sample what is missing, with nothing verified meanwhile (verify.streaming: false)."""
    todo = _todo(prepared, store)
    with ProgressBar("sampling", todo, show_progress) as bar:
        return asyncio.run(sample_timed(prepared, store, bar.advance, frozenset(), todo))


async def sample_timed(prepared: PreparedRun, store: RunStore, on_update: Callable[[int], None],
                       stopped: Container[str], todo: int) -> SamplingProgress:
    """Sample what is missing (not for problems in `stopped`), and add the time it took to the run's sampling time."""
    started = time.monotonic()
    progress = SamplingProgress(on_update=on_update)
    try:
        await _sample_per_target(prepared, store, progress, store.done_indices(), stopped)
    finally:
        # The GPU time a cost basis charges: summed over invocations, interrupted ones too.
        # Replayed samples were made elsewhere, so reading them measures nothing.
        if todo and prepared.config.model.backend != "replay":
            store.add_sampling_time(time.monotonic() - started)
    return progress


async def _sample_per_target(prepared: PreparedRun, store: RunStore, progress: SamplingProgress,
                             done: dict[str, set[int]], stopped: Container[str]) -> None:
    # Problems are grouped by target so each group is one lazily planned stream of requests.
    chat = prepared.config.chat()
    source = attempt_source(prepared.config)
    groups: dict[int, list[Problem]] = {}
    for problem in prepared.problems:
        groups.setdefault(prepared.targets[problem.id], []).append(problem)
    try:
        for total, problems in sorted(groups.items()):
            sampling = prepared.config.sampling.model_copy(update={"samples_per_problem": total})
            if source is not None:
                attempts = source.open(prepared.config, prepared.task, prepared.backend, store.path.parent, sampling)
                try:
                    await sample_from(attempts, problems, store, sampling, progress, done, stopped)
                finally:
                    await attempts.aclose()
            else:
                # done was read once, before sampling: the groups are disjoint, so none changes another's
                await sample(problems, prepared.task, prepared.backend, store, sampling, chat, progress, done, stopped)
    finally:
        record_backend_notes(store, prepared.backend)
        await prepared.backend.aclose()


def require_images(prepared: PreparedRun) -> None:
    """Before anything is written: every image the problems are judged in is on this engine, else the message
    names the missing ones and the command that makes them. Ray nodes hold their own images: not checked here."""
    if prepared.config.executor.kind != "local" or not isinstance(prepared.task, RunsInImages):
        return
    from harness.images.check import missing_images_message  # noqa: PLC0415
    from sandboxes.base import SandboxUnavailable  # noqa: PLC0415
    from sandboxes.docker import docker_client  # noqa: PLC0415

    images = {problem.id: prepared.task.image_of(problem) for problem in prepared.problems}
    message = missing_images_message(docker_client(), prepared.config.dataset, images)
    if message is not None:
        raise SandboxUnavailable(message)


def record_skipped_instances(store: RunStore, task: Task) -> None:
    """Instances the dataset holds but the task could not read: named in the report's notes."""
    if isinstance(task, SkipsInstances):
        store.add_backend_notes({f"skipped:{iid}": f"left out: {why}" for iid, why in task.skipped_instances().items()})


def run_streaming(prepared: PreparedRun, store: RunStore, show_progress: bool, executor: Executor) -> None:
    """Sample what is missing and verify each new candidate as soon as it is stored (verify.streaming: true)."""
    verifier = run_verifier(prepared.task, store)
    problems = {p.id: p for p in prepared.problems}
    stop_after = prepared.config.sampling.stop_after_solutions
    stopped: set[str] = set()  # read by the sampling thread before each request

    def count_solutions(_stored: object = None) -> None:
        if stop_after is not None:
            solved = store.solved_attempts(verifier.name, verifier.version)
            stopped.update(pid for pid, n in solved.items() if n >= stop_after)

    count_solutions()
    todo = _todo(prepared, store)
    try:
        with StageBars(todo, show_progress) as bars:
            sampler = SamplingThread(lambda own: sample_timed(prepared, own, bars.sampled, stopped, todo), store.path.parent)
            verify_while_sampling(executor, verifier, problems, store, sampler, bars, count_solutions)
    finally:
        if stopped:
            done = store.done_indices()
            short = {pid: len(done.get(pid, ())) for pid in stopped if len(done.get(pid, ())) < prepared.targets.get(pid, 0)}
            if short:
                store.add_stopped_early(short)


def record_backend_notes(store: RunStore, backend: ModelBackend) -> None:
    """Keep what the backend learned about its server (one request per sample, say) for the report."""
    notes = backend.run_notes() if isinstance(backend, ReportsServerBehaviour) else {}
    if notes:
        store.add_backend_notes(notes)


def run_verifier(task: Task, store: RunStore) -> Verifier:
    verifier = task.verifier()
    if isinstance(verifier, KeepsRunFiles):  # a verifier that keeps files (test logs) keeps them in the run directory
        verifier.bind_run_dir(store.path.parent)
    return verifier


def run_verification(task: Task, problems: list[Problem], store: RunStore, workers: int, show_progress: bool,
                     executor: Executor | None = None) -> int:
    """Verify every stored candidate that has no verdict from this verifier version yet."""
    verifier = run_verifier(task, store)
    pending = store.unverified_candidates(verifier.name, verifier.version)
    by_id = {p.id: p for p in problems}
    pending = [c for c in pending if c.problem_id in by_id]
    batch: list[tuple[Candidate, Verdict]] = []
    last_flush = time.monotonic()
    with ProgressBar("verifying", len(pending), show_progress) as bar:
        try:
            for pair in (executor or LocalExecutor(workers)).verify_all(verifier, by_id, pending):
                batch.append(pair)
                # Few transactions for cheap verdicts; but a slow verdict (a Docker test run) is
                # stored within seconds, so an interruption loses little verification work.
                if len(batch) >= 500 or time.monotonic() - last_flush > VERDICT_FLUSH_S:
                    store.add_verdicts(batch)
                    bar.advance(len(batch))
                    batch, last_flush = [], time.monotonic()
        finally:  # verdicts already judged are kept, whatever ended the loop (Ctrl-C, Ray tasks lost for good)
            store.add_verdicts(batch)
            bar.advance(len(batch))
    return len(pending)


def write_verdicts(outcomes: dict[str, list[OutcomeRow]], path: Path, verifier: Verifier | None = None) -> int:
    extra = verifier.verdict_fields if isinstance(verifier, HasVerdictFields) else None  # swebench: instance_id, resolved, test_log

    def rows() -> Iterator[dict]:
        for pid, items in outcomes.items():
            for outcome, verdict, *_ in items:
                row = {"problem_id": pid, "sample_index": outcome.index, "passed": outcome.passed,
                       "status": outcome.status.value, "answer": outcome.class_key if outcome.class_key != CORRECT_CLASS else None,
                       "evidence": verdict.evidence if verdict else ""}
                yield row if extra is None else row | extra(pid, outcome.passed, verdict)

    return dump_jsonl(rows(), path)


def report_existing(run_dir: Path, cost: CostConfig | None = None) -> dict[str, Path]:
    """Recompute the report of a run directory from its store alone, and its HTML audit site.

    `cost`: price the run this way from now on (stored in the run, replacing its cost section).
    """
    inputs = read_cost_inputs(cost) if cost is not None else None  # read before anything is written
    with open_store(run_dir) as store:
        meta = require_meta(store)
        if inputs is not None:
            store.set_cost(inputs)
        verifier = load_task(meta.task).verifier()
        view = RunView(store, verifier)
        write_verdicts(view.outcomes, run_dir / "verdicts.jsonl", verifier)
        paths = write_report(view.summary(), run_dir)
        paths["verdicts"] = run_dir / "verdicts.jsonl"
        paths["audit_site"] = write_site(run_dir, view)  # after the report: the site links its files
    return paths


def execute(config: RunConfig, run_dir: Path, show_progress: bool = True, retry_errors: bool = False) -> dict[str, Path]:
    """The whole run: sample what is missing, verify what is unverified, report. Returns written paths."""
    executor = make_executor(config.executor, config.verify.workers)
    try:
        prepared = prepare(config, executor)
        require_images(prepared)
        store = open_run(prepared, run_dir)
        try:
            record_skipped_instances(store, prepared.task)
            if retry_errors:
                store.delete_error_attempts()
            if config.verify.streaming:
                run_streaming(prepared, store, show_progress, executor)
            else:
                run_sampling(prepared, store, show_progress)
                run_verification(prepared.task, prepared.problems, store, config.verify.workers, show_progress, executor)
        finally:
            store.close()
    finally:
        executor.close()
    return report_existing(run_dir)
