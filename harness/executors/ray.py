"""The Ray executor: model replicas and verification on a Ray cluster, results back to the driver.

Sampling: `RayExecutor.model_backend` returns `RayBackend`, a `ModelBackend` that cuts the
request stream into chunks, sends each to a replica and yields results as chunks finish, so
the sampler and the agent's BackendClient use it as any backend. Backends with state worth
keeping in one place (a vLLM engine on its GPUs, an HTTP client's connection pool) are Ray
actors, restarted when they die with their calls run again (`max_restarts`,
`max_task_retries`). Stateless ones (the simulated model) run chunks as Ray tasks with
`max_retries`, each worker process keeping the backend it built. A chunk that still fails
comes back as model errors, as any backend's failed requests do (`--retry-errors`).

Verification: candidates go out in chunks (one SWE-bench instance per task: one warm
container, one flake check) as Ray tasks with `max_retries`, on nodes with the resources the
verifier's `ray_placement` names (Docker). Verdicts stream back with `ray.wait`. Each worker
process keeps the last verifier it was sent (and its warm sandbox pool) for the tasks after.

The driver alone writes the run store, and every write is keyed: attempts by (problem, index),
verdicts by (problem, candidate, verifier, version). A result is stored when it reaches the
driver, so a task that ran twice (its worker died after finishing) is still stored once.
ray is an optional extra, imported only when this executor is chosen.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from harness.concurrency import bounded_as_completed
from harness.config import ConfigError, ExecutorConfig
from harness.executors.base import ExecutorFailure
from harness.executors.local import safe_verify
from harness.models.base import BackendUnavailable
from harness.records import Candidate, Completion, GenerationRequest, GenerationResult, Problem, Verdict
from harness.verifiers.base import BatchVerifier, RayPlacement, Verifier

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.models.base import ModelBackend
    from harness.problems.base import Task

MISSING_RAY = "executor.kind: ray needs the 'ray' extra: pip install 'monkeys[ray]'"
CHUNKS_PER_REPLICA = 2  # in flight per replica: one running and one waiting, so a replica never idles between calls
TASKS_PER_SLOT = 4  # verification tasks per free slot for plain verifiers: small enough to balance, big enough to be cheap
LOCAL_ONLY_BACKENDS = frozenset({"replay"})  # reads a file on this machine: nothing to spread
# Backends with state worth keeping in one place run as actors: a loaded engine (GPU memory), an
# HTTP connection pool on its event loop. Others (the simulated model) run chunks as Ray tasks, on
# the same pooled worker processes that verify afterwards, so no process starts between phases.
ACTOR_BACKENDS = frozenset({"vllm", "openai"})
WAIT_LOG_S = 30.0
NOT_SHOWN = frozenset({"memory", "object_store_memory"})  # node resources a placement error need not list

# (position in the chunk, completions, error, latency): the request stays with the driver.
PackedResult = tuple[int, list[Completion], str | None, float]


def import_ray() -> ModuleType:
    try:
        import ray  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigError(f"{MISSING_RAY} ({exc})") from None
    return ray


def init_kwargs(config: ExecutorConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"address": config.address, "include_dashboard": False, "logging_level": logging.WARNING}
    if config.runtime_env is not None:
        kwargs["runtime_env"] = config.runtime_env
    if config.address is None:  # a Ray of our own: sized here
        kwargs["num_cpus"] = config.num_cpus
        kwargs["resources"] = config.resources or None
        if config.object_store_mb is not None:
            kwargs["object_store_memory"] = config.object_store_mb * 2**20
    return kwargs


def connect(config: ExecutorConfig) -> ModuleType:
    """Join or start Ray once per process; the runs of a suite share the connection."""
    ray = import_ray()
    if not ray.is_initialized():
        try:
            ray.init(**init_kwargs(config))
        except ConnectionError as exc:
            raise ConfigError(f"executor.address: no Ray cluster at {config.address!r}: {exc}") from None
    return ray


# --- the cluster ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    """The resources of each live node, read when a phase starts."""

    nodes: tuple[dict[str, float], ...]

    @classmethod
    def current(cls, ray: ModuleType) -> Cluster:
        return cls(tuple(dict(node["Resources"]) for node in ray.nodes() if node.get("Alive")))

    def slots(self, need: dict[str, float]) -> int:
        """How many units that each need `need` fit on the cluster at once."""
        return sum(min((int(node.get(name, 0.0) // amount) for name, amount in need.items() if amount > 0),
                       default=1) for node in self.nodes)

    def largest(self, name: str) -> float:
        return max((node.get(name, 0.0) for node in self.nodes), default=0.0)

    def require(self, need: dict[str, float], what: str, hint: str = "") -> int:
        slots = self.slots(need)
        if slots == 0:
            have = "; ".join(", ".join(f"{k}: {v:g}" for k, v in sorted(node.items()) if k not in NOT_SHOWN
                                       and not k.startswith(("node:", "accelerator_type:"))) for node in self.nodes)
            raise ConfigError(f"executor: no Ray node can run {what}: each needs {need}; "
                              f"the nodes have: {have or 'none alive'}{hint}")
        return slots


# --- what Ray worker processes keep between tasks ----------------------------------------------------

_kept: dict[str, tuple[str, Any]] = {}  # role -> (object ref id, object): the last backend / verifier sent
_worker_loop: asyncio.AbstractEventLoop | None = None


def kept(role: str, box: list[Any], build: Callable[[Any], Any]) -> Any:
    """The object behind box[0], built once per worker process and kept for the tasks after.

    The reference travels in a list so that Ray passes it as is: the worker fetches it only when
    it changes (a new run). The object it replaces is closed (a sandbox pool of an earlier run).
    """
    import ray  # noqa: PLC0415

    ref = box[0]
    if role not in _kept or _kept[role][0] != ref.hex():
        old = _kept.pop(role, (None, None))[1]
        _kept[role] = (ref.hex(), build(ray.get(ref)))
        close = getattr(old, "close", None)
        if close is not None:
            close()
    return _kept[role][1]


def worker_loop() -> asyncio.AbstractEventLoop:
    """One event loop per worker process, so a kept backend's clients stay bound to a live loop."""
    global _worker_loop
    if _worker_loop is None:
        _worker_loop = asyncio.new_event_loop()
    return _worker_loop


