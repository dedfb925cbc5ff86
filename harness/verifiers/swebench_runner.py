"""The work of one `SWEBenchVerifier.verify_many` call: warm containers, candidates, flake checks.

Per instance one warm container (a DockerSandbox) serves every candidate of that instance, reset to
the clean tree between runs (one run: harness.verifiers.swebench_run); identical patches of an
instance run once; the flake check runs once per instance, before its first candidate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from harness.problems.patches import key_digest
from harness.records import Candidate, Problem, Verdict, VerdictStatus
from harness.verifiers.flaky import FlakeCheck, FlakeStore, majority, summarize_runs
from harness.verifiers.swebench_containers import WarmContainers
from harness.verifiers.swebench_gold_runs import GoldRun, GoldRuns
from harness.verifiers.swebench_grading import make_spec, status_map, swebench_version
from harness.verifiers.swebench_run import (
    Instance,
    RunResult,
    evidence_of,
    run_candidate,
    testbed_problem,
)
from harness.verifiers.swebench_settings import (
    SandboxFactory,
    SWEBenchSettings,
    docker_sandbox_factory,
)
from sandboxes.base import PrestartsSpare
from sandboxes.patching import refusal

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sandboxes.base import Sandbox


class Judge(Protocol):
    """What the runner needs of the verifier it works for."""

    settings: SWEBenchSettings
    sandbox_factory: SandboxFactory | None
    run_id: str | None
    shared_containers: WarmContainers | None  # set while calls share warm containers (streaming)
    shared_instances: dict[str, SharedInstance] | None  # and then their instances' prepared state too

    @property
    def logs_dir(self) -> Path: ...

    def verdict(self, status: VerdictStatus, evidence: dict[str, Any], duration_s: float) -> Verdict: ...


class BadInstance(Exception):
    """The instance itself cannot be verified (its image is not an SWE-bench image): every candidate's ERROR."""


