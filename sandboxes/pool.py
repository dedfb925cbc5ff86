"""A pool of long-lived sandboxed workers for code verification at volume.

Each worker is one sandbox (bubblewrap where available, see `sandboxes.isolation`) whose
first process is a Python "zygote" that has imported what jobs need and forks a child per
job: no interpreter start and no sandbox setup per job. A child runs in a fresh, empty
working directory with its own session, rlimits and (as root) an unprivileged uid; when it
ends, every process it started is killed and its files are wiped. A job that kills, hangs
or wrecks its worker gets a failed (or timed-out) result saying so, and the worker is
replaced; other jobs never notice.

    with ExecutionPool(workers=4) as pool:
        result = pool.run(PythonJob(source="print(input())", stdin="hi\\n"))
        compiled = pool.run(ExecJob(argv=["g++", "-O2", "-o", "prog", "main.cpp"],
                                    files={"main.cpp": src}, save={"prog": "abc123"}))
        runs = pool.run_many(ExecJob(argv=[pool.artifact_path("abc123")], stdin=t) for t in tests)
"""

from __future__ import annotations

import os
import queue
import re
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from sandboxes._worker import GRACE_S, Worker, WorkerFailed, failure_result, to_result
from sandboxes._zygote import EXTENSION_LIMITS, remove_tree
from sandboxes.base import ExecResult, Limits, SandboxUnavailable
from sandboxes.cgroups import CgroupSupport, PoolPriorities, WorkerCgroup, detect_cgroups
from sandboxes.isolation import ARTIFACTS, Layout, detect_isolation

ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
TRANSFER_S_PER_MB = 0.05  # time allowed per megabyte of reply, on top of the wall clock


class PythonJob(BaseModel):
    """Python source run as `__main__` by a child forked from the worker's zygote."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    stdin: str = ""
    limits: Limits = Limits()
    files: dict[str, str | bytes] = Field(default_factory=dict)  # written into its working dir first
    demote_after_s: float | None = Field(None, gt=0)  # see `ExecJob`
    guaranteed_cpu_s: float | None = Field(None, gt=0)  # see `ExecJob`
    # the result's `completed`: whether the source ran to its end without an exception, proven
    # by harness code after it (a nonce the program is not given; `_zygote_job.ProofOfCompletion`)
    prove_completion: bool = False


class ExecJob(BaseModel):
    """fork + execve of `argv` (searched on PATH) in a fresh working dir holding `files`.

    `save` maps a file the job leaves in its working dir to an artifact name: on exit status
    0 it is kept in the pool's artifact dir, read-only to later jobs at `artifact_path(name)`.
    That is how a program is compiled once and run on many tests.

    `demote_after_s`: once the job has used this much CPU time, it and every process it
    started only get CPU that nothing else wants (its worker's cgroup goes idle; without
    cgroups, SCHED_IDLE at nice 19), so a job that runs on to its wall-clock limit (an
    infinite loop) costs shorter jobs little. None (the default): full priority throughout,
    so timing near a limit does not depend on what else runs.

    `guaranteed_cpu_s`: a job that reaches its wall-clock limit with less CPU time than this,
    having waited at least the difference for a CPU (demoted, or on a busy machine), runs on
    at full priority until it has had it (at most its wall clock again; the reply's notes
    say so): a slow but correct job is not timed out for CPU it was denied. See
    `_zygote.JobClock`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    argv: list[str] = Field(min_length=1)
    stdin: str = ""
    limits: Limits = Limits()
    files: dict[str, str | bytes] = Field(default_factory=dict)
    save: dict[str, str] = Field(default_factory=dict)
    demote_after_s: float | None = Field(None, gt=0)
    guaranteed_cpu_s: float | None = Field(None, gt=0)


Job = PythonJob | ExecJob


def _encode(data: str | bytes) -> bytes:
    # lone surrogates (a model can emit them through JSON escapes) reach the job as the
    # invalid UTF-8 they are, to fail there with evidence, never here
    return data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data


def encode_job(job: Job) -> tuple[dict, list[bytes]]:
    """The zygote's request: header and blobs [stdin, source, *files]."""
    names = list(job.files)
    python = isinstance(job, PythonJob)
    header = {"kind": "python" if python else "exec", "argv": None if python else job.argv,
              "limits": job.limits.model_dump(), "files": names,
              "save": [] if python else list(job.save), "demote_after_s": job.demote_after_s,
              "guaranteed_cpu_s": job.guaranteed_cpu_s, "proof": python and job.prove_completion}
    blobs = [_encode(job.stdin), _encode(job.source) if python else b"", *(_encode(job.files[n]) for n in names)]
    return header, blobs


def reply_budget(job: Job) -> tuple[float, int]:
    """How long the host waits for a job's answer and how big the answer may be."""
    saves = len(job.save) if isinstance(job, ExecJob) else 0
    max_reply = 2 * job.limits.output_bytes + saves * job.limits.file_size_bytes + (1 << 20)
    extension = EXTENSION_LIMITS * job.limits.wall_s if job.guaranteed_cpu_s else 0.0
    return job.limits.wall_s + extension + GRACE_S + TRANSFER_S_PER_MB * max_reply / (1 << 20), max_reply