# --- sampling: replicas of the model backend -------------------------------------------------------


class BackendSpec(NamedTuple):
    """What a replica builds its backend from (shipped once per run through the object store)."""

    config: RunConfig
    task: Task
    problems: list[Problem]


class BuiltBackend(NamedTuple):
    backend: ModelBackend | None
    error: str | None  # the build failed: the driver raises it, as a local build would


def build_backend(spec: BackendSpec) -> BuiltBackend:
    from harness.registry import make_backend  # noqa: PLC0415

    try:
        return BuiltBackend(make_backend(spec.config, spec.task, spec.problems), None)
    except (BackendUnavailable, ConfigError) as exc:
        return BuiltBackend(None, str(exc))


def describe(built: BuiltBackend) -> tuple[str, bool, str | None]:
    if built.backend is None:
        return "", False, built.error
    return built.backend.name, bool(built.backend.simulated), None


async def generate_packed(backend: ModelBackend, requests: list[GenerationRequest]) -> list[PackedResult]:
    position = {(r.problem_id, r.first_index): i for i, r in enumerate(requests)}
    return [(position[(r.request.problem_id, r.request.first_index)], r.completions, r.error, r.latency_s)
            async for r in backend.generate(requests)]


def describe_in_worker(box: list[Any]) -> tuple[str, bool, str | None]:
    """A Ray task: build (and keep) the backend in this worker; its name, simulated flag or build error."""
    return describe(kept("backend", box, build_backend))


def generate_in_worker(box: list[Any], requests: list[GenerationRequest]) -> list[PackedResult]:
    """A Ray task: one chunk of requests through this worker's kept backend."""
    backend = kept("backend", box, build_backend).backend
    assert backend is not None
    return worker_loop().run_until_complete(generate_packed(backend, requests))


class ReplicaHost:
    """A Ray actor holding one replica of a backend with state worth keeping (an engine, a connection pool)."""

    def __init__(self, box: list[Any]) -> None:
        self.box = box
        self.built: BuiltBackend | None = None

    async def _backend(self) -> BuiltBackend:
        if self.built is None:  # built on first call, so a restarted actor builds it again the same way
            self.built = build_backend(await self.box[0])
        return self.built

    async def describe(self) -> tuple[str, bool, str | None]:
        return describe(await self._backend())

    async def generate(self, requests: list[GenerationRequest]) -> list[PackedResult]:
        backend = (await self._backend()).backend
        assert backend is not None
        return await generate_packed(backend, requests)