class Batch:
    """One verify_many call: containers work through instances in parallel, verdicts come in input order.

    Each instance gets one worker with one warm container; when there are fewer instances than
    containers, the spare containers share an instance's distinct patches: each worker takes the
    next one when it is free (a queue, not a fixed split, so a slow patch does not leave a container idle).
    Containers come from the verifier's shared warm set while it has one (streaming), else from the call's own.
    """

    def __init__(self, judge: Judge, items: list[tuple[Problem, Candidate]]) -> None:
        self.judge, self.items = judge, items
        self.results: dict[int, Verdict] = {}
        self.done = threading.Condition()
        self.cancel = threading.Event()
        self.open: set[Sandbox] = set()  # in use by this call's workers
        self.open_lock = threading.Lock()
        self.own_containers = judge.shared_containers is None
        self.containers = judge.shared_containers or WarmContainers(
            judge.settings.containers, judge.sandbox_factory or docker_sandbox_factory(judge.settings, judge.run_id))
        self.finished = False
        self.pool = ThreadPoolExecutor(max_workers=judge.settings.containers, thread_name_prefix="swebench")
        self.futures: list[Future[None]] = []

    def run(self) -> Iterator[Verdict]:
        groups: dict[str, dict[str, list[int]]] = {}  # problem id -> candidate key -> input positions
        for index, (problem, candidate) in enumerate(self.items):
            groups.setdefault(problem.id, {}).setdefault(candidate.key, []).append(index)
        per_instance = max(1, self.judge.settings.containers // max(1, len(groups)))
        for by_key in groups.values():
            shared = self.instance_of(self.items[next(iter(by_key.values()))[0]][0])
            work = deque(by_key.values())  # this call's distinct patches, taken one at a time by its workers
            # gold runs of a flake check keep a container busy even for an instance with one candidate
            shards = min(per_instance, max(len(work), self.judge.settings.flake_runs))
            self.futures += [self.pool.submit(InstanceWorker(self, shared, work).run) for _ in range(shards)]
        for index in range(len(self.items)):
            yield self._wait_for(index)
        self.finished = True

    def instance_of(self, problem: Problem) -> SharedInstance:
        """The call's own, or the one every call shares while the verifier keeps state between calls: so a
        streamed instance's spec, image check and flake check are made once, as in one sequential call. (Its
        lock is then shared too; a worker holds no container while it waits for it: the flake check is done
        before any candidate of the instance runs, and the image check needs no other container.)"""
        known = self.judge.shared_instances
        if known is None:
            return SharedInstance(self.judge, problem)
        return known.setdefault(problem.id, SharedInstance(self.judge, problem))

    def _wait_for(self, index: int) -> Verdict:
        with self.done:
            self.done.wait_for(lambda: index in self.results or all(f.done() for f in self.futures))
            if index in self.results:
                return self.results[index]
        return self.judge.verdict(VerdictStatus.ERROR, {"note": "the instance's verification stopped early"}, 0.0)

    def publish(self, index: int, verdict: Verdict) -> None:
        with self.done:
            self.results[index] = verdict
            self.done.notify_all()

    def stop(self) -> None:
        """Normal end (workers hand their containers back), or the consumer went away (Ctrl-C): remove
        the containers in use so that nothing lingers; a call's own warm containers go with it."""
        if not self.finished:
            self.cancel.set()
            with self.open_lock:
                leftovers = list(self.open)
            for sandbox in leftovers:
                self.close_sandbox(sandbox)  # a running exec ends with its container
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.own_containers:
            self.containers.close()
        with self.done:
            self.done.notify_all()

    def open_sandbox(self, image: str) -> Sandbox:
        """A clean container of the image: a warm one when there is one, else started (waits for a free place)."""
        sandbox = self.containers.acquire(image, self.cancel.is_set)
        with self.open_lock:
            self.open.add(sandbox)
        if self.cancel.is_set():  # stopped while it was starting
            self.close_sandbox(sandbox)
            raise RuntimeError("verification was stopped")
        return sandbox

    def close_sandbox(self, sandbox: Sandbox) -> None:
        with self.open_lock:
            if sandbox not in self.open:
                return  # already closed (stop() and its worker both got here)
            self.open.discard(sandbox)
        self.containers.discard(sandbox)

    def release_sandbox(self, sandbox: Sandbox, used: bool) -> None:
        """A worker is done with it: warm for the next candidate of its image."""
        with self.open_lock:
            if sandbox not in self.open:
                return
            self.open.discard(sandbox)
        self.containers.release(sandbox, used)


class SharedInstance:
    """What an instance's workers share: its spec and log folder (made once), its flake check (run once)."""

    def __init__(self, judge: Judge, problem: Problem) -> None:
        self.judge, self.problem = judge, problem
        self.lock = threading.RLock()  # held while preparing, checking the image and during the flake check
        self.instance: Instance | None = None
        self.error: str | None = None
        self.prepared = False
        self.image_checked = False
        self.gold_runs: GoldRuns | None = None  # the flake check's, once a container started it

    def get(self) -> tuple[Instance | None, str | None]:
        with self.lock:
            if not self.prepared:
                self.prepared = True
                try:
                    spec = make_spec(self.problem)
                    logs = self.judge.logs_dir / safe_name(spec.instance_id)
                    logs.mkdir(parents=True, exist_ok=True)
                    self.instance = Instance(problem=self.problem, spec=spec, logs=logs)
                except Exception as exc:  # noqa: BLE001 - a row swebench cannot make a spec of
                    self.error = f"{self.problem.id}: cannot make a swebench test spec: {type(exc).__name__}: {exc}"
            return self.instance, self.error

    def check_image(self, sandbox: Sandbox, image: str) -> None:
        """Once per instance: its image holds the repository at /testbed; BadInstance (recorded) if not."""
        with self.lock:
            if not self.image_checked:
                self.image_checked = True
                self.error = testbed_problem(sandbox, self.problem.id, image)
            if self.error is not None:
                raise BadInstance(self.error)


class InstanceWorker:
    """Distinct patches of one instance, in one warm container, reset between runs."""

    def __init__(self, batch: Batch, shared: SharedInstance, work: deque[list[int]]) -> None:
        self.batch, self.shared = batch, shared
        self.work = work  # the input positions of each distinct patch, shared with the instance's other workers
        self.judge = batch.judge
        self.settings = batch.judge.settings
        self.sandbox: Sandbox | None = None
        self.dirty = False  # the sandbox was used since it was opened or reset

    def run(self) -> None:
        """Never raises: every candidate gets a verdict; identical patches share one."""
        try:
            self._share_flake_check()
            while (positions := self._take()) is not None:
                verdict = self._verdict_for(self.batch.items[positions[0]][1])
                for index in positions:
                    self.batch.publish(index, verdict)
        finally:
            if self.sandbox is not None:
                self.batch.release_sandbox(self.sandbox, self.dirty)
                self.sandbox = None

    def _take(self) -> list[int] | None:
        """The next distinct patch's input positions, or None when every one is taken."""
        try:
            return self.work.popleft()  # atomic: workers of one instance never take the same patch
        except IndexError:
            return None

    def _share_flake_check(self) -> None:
        """Before any candidate: take part in the instance's gold runs (a worker with no candidate left
        leaves after). A failure here is left to the candidates' own attempt, which reports it."""
        if self.settings.flake_runs == 0 or self.batch.cancel.is_set() or not self.batch.own_containers:
            return
        instance, setup_error = self.shared.get()
        if instance is None or setup_error is not None:
            return
        try:
            self._ensure_flake_check(instance)
        except Exception:  # noqa: BLE001 - each candidate's verdict says what broke
            self.discard_sandbox()

    def _verdict_for(self, candidate: Candidate) -> Verdict:
        started = time.perf_counter()
        unusable = refusal(candidate.content)
        if unusable:  # fails every step of the official chain: said without starting a container
            return self.judge.verdict(VerdictStatus.APPLY_FAILED, {"note": f"the patch did not apply: {unusable}"}, 0.0)
        if self.batch.cancel.is_set():
            return self.judge.verdict(VerdictStatus.ERROR, {"note": "verification was stopped"}, 0.0)
        instance, setup_error = self.shared.get()
        if instance is None or setup_error is not None:
            return self.judge.verdict(VerdictStatus.ERROR, {"note": setup_error}, 0.0)
        try:
            if self.batch.own_containers:
                self._ensure_flake_check(instance)  # one per instance, its gold runs shared by its containers
            else:  # streamed calls share the containers: one worker runs the gold runs, the others wait holding none
                with self.shared.lock:
                    self._ensure_flake_check(instance)
            return self._judge(instance, candidate, started)
        except BadInstance as exc:
            self.discard_sandbox()
            return self.judge.verdict(VerdictStatus.ERROR, {"instance_id": instance.id, "note": str(exc)},
                                      time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - Docker or the sandbox broke: an ERROR, and the rest go on
            self.discard_sandbox()
            note = f"{type(exc).__name__}: {exc}"
            return self.judge.verdict(VerdictStatus.ERROR, {"note": note}, time.perf_counter() - started)

    # -- the sandbox --

    def clean_sandbox(self, image: str, last: bool = False) -> Sandbox:
        """The instance's sandbox in its clean state: opened on first use, reset after each run.
        `last`: this worker expects no further run, so no spare container is started for one."""
        if self.sandbox is None:
            self.sandbox, self.dirty = self.batch.open_sandbox(image), False
            self.shared.check_image(self.sandbox, image)
        if self.dirty and last and isinstance(self.sandbox, PrestartsSpare):
            self.sandbox.reset_last()
        elif self.dirty:
            self.sandbox.reset()
        self.dirty = True
        return self.sandbox

    def discard_sandbox(self) -> None:
        """After an error the container's state is unknown: the next candidate gets a fresh one."""
        if self.sandbox is not None:
            self.batch.close_sandbox(self.sandbox)
            self.sandbox = None

    # -- flake check --

    def _ensure_flake_check(self, instance: Instance) -> None:
        """The instance's flake check, stored or run: its gold runs shared by the instance's containers."""
        if self.settings.flake_runs == 0:
            return
        store = FlakeStore(self.judge.logs_dir)
        gold = instance.problem.data.get("patch")
        with self.shared.lock:
            if instance.flake is not None:
                return
            if self.shared.gold_runs is None:
                stored = store.get(instance.id, self.settings.flake_runs, swebench_version())
                if stored is None and (not isinstance(gold, str) or not gold.strip()):
                    stored = FlakeCheck(instance_id=instance.id, runs=self.settings.flake_runs,
                                        swebench_version=swebench_version(),
                                        note="the row has no gold patch ('patch'): no flake check")
                    store.put(stored)
                if stored is not None:
                    instance.flake = stored
                    return
                self.shared.gold_runs = GoldRuns(self.settings.flake_runs)
            gold_runs = self.shared.gold_runs
        runs = gold_runs.work(lambda run: self._gold_run(instance, str(gold), run), self.batch.cancel)
        with self.shared.lock:
            if instance.flake is None:  # the first container past the wait summarizes
                listed = [*instance.spec.FAIL_TO_PASS, *instance.spec.PASS_TO_PASS]
                instance.flake = summarize_runs(instance.id, listed, [r.status_map for r in runs],
                                                [r.resolved for r in runs], swebench_version(), [r.log for r in runs])
                store.put(instance.flake)

    def _gold_run(self, instance: Instance, gold: str, run: int) -> GoldRun:
        result = self._run_once(instance, gold, instance.logs / f"gold.flake{run + 1}.log")
        graded = status_map(instance.spec, result.log) if result.status is None and result.log else None
        return GoldRun(status_map=graded, resolved=result.resolved, log=str(result.log) if result.log else "")

    # -- one candidate --

    def _judge(self, instance: Instance, candidate: Candidate, started: float) -> Verdict:
        patch = candidate.content
        stem = key_digest(candidate.key)
        (instance.logs / f"{stem}.diff").write_text(patch, encoding="utf-8", errors="surrogateescape")
        # the queue is empty: unless a majority vote follows, this worker's last run (while the call owns its containers)
        last = not self.work and self.batch.own_containers
        first = self._run_once(instance, patch, instance.logs / f"{stem}.log", last=last)
        evidence = evidence_of(instance, first, patch)
        status = first.status or (VerdictStatus.PASSED if first.resolved else VerdictStatus.FAILED)
        if first.status is None and self._hinges_on_flaky(instance, evidence):
            votes = [first.resolved] + [
                self._run_once(instance, patch, instance.logs / f"{stem}.run{run}.log").resolved
                for run in range(2, self.settings.majority_runs + 1)
            ]
            evidence["majority"] = {"runs": len(votes), "resolved_runs": sum(votes)}
            status = VerdictStatus.PASSED if majority(votes) else VerdictStatus.FAILED
        evidence["resolved"] = status is VerdictStatus.PASSED
        return self.judge.verdict(status, evidence, time.perf_counter() - started)

    def _hinges_on_flaky(self, instance: Instance, evidence: dict[str, Any]) -> bool:
        """Only flaky tests could still change the outcome: every other listed test succeeded."""
        flake = instance.flake
        return (self.settings.majority_runs > 1 and flake is not None and flake.flaky
                and bool(evidence.get("lenient_resolved")))

    def _run_once(self, instance: Instance, patch: str, log: Path, last: bool = False) -> RunResult:
        started = time.perf_counter()
        result = run_candidate(self.clean_sandbox(instance.spec.image, last), instance, patch, log, self.settings)
        result.duration_s = time.perf_counter() - started
        return result


def safe_name(instance_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in instance_id) or "instance"
