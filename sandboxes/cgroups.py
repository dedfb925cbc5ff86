"""Per-worker cgroups for sandbox workers, where this process may create them (root, or a
delegated subtree): cgroup v1 (a `cpu` and a `memory` hierarchy) or v2 (one tree).

Each worker (bubblewrap, its zygote and every process a job starts, which cannot leave: the
sandbox sees no cgroup filesystem) lives in a cgroup of its own, made beside this process's
own cgroup, so a worker weighs as much as one task against everything else on the machine.

- CPU: a job that has used its `demote_after_s` of CPU time is demoted: its worker's cgroup
  goes idle (`cpu.idle`, Linux 5.15+; the lowest weight on older kernels) while the pool has
  short work, so the whole worker only gets CPU that the pool's short jobs leave; just before
  its wall clock runs out it is boosted (`PoolPriorities`). Per-task SCHED_IDLE (the fallback
  without cgroups) does the same on paper, but measured here (kernel 6.18, EEVDF) four busy
  loops under it slowed a stream of short jobs by 60-100%, and in an idle cgroup by 5-10%
  (docs/benchmarks.md, bench_code).
- Memory: the worker's memory (resident pages, page cache and the files its jobs write to its
  tmpfs) is bounded, so a job that forks many processes below RLIMIT_AS each is still stopped.

Anything unavailable is left out and said in `CgroupSupport.description`; nothing here is
needed for isolation, which rests on namespaces and rlimits.
"""

from __future__ import annotations

import errno
import functools
import itertools
import os
import re
import threading
import time
from dataclasses import dataclass, field

PREFIX = "monkeys-"
BOOST_WEIGHT = 8  # tasks' worth of CPU weight for a job past its wall clock that is owed CPU time
MEMORY_HEADROOM = 64 << 20  # a worker's memory limit: its job's memory limit plus this, for the zygote
_NAME = re.compile(rf"^{PREFIX}(\d+)-\d+$")
_serial = itertools.count()


@dataclass(frozen=True)
class CgroupSupport:
    """Where worker cgroups go, per use: "cpu" (weight; v1 also needs "cpuacct" for usage) and
    "memory". A use missing from `parents` is not available here."""

    version: int  # 1 or 2; 0 when nothing is usable
    parents: dict[str, str] = field(default_factory=dict)
    why_not: str = ""

    @property
    def cpu(self) -> bool:
        return "cpu" in self.parents

    @property
    def memory(self) -> bool:
        return "memory" in self.parents

    def only(self, *uses: str) -> CgroupSupport:
        parents = {use: parent for use, parent in self.parents.items() if use in uses or (
            use == "cpuacct" and "cpu" in uses)}
        return CgroupSupport(self.version if parents else 0, parents, self.why_not or "not used here")

    @property
    def description(self) -> str:
        parts = (["long jobs demoted to idle CPU, boosted when owed CPU time"] if self.cpu else []) + (
            ["a memory limit per worker"] if self.memory else [])
        if not parts:
            return f"no cgroups ({self.why_not or 'not available'})"
        return f"cgroup v{self.version}: " + ", ".join(parts)


def _own_cgroups() -> dict[str, str]:
    """controller (or "" for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def _mounts() -> dict[str, str]:
    """controller (or "" for the v2 tree) -> where its hierarchy is mounted."""
    found = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], fields[sep + 3]
            if fstype == "cgroup2":
                found.setdefault("", fields[4])
            elif fstype == "cgroup":
                for name in options.split(","):
                    found.setdefault(name, fields[4])
    return found


def _usable(parent: str, marker: str) -> bool:
    """Can we make a child cgroup under `parent` that has the `marker` control file?"""
    probe = os.path.join(parent, f"{PREFIX}{os.getpid()}-probe{next(_serial)}")
    try:
        os.mkdir(probe)
    except OSError:
        return False
    try:
        return os.path.exists(os.path.join(probe, marker))
    finally:
        _rmdir(probe)


@functools.lru_cache(maxsize=1)
def detect_cgroups() -> CgroupSupport:
    try:
        own, mounts = _own_cgroups(), _mounts()
    except (OSError, ValueError):
        return CgroupSupport(0, why_not="no /proc/self/cgroup")
    if "cpu" in mounts or "memory" in mounts:  # v1 (perhaps beside a v2 tree without these)
        found = {use: _parent(mounts, own, controller, marker) for use, controller, marker in (
            ("cpu", "cpu", "cpu.shares"), ("cpuacct", "cpuacct", "cpuacct.usage"),
            ("memory", "memory", "memory.limit_in_bytes"))}
        if found["cpu"] is None or found["cpuacct"] is None:
            found["cpu"] = found["cpuacct"] = None
        parents = {use: parent for use, parent in found.items() if parent is not None}
        if parents:
            return CgroupSupport(1, parents)
    if "" in mounts and "" in own:
        parent = os.path.join(mounts[""], own[""].lstrip("/"))
        parents = {use: parent for use, marker in (("cpu", "cpu.weight"), ("memory", "memory.max"))
                   if _usable(parent, marker)}
        if parents:
            return CgroupSupport(2, parents)
    return CgroupSupport(0, why_not="this process may not create cgroups with cpu or memory control here")


def _parent(mounts: dict[str, str], own: dict[str, str], controller: str, marker: str) -> str | None:
    if controller not in mounts or controller not in own:
        return None
    parent = os.path.join(mounts[controller], own[controller].lstrip("/"))
    return parent if _usable(parent, marker) else None


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _rmdir(path: str, wait_s: float = 0.0) -> bool:
    """Remove an (empty) cgroup; its last processes may take a moment to be gone."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc/PID/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as f:
                    todo += [int(child) for child in f.read().split()]
            except OSError:
                pass
    return found


