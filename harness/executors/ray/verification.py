"""Verification on Ray: chunks of candidates as Ray tasks, placed by the verifier's `ray_placement`.

Verdicts stream back with `ray.wait`. Each worker process keeps the last verifier it was sent (and
its warm sandbox pool) for the tasks after. A verifier that writes files (SWE-bench logs) ships
them with the verdicts of a task that ran on another node, and the driver keeps them.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from harness.config import ExecutorConfig
from harness.executors.base import ExecutorFailure
from harness.executors.local import safe_verify
from harness.executors.ray.cluster import Cluster
from harness.executors.ray.workers import RemoteFunctions, kept
from harness.records import Candidate, Problem, Verdict
from harness.verifiers.base import BatchVerifier, PlacedOnRay, RayPlacement, ShipsFiles, Verifier

TASKS_PER_SLOT = 4  # verification tasks per free slot for plain verifiers: small enough to balance, big enough to be cheap


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
    if not isinstance(verifier, ShipsFiles) or ray.get_runtime_context().get_node_id() == driver_node:
        return verdicts, None
    return verdicts, verifier.export_files(list(problems))


def placement_of(verifier: Verifier) -> RayPlacement:
    return verifier.ray_placement if isinstance(verifier, PlacedOnRay) else RayPlacement()


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


def task_resources(verifier: Verifier, config: ExecutorConfig, cluster: Cluster) -> dict[str, float]:
    placement = placement_of(verifier)
    need = {(config.docker_resource if name == "docker" else name): amount
            for name, amount in placement.resources.items()}
    # A pool as wide as the driver's CPUs still runs on a smaller node, on all of that node's CPUs.
    need["CPU"] = min(placement.cpus, cluster.largest("CPU")) if placement.cpus > 0 else 0.0
    return need


def check_placement(ray: ModuleType, config: ExecutorConfig, verifier: Verifier) -> None:
    """ConfigError when no node of the cluster could run the verifier's tasks."""
    cluster = Cluster.current(ray)
    hint = ""
    if "docker" in placement_of(verifier).resources:
        hint = (f"; mark nodes that have Docker and the images: ray start --resources "
                f"'{{\"{config.docker_resource}\": 4}}', or for a Ray started here "
                f"executor.resources: {{{config.docker_resource}: 4}}")
    cluster.require(task_resources(verifier, config, cluster), f"verifier {verifier.name}", hint)


def verify_on_cluster(ray: ModuleType, config: ExecutorConfig, remotes: RemoteFunctions, verifier: Verifier,
                      problems: dict[str, Problem], feed: Iterator[list[Candidate]],
                      driver_node: str | None) -> Iterator[tuple[Candidate, Verdict]]:
    """Every candidate the feed hands over with its verdict, in completion order (tasks are submitted as
    candidates arrive); ExecutorFailure after the rest when tasks failed for good."""
    cluster = Cluster.current(ray)
    need = task_resources(verifier, config, cluster)
    slots = cluster.require(need, f"verifier {verifier.name}")
    batch = isinstance(verifier, BatchVerifier)
    task = remotes(verify_chunk).options(num_cpus=need.pop("CPU"), resources=need or None, max_retries=config.max_retries)
    box = [ray.put(verifier)]
    failures: list[tuple[list[Candidate], BaseException]] = []
    pending: dict[Any, list[Candidate]] = {}
    groups: deque[list[Candidate]] = deque()
    window = 2 * slots  # queued beyond the running ones, so a freed slot never waits for the driver
    feed_open = True
    while feed_open or groups or pending:
        if feed_open and len(groups) < window:
            try:
                arrived = next(feed)
            except StopIteration:
                feed_open = False
            else:
                size = chunk_length(len(arrived), slots, batch, config.verify_chunk)
                groups.extend(verification_groups(arrived, placement_of(verifier).per_problem, size))
        while groups and len(pending) < window:
            group = groups.popleft()
            pending[task.remote(box, {c.problem_id: problems[c.problem_id] for c in group}, group, driver_node)] = group
        if not pending:
            continue
        done, _ = ray.wait(list(pending), num_returns=1, timeout=0.05 if feed_open else None)
        for ref in done:
            group = pending.pop(ref)
            try:
                verdicts, shipped = ray.get(ref)
            except ray.exceptions.RayError as exc:  # its worker died past max_retries, or the verifier raised
                failures.append((group, exc))
                continue
            if shipped is not None and isinstance(verifier, ShipsFiles):
                verifier.import_files(shipped)
            yield from zip(group, verdicts, strict=True)
    if failures:
        lost = sum(len(group) for group, _ in failures)
        raise ExecutorFailure(
            f"{len(failures)} verification task(s) failed for good: their worker died more than "
            f"executor.max_retries ({config.max_retries}) times, or the verifier raised. {lost} candidates "
            f"stay unverified; run the same command again to verify them. The first error: {failures[0][1]}")
