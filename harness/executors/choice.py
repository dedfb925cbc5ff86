"""executor.kind -> the executor a run's work goes through; ray is imported only when chosen."""

from __future__ import annotations

from harness.config import ExecutorConfig
from harness.executors.base import Executor


def make_executor(config: ExecutorConfig, workers: int) -> Executor:
    """`workers`: verification processes of the local executor (verify.workers)."""
    if config.kind == "ray":
        from harness.executors.ray.executor import RayExecutor  # noqa: PLC0415 - ray stays an optional extra

        return RayExecutor(config)
    from harness.executors.local import LocalExecutor  # noqa: PLC0415

    return LocalExecutor(workers)
