"""`RayExecutor`: the `Executor` that puts a run's sampling and verification on a Ray cluster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harness.config import ExecutorConfig
from harness.executors.ray.cluster import connect
from harness.executors.ray.sampling import ModelReplicas
from harness.executors.ray.verification import check_placement, verify_on_cluster
from harness.executors.ray.workers import RemoteFunctions
from harness.records import Candidate, Problem, Verdict
from harness.verifiers.base import Verifier

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.models.base import ModelBackend
    from harness.problems.base import Task


class RayExecutor:
    name = "ray"

    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config
        self.ray = connect(config)
        self.remotes = RemoteFunctions(self.ray)
        self.replicas = ModelReplicas(self.ray, config, self.remotes)

    def model_backend(self, config: RunConfig, task: Task, problems: list[Problem]) -> ModelBackend:
        return self.replicas.backend(config, task, problems)

    def check(self, verifier: Verifier) -> None:
        check_placement(self.ray, self.config, verifier)

    def verify_all(self, verifier: Verifier, problems: dict[str, Problem],
                   candidates: list[Candidate]) -> Iterator[tuple[Candidate, Verdict]]:
        if not candidates:
            return
        yield from verify_on_cluster(self.ray, self.config, self.remotes, verifier, problems, iter([candidates]),
                                     self.driver_node())

    def verify_stream(self, verifier: Verifier, problems: dict[str, Problem],
                      feed: Iterator[list[Candidate]]) -> Iterator[tuple[Candidate, Verdict]]:
        yield from verify_on_cluster(self.ray, self.config, self.remotes, verifier, problems, feed, self.driver_node())

    def driver_node(self) -> str | None:
        """The node this process runs on; None for a Ray Client driver, which shares no node's files."""
        if (self.config.address or "").startswith("ray://"):
            return None
        return self.ray.get_runtime_context().get_node_id()

    def close(self) -> None:
        """Kill the replicas this executor started; Ray itself stays up for the next run of a suite."""
        self.replicas.close()