class ReplicaPool(Protocol):
    width: int  # chunks in flight at once

    async def run(self, chunk: list[GenerationRequest]) -> list[PackedResult]: ...

    def close(self) -> None: ...


class ActorReplicas:
    """Chunks go to the least busy of a fixed set of actors."""

    def __init__(self, ray: ModuleType, actors: list[Any], per_actor: int) -> None:
        self.ray, self.actors = ray, actors
        self.busy = [0] * len(actors)
        self.width = len(actors) * per_actor

    async def run(self, chunk: list[GenerationRequest]) -> list[PackedResult]:
        slot = min(range(len(self.busy)), key=self.busy.__getitem__)
        self.busy[slot] += 1
        try:
            return await self.actors[slot].generate.remote(chunk)
        finally:
            self.busy[slot] -= 1

    def close(self) -> None:
        """Replicas go when sampling ends: their CPUs and GPUs are free for verification."""
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []


class TaskReplicas:
    """Chunks as Ray tasks; each worker process keeps the backend it built (stateless backends)."""

    def __init__(self, remote: Any, box: list[Any], width: int) -> None:
        self.remote, self.box, self.width = remote, box, width

    async def run(self, chunk: list[GenerationRequest]) -> list[PackedResult]:
        return await self.remote.remote(self.box, chunk)

    def close(self) -> None:
        return None


def replica_resources(backend: str, config: ExecutorConfig) -> dict[str, float]:
    need = {"CPU": config.cpus_per_replica}
    if backend == "vllm":
        need["GPU"] = config.gpus_per_replica
    return need


def replica_count(backend: str, config: ExecutorConfig, fits: int) -> int:
    """Explicit `replicas`, else as many as fit (vllm: GPU slots; simulated: CPUs); openai: one HTTP client."""
    wanted = config.replicas or (1 if backend == "openai" else fits)
    if wanted > fits:
        print(f"monkeys: executor.replicas is {wanted} but the cluster fits {fits} now; starting {fits}", file=sys.stderr)
    return max(1, min(wanted, fits))


