"""How SWE-bench candidates are verified (`verify` in a run config), and the sandbox each instance gets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from sandboxes.base import Sandbox

WORKDIR = "/testbed"  # swebench.image_builder.constants.CONTAINER_WORKDIR

SandboxFactory = Callable[[str], "Sandbox"]


class SWEBenchSettings(BaseModel):
    """How SWE-bench candidates are verified; set under `verify` in a run config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    containers: int = Field(2, ge=1)  # instances verified at once, one warm container each
    eval_timeout_s: float = Field(1800.0, gt=0)  # the eval script's limit (swebench's default)
    flake_runs: int = Field(5, ge=0)  # gold-patch runs per instance to find flaky tests; 0: no check
    majority_runs: int = Field(11, ge=1)  # runs of a verdict that hinges on flaky tests (the paper: 11); 1: off
    logs_dir: Path | None = None  # default: <run dir>/swebench_logs
    memory_bytes: int = Field(4 << 30, ge=1 << 26)  # per container
    cpus: float = Field(1.0, gt=0)  # per container
    processes: int = Field(1024, ge=16)
    file_size_bytes: int = Field(1 << 30, ge=1 << 20)  # largest file a test may write
    output_bytes: int = Field(64 << 20, ge=1 << 16)  # test log kept per run; the rest is dropped


def docker_sandbox_factory(settings: SWEBenchSettings, run_id: str | None = None) -> SandboxFactory:
    """A DockerSandbox per instance image: no network, the configured limits, labelled with the run."""

    def open_sandbox(image: str) -> Sandbox:
        from sandboxes.base import Limits  # noqa: PLC0415
        from sandboxes.docker import DockerSandbox  # noqa: PLC0415

        limits = Limits(wall_s=settings.eval_timeout_s, cpu_s=int(settings.eval_timeout_s) + 60,
                        memory_bytes=settings.memory_bytes, processes=settings.processes,
                        file_size_bytes=settings.file_size_bytes, output_bytes=settings.output_bytes)
        return DockerSandbox(image, limits=limits, workdir=WORKDIR, run_id=run_id, cpus=settings.cpus)

    return open_sandbox
