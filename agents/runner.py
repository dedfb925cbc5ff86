"""Many attempts at once: asyncio tasks against one model client, one shared environment per instance.

Attempts are started lazily from the caller's iterable, at most `max_in_flight` at a time,
and their results stream back as they end. An instance's environment (snapshot + index)
is built once, in a worker thread so the running attempts keep going, shared by all its
attempts, and dropped when the last one ends (a few idle ones are kept for a resume).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from agents.config import AgentConfig
from agents.filecache import FileCache
from agents.loop import AttemptResult, AttemptSpec, EndStatus, run_attempt
from agents.model import ModelClient
from agents.pacing import Pacer
from agents.snapshots import SnapshotCache, source_for
from agents.tools import Environment
from agents.trajectory import Totals, TrajectoryFile
from harness.concurrency import bounded_as_completed
from harness.records import Problem

logger = logging.getLogger(__name__)


@dataclass
class _Entry:
    task: asyncio.Task[Environment]
    users: int = 0


class Environments:
    """Problem -> Environment, built once per problem (in a thread), shared while attempts use it."""

    def __init__(self, build: Callable[[Problem], Environment], keep_idle: int = 2) -> None:
        self.build, self.keep_idle = build, keep_idle
        self._entries: dict[str, _Entry] = {}
        self._idle: OrderedDict[str, None] = OrderedDict()

    async def acquire(self, problem: Problem) -> Environment:
        entry = self._entries.get(problem.id)
        if entry is None:
            entry = _Entry(asyncio.get_running_loop().create_task(asyncio.to_thread(self._build, problem)))
            self._entries[problem.id] = entry
        entry.users += 1
        self._idle.pop(problem.id, None)
        return await asyncio.shield(entry.task)

    def _build(self, problem: Problem) -> Environment:
        env = self.build(problem)
        # The index is hundreds of thousands of long-lived objects: out of the collector's sight, full
        # collections stop pausing every attempt for tens of milliseconds.
        gc.freeze()
        return env

    def release(self, problem: Problem) -> None:
        entry = self._entries[problem.id]
        entry.users -= 1
        if entry.users == 0:
            self._idle[problem.id] = None
            while len(self._idle) > self.keep_idle:
                self._entries.pop(self._idle.popitem(last=False)[0], None)


def snapshot_environments(config: AgentConfig, snapshots_dir: Path, repos_dir: Path | None = None) -> Environments:
    """Environments for SWE-bench problems: the repo from a local clone at base_commit, else from the image."""
    cache = SnapshotCache(snapshots_dir)
    files = FileCache(Path(snapshots_dir) / "file-index")  # equal files of an instance and the next are indexed once

    def build(problem: Problem) -> Environment:
        snapshot = cache.get(source_for(problem, repos_dir))
        return Environment.build(snapshot, config.tools, index_cache=snapshot.root.parent, file_cache=files,  # beside <key>/tree
                                 workers=config.index_workers)

    return Environments(build)


def trajectory_path(root: Path, spec: AttemptSpec) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in spec.problem_id)
    return root / safe / f"{spec.index:05d}.jsonl"


class AgentRunner:
    def __init__(self, client: ModelClient, config: AgentConfig, envs: Environments, trajectories: Path, chat: bool = True) -> None:
        """chat=False: the backend serves a completions API (base models); each call is one transcript prompt."""
        self.client, self.config, self.envs, self.trajectories, self.chat = client, config, envs, Path(trajectories), chat
        self.pacer = Pacer(config.pace_slice_s) if config.pace_slice_s > 0 else None

    async def run_one(self, problem: Problem, spec: AttemptSpec) -> AttemptResult:
        path = trajectory_path(self.trajectories, spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            env = await self.envs.acquire(problem)
        except Exception as exc:  # noqa: BLE001 - no snapshot for this instance: its attempts fail, the others go on
            self.envs.release(problem)
            return _agent_error(spec, f"no environment: {type(exc).__name__}: {exc}")
        try:
            trajectory = TrajectoryFile(path, self.config.fsync)
            return await run_attempt(problem, env, spec, self.client, self.config, trajectory, self.pacer, self.chat)
        except Exception as exc:  # noqa: BLE001 - a bug in one attempt must not end the others
            logger.exception("attempt %s/%d failed", spec.problem_id, spec.index)
            return _agent_error(spec, f"{type(exc).__name__}: {exc}")
        finally:
            self.envs.release(problem)

    async def run(self, work: Iterable[tuple[Problem, AttemptSpec]]) -> AsyncIterator[AttemptResult]:
        """Results as attempts end (any order); at most config.max_in_flight attempts at once."""
        async for result in bounded_as_completed(work, lambda item: self.run_one(*item), self.config.max_in_flight):
            yield result


def _agent_error(spec: AttemptSpec, reason: str) -> AttemptResult:
    return AttemptResult(spec=spec, status=EndStatus.AGENT_ERROR, reason=reason, totals=Totals())
