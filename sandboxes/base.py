"""One Sandbox protocol for untrusted code and patches; providers: local (namespaces + rlimits), docker.

Generated code and patches are untrusted: they run only inside a sandbox, with no network,
bounded time, memory, processes and disk, and the host and the run store never visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """Resource bounds for one execution."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_s: float = Field(10.0, gt=0)  # the whole process group is killed after this
    cpu_s: int = Field(10, ge=1)
    memory_bytes: int = Field(1 << 30, ge=1 << 20)  # address space
    processes: int = Field(64, ge=1)
    file_size_bytes: int = Field(64 << 20, ge=0)
    open_files: int = Field(256, ge=16)
    output_bytes: int = Field(1 << 20, ge=1024)  # captured stdout and stderr each; the rest is dropped


class ExecResult(BaseModel):
    exit_code: int | None  # None when the process was killed by a signal or the timeout
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    output_truncated: bool = False
    duration_s: float = 0.0
    completed: bool | None = None  # a Python job asked to prove completion: did its source run to its end?

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class PatchResult(BaseModel):
    applied: bool
    method: str | None = None  # which step of the fallback chain worked: "git apply", "git apply --3way", "patch --fuzz"
    log: str = ""


@runtime_checkable
class Sandbox(Protocol):
    """An isolated working tree. Paths are inside the sandbox; commands run with its limits."""

    isolation: str  # what is in force, said plainly, e.g. "bubblewrap namespaces + rlimits" or "rlimits only"

    def exec(self, command: str | Sequence[str], *, timeout_s: float | None = None, stdin: str | None = None,
             workdir: str | None = None) -> ExecResult: ...

    def write_file(self, path: str, data: str | bytes) -> None: ...

    def read_file(self, path: str) -> bytes: ...

    def apply_patch(self, patch: str) -> PatchResult: ...

    def reset(self) -> None:
        """Back to the state it was created in: modified, deleted and untracked files alike."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class PrestartsSpare(Protocol):
    """A sandbox whose reset() swaps in a spare started ahead (DockerSandbox) and starts the next one."""

    def reset_last(self) -> None:
        """reset(), starting no spare after it: the caller knows no further reset follows (a later
        reset() still works; it starts its container itself)."""
        ...


class SandboxUnavailable(RuntimeError):
    """A provider cannot run here (no docker engine, no image); the message says what to do."""