def batched(items: Iterable[GenerationRequest], size: int) -> Iterator[list[GenerationRequest]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class RayBackend:
    """A ModelBackend over replicas on Ray: chunks of requests go out, results stream back as chunks finish."""

    def __init__(self, ray: ModuleType, replicas: ReplicaPool, name: str, simulated: bool, chunk_size: int) -> None:
        self.ray, self.replicas = ray, replicas
        self.name = f"ray:{name}"  # not "vllm": calls may overlap; each vLLM replica runs its chunks in turn
        self.simulated = simulated
        self.chunk_size = chunk_size

    async def generate(self, requests: Iterable[GenerationRequest]) -> AsyncIterator[GenerationResult]:
        chunks = batched(requests, self.chunk_size)
        async for results in bounded_as_completed(chunks, self._run_chunk, self.replicas.width):
            for result in results:
                yield result

    async def _run_chunk(self, chunk: list[GenerationRequest]) -> list[GenerationResult]:
        try:
            packed = await self.replicas.run(chunk)
        except self.ray.exceptions.RayError as exc:  # retries spent: the chunk's requests failed, as an HTTP call can
            reason = f"ray replica failed: {type(exc).__name__}: {str(exc)[:300]}"
            return [GenerationResult(request=r, error=reason) for r in chunk]
        results = [GenerationResult(request=chunk[i], completions=c, error=e, latency_s=s) for i, c, e, s in packed]
        answered = {i for i, *_ in packed}
        results += [GenerationResult(request=r, error="the replica returned no result for this request")
                    for i, r in enumerate(chunk) if i not in answered]
        return results

    async def aclose(self) -> None:
        self.replicas.close()


# --- verification ------------------------------------------------------------------------------------


def verify_chunk(box: list[Any], problems: dict[str, Problem], candidates: list[Candidate],
                 driver_node: str | None) -> tuple[list[Verdict], dict[str, Any] | None]:
    """A Ray task: the verdicts of a chunk of candidates, in order, and on a node other than the
    driver's the files the verifier made for them (SWE-bench test logs), which the driver keeps."""
    import ray  # noqa: PLC0415

    verifier = kept("verifier", box, lambda verifier: verifier)
    if isinstance(verifier, BatchVerifier):
        verdicts = list(verifier.verify_many([(problems[c.problem_id], c) for c in candidates]))
    else:
        verdicts = [safe_verify(verifier, problems[c.problem_id], c) for c in candidates]
    export = getattr(verifier, "export_files", None)
    if export is None or ray.get_runtime_context().get_node_id() == driver_node:
        return verdicts, None
    return verdicts, export(list(problems))


def placement_of(verifier: Verifier) -> RayPlacement:
    return getattr(verifier, "ray_placement", None) or RayPlacement()


def chunk_length(count: int, slots: int, batch: bool, cap: int) -> int:
    # A batch verifier spreads a task's candidates over its own pool: one task per slot keeps
    # the pool busy (slow tests overlap). A plain one runs them in turn: several per slot balance.
    per_task = math.ceil(count / max(1, slots * (1 if batch else TASKS_PER_SLOT)))
    return max(1, min(cap, per_task))


def verification_groups(candidates: list[Candidate], per_problem: bool, size: int) -> Iterator[list[Candidate]]:
    if not per_problem:
        for start in range(0, len(candidates), size):
            yield candidates[start:start + size]
        return
    by_problem: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_problem.setdefault(candidate.problem_id, []).append(candidate)
    yield from by_problem.values()


class RayExecutor:
    name = "ray"

    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config
        self.ray = connect(config)
        self.actors: list[Any] = []
        self.pinned: list[Any] = []  # object refs the replicas need for as long as they live
        self._remotes: dict[Callable[..., Any], Any] = {}

    # -- sampling --

    def model_backend(self, config: RunConfig, task: Task, problems: list[Problem]) -> ModelBackend:
        kind = config.model.backend
        if kind in LOCAL_ONLY_BACKENDS:
            return local_backend(config, task, problems)
        need = replica_resources(kind, self.config)
        fits = Cluster.current(self.ray).require(need, f"a {kind} model replica",
                                                 " (set executor.gpus_per_replica / cpus_per_replica)")
        self.pinned.append(self.ray.put(BackendSpec(config, task, problems)))  # held until close()
        box = self.pinned[-1:]
        count = replica_count(kind, self.config, fits)
        if kind in ACTOR_BACKENDS:
            replicas: ReplicaPool = self._actor_replicas(kind, need, box, count)
            describe_refs = [actor.describe.remote() for actor in replicas.actors]  # type: ignore[attr-defined]
        else:
            options = {"num_cpus": need["CPU"], "max_retries": self.config.max_retries}
            replicas = TaskReplicas(self._remote(generate_in_worker).options(**options), box,
                                    count * CHUNKS_PER_REPLICA)
            describe_refs = [self._remote(describe_in_worker).options(**options).remote(box)]
        name, simulated = self._wait_ready(describe_refs, need)
        return RayBackend(self.ray, replicas, name, simulated, self.config.chunk_size)

    def _actor_replicas(self, kind: str, need: dict[str, float], box: list[Any], count: int) -> ActorReplicas:
        per_actor = 1 if kind == "vllm" else CHUNKS_PER_REPLICA  # one vLLM engine call at a time
        options = {"num_cpus": need["CPU"], "num_gpus": need.get("GPU", 0), "max_restarts": self.config.max_retries,
                   "max_task_retries": self.config.max_retries, "max_concurrency": per_actor}
        actors = [self.ray.remote(ReplicaHost).options(**options).remote(box) for _ in range(count)]
        self.actors += actors
        return ActorReplicas(self.ray, actors, per_actor)

    def _wait_ready(self, refs: list[Any], need: dict[str, float]) -> tuple[str, bool]:
        """Every replica built its backend: (backend name, simulated). A build error is raised as it would be here."""
        described: list[tuple[str, bool, str | None]] = []
        pending = refs
        while pending:
            ready, pending = self.ray.wait(pending, num_returns=len(pending), timeout=WAIT_LOG_S)
            described += self.ray.get(ready)
            if pending:
                print(f"monkeys: {len(pending)} of {len(refs)} model replicas still wait for {need} on the cluster",
                      file=sys.stderr)
        errors = [error for _, _, error in described if error]
        if errors:
            raise BackendUnavailable(errors[0])
        return described[0][0], described[0][1]

    def _remote(self, function: Callable[..., Any]) -> Any:
        """The Ray remote function of `function`, made once per executor (each is exported to the cluster once)."""
        if function not in self._remotes:
            self._remotes[function] = self.ray.remote(function)
        return self._remotes[function]

    # -- verification --

    def task_resources(self, verifier: Verifier, cluster: Cluster) -> dict[str, float]:
        placement = placement_of(verifier)
        need = {(self.config.docker_resource if name == "docker" else name): amount
                for name, amount in placement.resources.items()}
        # A pool as wide as the driver's CPUs still runs on a smaller node, on all of that node's CPUs.
        need["CPU"] = min(placement.cpus, cluster.largest("CPU")) if placement.cpus > 0 else 0.0
        return need

    def check(self, verifier: Verifier) -> None:
        cluster = Cluster.current(self.ray)
        hint = ""
        if "docker" in placement_of(verifier).resources:
            hint = (f"; mark nodes that have Docker and the images: ray start --resources "
                    f"'{{\"{self.config.docker_resource}\": 4}}', or for a Ray started here "
                    f"executor.resources: {{{self.config.docker_resource}: 4}}")
        cluster.require(self.task_resources(verifier, cluster), f"verifier {verifier.name}", hint)

    def verify_all(self, verifier: Verifier, problems: dict[str, Problem],
                   candidates: list[Candidate]) -> Iterator[tuple[Candidate, Verdict]]:
        if not candidates:
            return
        cluster = Cluster.current(self.ray)
        need = self.task_resources(verifier, cluster)
        slots = cluster.require(need, f"verifier {verifier.name}")
        size = chunk_length(len(candidates), slots, isinstance(verifier, BatchVerifier), self.config.verify_chunk)
        groups = verification_groups(candidates, placement_of(verifier).per_problem, size)
        task = self._remote(verify_chunk).options(
            num_cpus=need.pop("CPU"), resources=need or None, max_retries=self.config.max_retries)
        box = [self.ray.put(verifier)]
        driver_node = self.driver_node()
        failures: list[tuple[list[Candidate], BaseException]] = []
        pending: dict[Any, list[Candidate]] = {}
        window = 2 * slots  # queued beyond the running ones, so a freed slot never waits for the driver

        def submit() -> None:
            for group in itertools.islice(groups, max(0, window - len(pending))):
                pending[task.remote(box, {c.problem_id: problems[c.problem_id] for c in group}, group, driver_node)] = group

        submit()
        while pending:
            done, _ = self.ray.wait(list(pending), num_returns=1)
            for ref in done:
                group = pending.pop(ref)
                try:
                    verdicts, shipped = self.ray.get(ref)
                except self.ray.exceptions.RayError as exc:  # its worker died past max_retries, or the verifier raised
                    failures.append((group, exc))
                    continue
                if shipped is not None:
                    verifier.import_files(shipped)  # type: ignore[attr-defined]
                yield from zip(group, verdicts, strict=True)
            submit()
        if failures:
            lost = sum(len(group) for group, _ in failures)
            raise ExecutorFailure(
                f"{len(failures)} verification task(s) failed for good: their worker died more than "
                f"executor.max_retries ({self.config.max_retries}) times, or the verifier raised. {lost} candidates "
                f"stay unverified; run the same command again to verify them. The first error: {failures[0][1]}")

    def driver_node(self) -> str | None:
        """The node this process runs on; None for a Ray Client driver, which shares no node's files."""
        if (self.config.address or "").startswith("ray://"):
            return None
        return self.ray.get_runtime_context().get_node_id()

    def close(self) -> None:
        """Kill the replicas this executor started; Ray itself stays up for the next run of a suite."""
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.actors, self.pinned = [], []


def local_backend(config: RunConfig, task: Task, problems: list[Problem]) -> ModelBackend:
    from harness.registry import make_backend  # noqa: PLC0415

    return make_backend(config, task, problems)