class ExecutionPool:
    """N sandboxed zygote workers; `run` and `run_many` spread jobs over them."""

    def __init__(self, workers: int | None = None, isolation: str = "auto", *,
                 scratch_bytes: int = 256 << 20, preload: Iterable[str] = (), python_path: Iterable[str] = (),
                 base_dir: str | Path | None = None, cgroups: bool = True, unsafe_no_isolation: bool = False):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._iso = detect_isolation(isolation, unsafe_no_isolation)
        self._cgroups = detect_cgroups() if cgroups else CgroupSupport(0, why_not="not asked for")
        self._priorities = PoolPriorities() if self._cgroups.cpu else None
        self.isolation = f"{self._iso.description}; {self.workers} forking zygote workers; {self._cgroups.description}"
        self._dir = tempfile.mkdtemp(prefix="monkeys-pool-", dir=base_dir)
        if self._iso.kind != "bwrap":
            os.chmod(self._dir, 0o711)  # without a mount namespace the jobs' uid must reach its dirs
        self.artifact_dir = os.path.join(self._dir, "artifacts")
        os.mkdir(self.artifact_dir, 0o755)
        self._layout = dict(scratch_bytes=scratch_bytes, preload=tuple(preload), python_path=tuple(python_path),
                            artifacts=self.artifact_dir)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._workers: list[Worker | None] = [None] * self.workers  # for inspection (tests)
        self._closed = False
        self._threads = self._start_workers()

    def _start_workers(self) -> list[threading.Thread]:
        started: list[Future] = [Future() for _ in range(self.workers)]
        threads = [threading.Thread(target=self._serve, args=(i, started[i]), name=f"sandbox-worker-{i}",
                                    daemon=True) for i in range(self.workers)]
        for t in threads:
            t.start()
        errors = [f.exception() for f in started if f.exception() is not None]
        if errors:
            self._threads = threads
            self.close()
            raise SandboxUnavailable(f"sandbox workers did not start: {errors[0]}")
        return threads

    def _new_worker(self, index: int) -> Worker:
        scratch = os.path.join(self._dir, f"worker-{index}")
        os.makedirs(scratch, mode=0o711, exist_ok=True)
        layout = Layout(scratch=scratch, **self._layout)
        cgroup = WorkerCgroup(self._cgroups) if self._cgroups.version else None
        return Worker(self._iso, layout, os.path.join(self._dir, f"worker-{index}.log"), cgroup, self._priorities)

    def _serve(self, index: int, started: Future) -> None:
        """One thread per worker: it starts the worker (and so owns its lifetime) and runs jobs."""
        worker = self._workers[index] = self._new_worker(index)
        try:
            worker.start()
        except (WorkerFailed, OSError) as e:
            worker.close()
            started.set_exception(e)
            return
        started.set_result(None)
        try:
            while (item := self._jobs.get()) is not None:
                job, future = item
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(self._execute(worker, job))
                    except BaseException as e:  # a bug here must reach the caller, not kill the thread
                        future.set_exception(e)
                elif self._priorities is not None:
                    self._priorities.job_done(None, demoted=False)  # cancelled while queued
        finally:
            worker.close()

    def _execute(self, worker: Worker, job: Job) -> ExecResult:
        header, blobs = encode_job(job)
        timeout_s, max_reply = reply_budget(job)
        start = time.monotonic()
        try:
            reply, out = worker.request(header, blobs, timeout_s, max_reply)
        except WorkerFailed as e:
            worker.kill()  # restarted (with fresh namespaces) for the next job
            return failure_result(e, time.monotonic() - start)
        if isinstance(job, ExecJob):
            self._store_artifacts(job, reply.get("saved", []), out[2:])
        return to_result(reply, out)

    def _store_artifacts(self, job: ExecJob, saved: list[str], blobs: list[bytes]) -> None:
        for name, data in zip(saved, blobs):
            artifact = job.save.get(name)
            if artifact is None or not ARTIFACT_NAME.match(artifact):
                continue
            tmp = os.path.join(self.artifact_dir, f".{artifact}.{threading.get_ident()}")
            with open(tmp, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o755)
            os.replace(tmp, os.path.join(self.artifact_dir, artifact))  # never half-written to a reader

    # -- public API --
    def submit(self, job: Job) -> Future:
        if self._closed:
            raise RuntimeError("the pool is closed")
        future: Future = Future()
        if self._priorities is not None:
            self._priorities.job_queued()
        self._jobs.put((job, future))
        return future

    def run(self, job: Job) -> ExecResult:
        return self.submit(job).result()

    def run_many(self, jobs: Iterable[Job], window: int | None = None) -> Iterator[ExecResult]:
        """Results in input order; at most `window` jobs queued at a time (jobs are read lazily)."""
        window = window or 4 * self.workers
        pending: deque[Future] = deque()
        for job in jobs:
            pending.append(self.submit(job))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def artifact_path(self, name: str) -> str:
        """Where jobs find a saved artifact (read-only)."""
        if not ARTIFACT_NAME.match(name):
            raise ValueError(f"bad artifact name {name!r}")
        root = ARTIFACTS if self._iso.kind == "bwrap" else self.artifact_dir
        return f"{root}/{name}"

    def has_artifact(self, name: str) -> bool:
        return bool(ARTIFACT_NAME.match(name)) and os.path.isfile(os.path.join(self.artifact_dir, name))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join(timeout=30)
        remove_tree(self._dir)  # unlocks what the code chmod'ed shut

    def __enter__(self) -> ExecutionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

