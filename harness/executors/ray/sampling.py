"""Sampling on Ray: replicas of the model backend, and `RayBackend`, the `ModelBackend` over them.

`RayBackend` cuts the request stream into chunks, sends each to a replica and yields results as
chunks finish, so the sampler and the agent's BackendClient use it as any backend.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from harness.concurrency import bounded_as_completed
from harness.config import ConfigError, ExecutorConfig
from harness.executors.ray.cluster import Cluster
from harness.executors.ray.workers import RemoteFunctions, kept, worker_loop
from harness.models.base import BackendUnavailable
from harness.records import Completion, GenerationRequest, GenerationResult, Problem

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.models.base import ModelBackend
    from harness.problems.base import Task

CHUNKS_PER_REPLICA = 2  # in flight per replica: one running and one waiting, so a replica never idles between calls
LOCAL_ONLY_BACKENDS = frozenset({"replay"})  # reads a file on this machine: nothing to spread
# Backends with state worth keeping in one place run as actors: a loaded engine (GPU memory), an
# HTTP connection pool on its event loop. Others (the simulated model) run chunks as Ray tasks, on
# the same pooled worker processes that verify afterwards, so no process starts between phases.
ACTOR_BACKENDS = frozenset({"vllm", "openai"})
WAIT_LOG_S = 30.0

# (position in the chunk, completions, error, latency): the request stays with the driver.
PackedResult = tuple[int, list[Completion], str | None, float]


# --- in the replicas ---------------------------------------------------------------------------------


class BackendSpec(NamedTuple):
    """What a replica builds its backend from (shipped once per run through the object store)."""

    config: RunConfig
    task: Task
    problems: list[Problem]


class BuiltBackend(NamedTuple):
    backend: ModelBackend | None
    error: str | None  # the build failed: the driver raises it, as a local build would


def build_backend(spec: BackendSpec) -> BuiltBackend:
    try:
        return BuiltBackend(local_backend(spec.config, spec.task, spec.problems), None)
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


# --- in the driver -----------------------------------------------------------------------------------


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


class ModelReplicas:
    """Starts the replicas of a run's backend on the cluster; keeps what they need until closed."""

    def __init__(self, ray: ModuleType, config: ExecutorConfig, remotes: RemoteFunctions) -> None:
        self.ray, self.config, self.remotes = ray, config, remotes
        self.actors: list[Any] = []
        self.pinned: list[Any] = []  # object refs the replicas need for as long as they live

    def backend(self, config: RunConfig, task: Task, problems: list[Problem]) -> ModelBackend:
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
            replicas = TaskReplicas(self.remotes(generate_in_worker).options(**options), box,
                                    count * CHUNKS_PER_REPLICA)
            describe_refs = [self.remotes(describe_in_worker).options(**options).remote(box)]
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

    def close(self) -> None:
        """Kill the replicas started here; Ray itself stays up for the next run of a suite."""
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.actors, self.pinned = [], []


def local_backend(config: RunConfig, task: Task, problems: list[Problem]) -> ModelBackend:
    from harness.registry import make_backend  # noqa: PLC0415

    return make_backend(config, task, problems)
