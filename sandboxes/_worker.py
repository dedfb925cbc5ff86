"""Host side of one sandbox worker: start its zygote, send jobs, read answers under deadlines,
and tell a dead or hung worker apart from a job that failed."""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import threading
import time
from concurrent.futures import Future

from sandboxes._zygote import HEAD, decode_body, encode_message
from sandboxes.base import ExecResult
from sandboxes.cgroups import MEMORY_HEADROOM, PoolPriorities, WorkerCgroup
from sandboxes.isolation import Isolation, Layout, allocate_uid, launch, release_uid

START_TIMEOUT_S = 60.0  # bubblewrap setup plus the zygote's imports, on a loaded machine
GRACE_S = 5.0  # beyond a job's wall clock before the zygote itself counts as hung
LOG_TAIL_BYTES = 2000
DEMOTION_POLL_S = 0.02  # how often a job's CPU time is read once it could be long
BOOST_BEFORE_S = 0.01  # a demoted job's worker is boosted this long before its wall clock ends


class WorkerFailed(Exception):
    """The worker, not the job, failed: it died or stopped answering. The message is evidence."""

    def __init__(self, message: str, hung: bool = False):
        super().__init__(message)
        self.hung = hung


class _Spawner:
    """Starts every worker from one long-lived thread. bubblewrap's --die-with-parent follows
    the *thread* that forked it: a worker started from a short-lived thread would die with it."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="sandbox-spawner", daemon=True).start()

    def _loop(self) -> None:
        while True:
            argv, kwargs, future = self._requests.get()
            try:
                future.set_result(subprocess.Popen(argv, **kwargs))
            except BaseException as e:
                future.set_exception(e)

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        future: Future = Future()
        self._requests.put((argv, kwargs, future))
        return future.result()


_spawner_lock = threading.Lock()
_spawner: _Spawner | None = None


def _spawn(argv: list[str], **kwargs) -> subprocess.Popen:
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    return _spawner.popen(argv, **kwargs)


class _Demotion:
    """A running job's priority (workers with a cgroup). Once it has used `after_s` of CPU
    (CPU time, not wall clock: a job that only waits for a busy CPU is not long), it is
    demoted (`PoolPriorities`: idle while its pool has short work). Just before its wall clock
    runs out it is boosted: the zygote, which shares the cgroup, wakes on time to end the job,
    or lets it run on for CPU time it is owed (`_zygote.JobClock`), which it then gets quickly."""

    def __init__(self, cgroup: WorkerCgroup, priorities: PoolPriorities, after_s: float, wall_s: float) -> None:
        self.cgroup, self.priorities, self.after_s = cgroup, priorities, after_s
        self.baseline = cgroup.cpu_usage_s()
        now = time.monotonic()
        self.boost_at = now + wall_s - BOOST_BEFORE_S
        self.check_at: float | None = now + after_s  # when `step` is due (None: never again)
        self.demoted = False

    def step(self) -> None:
        now = time.monotonic()
        if self.demoted or now >= self.boost_at:
            self.priorities.boost(self.cgroup)
            self.check_at = None
            return
        used = self.cgroup.cpu_usage_s() - self.baseline
        if used >= self.after_s:
            self.priorities.demote(self.cgroup)
            self.demoted, self.check_at = True, self.boost_at
        else:  # one thread cannot use more CPU than wall clock: look again when it could have
            self.check_at = min(self.boost_at, now + max(DEMOTION_POLL_S, self.after_s - used))


class Worker:
    """One zygote. `request` sends a job and returns its reply, or raises WorkerFailed.

    With a `cgroup`, the worker's processes live in it from the moment the zygote is ready,
    and a job's demotion (`demote_after_s`) concerns the whole cgroup (`PoolPriorities`)
    instead of each of the job's threads: see `sandboxes.cgroups`."""

    def __init__(self, iso: Isolation, layout: Layout, log_path: str, cgroup: WorkerCgroup | None = None,
                 priorities: PoolPriorities | None = None):
        self.iso, self.layout, self.log_path = iso, layout, log_path
        self.uid = allocate_uid() if iso.privileged else None
        self.cgroup = cgroup
        # the pool's CPU priorities, when this worker's cgroup can take them
        self.priorities = priorities if cgroup is not None and cgroup.controls_cpu else None
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self._demotion: _Demotion | None = None  # of the running job

    def start(self) -> None:
        argv, cfg = launch(self.iso, self.layout, self.uid)
        self._host_dirs()
        with open(self.log_path, "ab") as log:
            self.proc = _spawn([*argv, json.dumps(cfg)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=log, cwd="/", start_new_session=True,
                               env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"})
        os.set_blocking(self.proc.stdin.fileno(), False)
        try:
            self.info, _ = self._receive(time.monotonic() + START_TIMEOUT_S, 1 << 20)
        except WorkerFailed as e:
            self.kill()
            raise WorkerFailed(f"the sandbox worker did not start ({e})") from None
        if self.cgroup is not None:  # the zygote waits for its first job now: nothing forks
            self.cgroup.attach(self.proc.pid)

    def _host_dirs(self) -> None:
        """The fallback tiers work in host directories; bubblewrap uses private tmpfs instead."""
        if self.iso.kind == "bwrap":
            return
        for name, mode in (("root", 0o755), ("tmp", 0o1777)):
            path = os.path.join(self.layout.scratch, name)
            os.makedirs(path, exist_ok=True)
            os.chmod(path, mode)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def request(self, header: dict, blobs: list[bytes], timeout_s: float, max_reply: int) -> tuple[dict, list[bytes]]:
        try:
            if not self.alive:
                self.restart()
            header = self._prepare(header)
            deadline = time.monotonic() + timeout_s
            self._send(encode_message(header, blobs), deadline)
            reply = self._receive(deadline, max_reply)
        finally:
            self._job_done()
        self._note_oom_kills(reply[0], header["limits"]["memory_bytes"])
        if not reply[0].get("healthy", True):
            self.kill()  # it exits after answering; the next request starts a fresh one
        return reply

    def _prepare(self, header: dict) -> dict:
        """The job's memory limit and demotion; the header the zygote gets."""
        if self.cgroup is not None:
            self.cgroup.set_memory_limit(header["limits"]["memory_bytes"] + MEMORY_HEADROOM)
        demote_after_s = header.get("demote_after_s")
        if demote_after_s and self.priorities is not None:
            self._demotion = _Demotion(self.cgroup, self.priorities, demote_after_s, header["limits"]["wall_s"])
            return {**header, "demote_after_s": None}  # the cgroup does it, not the zygote
        return header

    def _job_done(self) -> None:
        demotion, self._demotion = self._demotion, None
        if self.priorities is not None:
            self.priorities.job_done(self.cgroup, demoted=demotion is not None and demotion.demoted)

    def _note_oom_kills(self, reply: dict, job_memory: int) -> None:
        if self.cgroup is not None and (killed := self.cgroup.new_oom_kills()):
            reply.setdefault("notes", []).append(
                f"the out-of-memory killer ended {killed} process(es) of this job at the sandbox's memory "
                f"limit ({self.cgroup.memory_limit >> 20} MiB: the job's {job_memory >> 20} MiB plus "
                f"{MEMORY_HEADROOM >> 20} MiB for the worker)")

    def _send(self, parts: list[bytes], deadline: float) -> None:
        fd = self.proc.stdin.fileno()
        for part in parts:
            view = memoryview(part)
            while view:
                if not select.select([], [fd], [], max(0.0, deadline - time.monotonic()))[1]:
                    raise WorkerFailed("the worker stopped reading its jobs", hung=True)
                try:
                    view = view[os.write(fd, view):]
                except BrokenPipeError:
                    raise WorkerFailed(self.evidence("the worker died before taking the job")) from None

    def _read(self, n: int, deadline: float) -> bytes:
        fd, parts = self.proc.stdout.fileno(), []
        while n:
            check_at = None if self._demotion is None else self._demotion.check_at
            wake = deadline if check_at is None else min(deadline, check_at)
            if not select.select([fd], [], [], max(0.0, wake - time.monotonic()))[0]:
                if wake < deadline:
                    self._demotion.step()
                    continue
                raise WorkerFailed("the worker stopped answering", hung=True)
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                raise WorkerFailed(self.evidence("the worker died"))
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def _receive(self, deadline: float, max_body: int) -> tuple[dict, list[bytes]]:
        body_len, head_len = HEAD.unpack(self._read(HEAD.size, deadline))
        if body_len > max_body or head_len > body_len:
            raise WorkerFailed(f"the worker sent a malformed answer ({body_len} bytes)")
        try:
            return decode_body(self._read(body_len, deadline), head_len)
        except ValueError as e:
            raise WorkerFailed(f"the worker sent a malformed answer: {e}") from None

    def evidence(self, what: str) -> str:
        """What we know about a dead worker: its exit status and the tail of its log."""
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        status = f"exit status {code}" if code is None or code >= 0 else f"signal {signal.Signals(-code).name}"
        return f"{what} ({status}){self._log_tail()}"

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - LOG_TAIL_BYTES))
                tail = f.read().decode(errors="replace").strip()
        except OSError:
            return ""
        return f"; worker log: {tail}" if tail else ""

    def kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap; its sandbox dies with it
        except ProcessLookupError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def close(self) -> None:
        if self.proc is not None and self.alive:
            try:
                self.proc.stdin.close()  # end of jobs: the zygote exits
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        release_uid(self.uid)
        if self.cgroup is not None:
            self.cgroup.remove()


def decode_output(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def to_result(reply: dict, blobs: list[bytes]) -> ExecResult:
    """An ExecResult from the zygote's answer; the sandbox's own findings end stderr."""
    stderr = decode_output(blobs[1]) if len(blobs) > 1 else ""
    notes = [str(n) for n in reply.get("notes", [])]
    if notes:
        stderr += ("" if not stderr or stderr.endswith("\n") else "\n") + "".join(f"[sandbox] {n}\n" for n in notes)
    return ExecResult(
        exit_code=reply.get("exit_code"), signal=reply.get("signal"), timed_out=bool(reply.get("timed_out")),
        stdout=decode_output(blobs[0]) if blobs else "", stderr=stderr,
        output_truncated=bool(reply.get("stdout_dropped") or reply.get("stderr_dropped")),
        duration_s=float(reply.get("duration_s", 0.0)),
        completed=None if reply.get("completed") is None else bool(reply.get("completed")))


def failure_result(error: WorkerFailed, duration_s: float) -> ExecResult:
    """The job's result when its worker died or hung: failed (or timed out), with the evidence."""
    return ExecResult(exit_code=None, timed_out=error.hung, duration_s=duration_s,
                      stderr=f"[sandbox] {error} while running this job; the worker was replaced\n")