def remove_leftovers(parent: str) -> None:
    """Worker cgroups of processes that died without cleaning up (SIGKILL), now empty."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        match = _NAME.match(name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            _rmdir(os.path.join(parent, name))


class WorkerCgroup:
    """The cgroup(s) of one worker: created empty, processes attached after the worker starts."""

    def __init__(self, support: CgroupSupport) -> None:
        self.version = support.version
        name = f"{PREFIX}{os.getpid()}-{next(_serial)}"
        self.dirs: dict[str, str] = {}
        for use, parent in support.parents.items():
            path = os.path.join(parent, name)
            if path not in self.dirs.values():  # v2, or v1 with co-mounted controllers: one directory
                remove_leftovers(parent)
                os.mkdir(path)
            self.dirs[use] = path
        self.priority = "normal"
        self.memory_limit: int | None = None
        self.oom_kills_seen = 0
        if self.version == 2 and self.controls_memory:
            try:  # the limit is on memory, not memory plus swap
                _write(os.path.join(self.dirs["memory"], "memory.swap.max"), "0")
            except OSError:
                pass

    @property
    def controls_cpu(self) -> bool:
        return "cpu" in self.dirs

    @property
    def controls_memory(self) -> bool:
        return "memory" in self.dirs

    def attach(self, pid: int) -> None:
        """Move `pid` and its descendants in; call while none of them forks (a worker at rest)."""
        pids = descendants(pid)
        for path in set(self.dirs.values()):
            for member in pids:
                try:
                    _write(os.path.join(path, "cgroup.procs"), str(member))
                except ProcessLookupError:
                    pass
        self.oom_kills_seen = self.oom_kills()

    def cpu_usage_s(self) -> float:
        """CPU time used by every process that was ever in this cgroup."""
        if self.version == 1:
            with open(os.path.join(self.dirs["cpuacct"], "cpuacct.usage")) as f:
                return int(f.read()) / 1e9
        with open(os.path.join(self.dirs["cpu"], "cpu.stat")) as f:
            for line in f:
                key, value = line.split()
                if key == "usage_usec":
                    return int(value) / 1e6
        return 0.0

    def set_priority(self, priority: str) -> None:
        """"idle": only CPU time that no other task wants; "normal": one task's weight;
        "boost": `BOOST_WEIGHT` tasks' weight (a job owed CPU time it was denied)."""
        if not self.controls_cpu or priority == self.priority:
            return
        weight = {"idle": 0, "normal": 1, "boost": BOOST_WEIGHT}[priority]
        idle_file = os.path.join(self.dirs["cpu"], "cpu.idle")
        if os.path.exists(idle_file) and (priority == "idle" or self.priority == "idle"):
            _write(idle_file, "1" if priority == "idle" else "0")
        if weight or not os.path.exists(idle_file):  # without cpu.idle: the lowest weight
            if self.version == 1:
                _write(os.path.join(self.dirs["cpu"], "cpu.shares"), str(max(2, 1024 * weight)))
            else:
                _write(os.path.join(self.dirs["cpu"], "cpu.weight"), str(max(1, 100 * weight)))
        self.priority = priority

    def set_memory_limit(self, limit: int) -> None:
        """Bound the worker's memory (kept when the kernel refuses: below what it uses now)."""
        if not self.controls_memory or limit == self.memory_limit:
            return
        name = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
        try:
            _write(os.path.join(self.dirs["memory"], name), str(limit))
        except OSError:
            return
        self.memory_limit = limit

    def oom_kills(self) -> int:
        """How many processes the OOM killer has killed in this cgroup so far."""
        if not self.controls_memory:
            return 0
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            with open(os.path.join(self.dirs["memory"], name)) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def new_oom_kills(self) -> int:
        """OOM kills since the last call (or since `attach`)."""
        now = self.oom_kills()
        new, self.oom_kills_seen = now - self.oom_kills_seen, now
        return new

    def remove(self) -> None:
        for path in set(self.dirs.values()):
            _rmdir(path, wait_s=1.0)


class PoolPriorities:
    """The CPU priority of one pool's worker cgroups. A demoted (long) job is idle only while
    its pool has short work, queued or running: demotion is there so that a pool's loops do
    not slow its own short jobs, not to lose the CPU to everything else on the machine. With
    no short work left, long jobs run at normal priority, as any task. A job past its wall
    clock is boosted (it is ended on time, or it is owed CPU time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._short = 0  # jobs queued or running that are not demoted
        self._long: set[WorkerCgroup] = set()

    def job_queued(self) -> None:
        with self._lock:
            self._short += 1
            if self._short == 1:
                self._set_long("idle")

    def demote(self, cgroup: WorkerCgroup) -> None:
        with self._lock:
            self._long.add(cgroup)
            self._short_ended()
            cgroup.set_priority("idle" if self._short else "normal")

    def boost(self, cgroup: WorkerCgroup) -> None:
        with self._lock:
            self._long.discard(cgroup)
            cgroup.set_priority("boost")

    def job_done(self, cgroup: WorkerCgroup | None, demoted: bool) -> None:
        """A job ended (cgroup None: it was cancelled before it ran)."""
        with self._lock:
            if cgroup is not None:
                self._long.discard(cgroup)
                cgroup.set_priority("normal")
            if not demoted:
                self._short_ended()

    def _short_ended(self) -> None:
        self._short -= 1
        if self._short == 0:
            self._set_long("normal")

    def _set_long(self, priority: str) -> None:
        for cgroup in self._long:
            cgroup.set_priority(priority)
