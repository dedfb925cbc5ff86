"""The in-sandbox supervisor ("zygote") of one sandbox worker. Standard library only.

It starts once per worker, inside the sandbox, preloads modules, then serves job requests
from its control pipe: per job it forks a child that becomes a fresh, limited process (new
session, rlimits, unprivileged uid when the sandbox was started by root, stdio redirected,
working directory of its own) and runs the job: Python source as `__main__` in the forked
interpreter (no interpreter start: the speed of the pool), or execve of a program. The
zygote captures capped output, enforces the wall clock, kills every process the job left
behind, wipes the job's files and answers with one message.

Framing, both ways: u32 body length, u32 header length, body = JSON header + blobs whose
sizes the header lists. JSON and raw bytes, never pickle: the host must not trust what
comes out of a sandbox.
"""

from __future__ import annotations

import atexit
import builtins
import ctypes
import errno
import fcntl
import gc
import importlib
import io
import json
import os
import resource
import select
import signal
import _signal
import stat
import struct
import sys
import threading
import time
import traceback
import types

HEAD = struct.Struct("<II")
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36
JOB_DIR = "job"
MAIN_FILE = "main.py"
OOM_SCORE_JOB = 1000
POLL_S = 0.02  # how often a job's CPU time is looked at when a decision depends on it
DRAIN_S = 0.5  # after a job ends, how long its pipes are still read
EXTENSION_LIMITS = 1  # a job owed CPU time runs on for at most this many times its wall clock (JobClock)
CPU_BOUND_SHARE = 0.5  # a job runnable (running or waiting for a CPU) this much of its life wanted CPU
SETUP_FAILED = 70  # exit status of a child whose setup failed (EX_SOFTWARE)
DEMOTED_NICE = 19  # a job past its `demote_after_s` only soaks up CPU that shorter jobs leave idle
# What HumanEval/MBPP-style programs import most (typing alone takes ~4 ms to import). Kept
# short on purpose: every preloaded page makes each fork slower (the full stdlib favourites
# doubled the fork time); pass `preload=` for more.
DEFAULT_PRELOAD = ("bisect", "collections", "copy", "functools", "heapq", "itertools", "math", "operator",
                   "random", "re", "string", "typing")


# --- framing -------------------------------------------------------------------------

def encode_message(header: dict, blobs: list[bytes] = ()) -> list[bytes]:
    head = json.dumps(dict(header, blob_sizes=[len(b) for b in blobs])).encode()
    body_len = len(head) + sum(len(b) for b in blobs)
    return [HEAD.pack(body_len, len(head)), head, *blobs]


def decode_body(body: bytes, head_len: int) -> tuple[dict, list[bytes]]:
    header = json.loads(body[:head_len])
    blobs, offset = [], head_len
    for size in header.get("blob_sizes", []):
        blobs.append(body[offset:offset + size])
        offset += size
    return header, blobs


def _read_exact(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def read_message(fd: int) -> tuple[dict, list[bytes]] | None:
    head = _read_exact(fd, HEAD.size)
    if head is None:
        return None
    body_len, head_len = HEAD.unpack(head)
    body = _read_exact(fd, body_len)
    return None if body is None else decode_body(body, head_len)


def write_message(fd: int, header: dict, blobs: list[bytes] = ()) -> None:
    for part in encode_message(header, blobs):
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view):]


# --- process plumbing ----------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> None:
    _libc.prctl(option, value, 0, 0, 0)


_fork = ctypes.PyDLL(None, use_errno=True).fork  # called with the GIL held, as os.fork does
KNOWN_AT_FORK = frozenset(DEFAULT_PRELOAD)  # modules whose after-fork hooks `fork_job` replaces


def fork_job() -> int:
    """fork(2) without CPython's after-fork work in the child: os.fork re-initialises
    threading's state and reseeds `random` there, and the page faults that costs (about 170
    copy-on-write faults, 0.4 ms per job on a 2-vCPU VM) are a tenth of a short job. The
    zygote has a single thread and holds no lock, so there is nothing to re-initialise;
    `random` is reseeded here, before the fork, so every job still gets fresh seeds."""
    random = sys.modules.get("random")
    if random is not None:
        random.seed()
    pid = _fork()
    if pid < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return pid


def reap_all(block: bool) -> None:
    """Collect exited children; with block, wait until none is left (they were all SIGKILLed)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def nonblocking_pipe() -> tuple[int, int]:
    r, w = os.pipe2(os.O_CLOEXEC)
    os.set_blocking(r, False)
    try:  # a bigger pipe means fewer wake-ups for a flood of output
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass
    return r, w


def stdin_fd(data: bytes) -> int:
    fd = os.memfd_create("stdin", os.MFD_CLOEXEC)
    write_all_fd(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def write_all_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def safe_relpath(name: str) -> str:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad file name {name!r}: relative, no '..'")
    return name


def lower_priority(pgid: int, uid: int | None) -> None:
    """Every thread of the job (its uid's processes, else its process group) to SCHED_IDLE
    at nice 19; what they start later inherits both. Vanished tasks are skipped."""
    try:
        if uid is None:
            os.setpriority(os.PRIO_PGRP, pgid, DEMOTED_NICE)
        else:
            os.setpriority(os.PRIO_USER, uid, DEMOTED_NICE)
    except OSError:
        pass
    idle = os.sched_param(0)
    for pid in job_pids(pgid, uid):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setscheduler(int(tid), os.SCHED_IDLE, idle)
            except OSError:
                pass


def process_cpu_s(pid: int) -> float | None:
    """CPU time of a process and its reaped children (None: it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def run_delay_s(pid: int) -> float | None:
    """Time the process's main thread has spent waiting for a CPU while runnable (None: gone)."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def job_pids(pgid: int, uid: int | None) -> list[int]:
    """The job's processes: those of its uid (it has one of its own), else of its process group."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            if uid is not None:
                mine = os.stat(f"/proc/{name}").st_uid == uid
            else:
                with open(f"/proc/{name}/stat", "rb") as f:
                    mine = int(f.read().rsplit(b")", 1)[1].split()[2]) == pgid
        except (OSError, ValueError, IndexError):
            continue
        if mine:
            pids.append(int(name))
    return pids


# --- the job child (runs after fork; never returns) ----------------------------------

def set_limits(limits: dict, nproc_extra: int, privileged: bool) -> None:
    wanted = [
        (resource.RLIMIT_CPU, limits["cpu_s"], limits["cpu_s"] + 1),  # SIGXCPU, then SIGKILL
        (resource.RLIMIT_AS, limits["memory_bytes"], limits["memory_bytes"]),
        (resource.RLIMIT_NPROC, limits["processes"] + nproc_extra, limits["processes"] + nproc_extra),
        (resource.RLIMIT_FSIZE, limits["file_size_bytes"], limits["file_size_bytes"]),
        (resource.RLIMIT_NOFILE, limits["open_files"], limits["open_files"]),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    for res, soft, hard in wanted:
        if not privileged:  # an unprivileged process cannot raise its hard limit
            current = resource.getrlimit(res)[1]
            if current != resource.RLIM_INFINITY:
                soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(res, (soft, hard))


def volunteer_for_oom_kill() -> None:
    """Out of memory (the worker's cgroup limit, or the machine's), the kernel kills the job's
    processes first, never the zygote beside them (raising one's own score needs no privilege)."""
    try:  # os-level calls: the io module's objects would cost ~90 copy-on-write faults here
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
    except OSError:
        return
    try:
        os.write(fd, b"%d" % OOM_SCORE_JOB)
    except OSError:
        pass
    finally:
        os.close(fd)


def drop_privileges(uid: int | None, gid: int | None, pidns: bool) -> None:
    if uid is not None:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)  # clears every capability
    if not pidns:  # no pid namespace to take it down with the worker: die with the zygote
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def exec_program(argv: list[str]) -> None:
    for sig in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)  # ignored signals would stay ignored across execve
    try:
        os.execvpe(argv[0], argv, os.environ)
    except OSError as e:
        os.write(2, f"[sandbox] cannot execute {argv[0]!r}: {e.strerror}\n".encode())
        os._exit(127 if e.errno == errno.ENOENT else 126)


def exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def print_exception(exc: BaseException) -> None:
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next  # the job's traceback starts at its own code
    # sys.excepthook, as at the end of `python main.py`: by default the interpreter's own
    # printer (source lines from main.py in the working dir), ~130 copy-on-write faults fewer
    # than the traceback module
    exc = exc.with_traceback(tb)  # the printer shows exc.__traceback__
    try:
        sys.excepthook(type(exc), exc, tb)
    except BaseException:
        sys.__excepthook__(type(exc), exc, tb)


def finish_python() -> None:
    # like the interpreter at exit: wait for non-daemon threads (when the job started threads:
    # the call alone costs ~35 copy-on-write faults, a tenth of a short job's)
    if threading.active_count() > 1:
        try:
            threading._shutdown()
        except BaseException:
            pass
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def run_python(source: bytes, workdir: str) -> int:
    """The job's source as `__main__` of this (forked) interpreter, like `python main.py`.
    (`main` has cleared the zygote's exit handlers and set the standard streams already.)"""
    _signal.signal(signal.SIGINT, signal.default_int_handler)  # not signal.signal: its enum wrapping costs ~70 faults
    main = types.ModuleType("__main__")
    main.__file__, main.__builtins__ = MAIN_FILE, builtins
    sys.modules["__main__"], sys.argv = main, [MAIN_FILE]
    sys.path.insert(0, workdir)
    code = 0
    try:
        exec(compile(source, MAIN_FILE, "exec"), main.__dict__)
    except SystemExit as e:
        code = exit_status(e)
    except BaseException as e:
        print_exception(e)
        code = 1
    finally:
        finish_python()
    return code


def child(z: "Zygote", job: dict, source: bytes, workdir: str, fds: tuple[int, int, int]) -> None:
    code = SETUP_FAILED
    try:
        os.setsid()  # its own session and process group: killed as one
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 1 << 20)  # the control pipes above all
        set_limits(job["limits"], z.nproc_extra, z.uid is not None or os.geteuid() == 0)
        volunteer_for_oom_kill()
        drop_privileges(z.uid, z.gid, z.pidns)
        os.chdir(workdir)
        os.umask(0o022)
        if job["kind"] == "exec":
            exec_program(job["argv"])
        code = run_python(source, workdir)
    except BaseException:
        try:
            os.write(2, ("[sandbox] job setup failed: " + traceback.format_exc()).encode())
        except BaseException:
            pass
    finally:
        os._exit(code)


# --- the zygote ----------------------------------------------------------------------

class Capture:
    """stdout or stderr of a job: kept up to a cap, the rest read and dropped (never buffered)."""

    def __init__(self, fd: int, cap: int):
        self.fd, self.cap, self.data, self.dropped = fd, cap, bytearray(), 0

    def read(self) -> bool:
        """Read what is there; False at end of file."""
        while True:
            try:
                chunk = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            room = self.cap - len(self.data)
            self.data += chunk[:room]
            self.dropped += max(0, len(chunk) - room)


class JobClock:
    """When a job is demoted and when its time is up.

    The wall clock decides a timeout, with one exception: a job with `guaranteed_cpu_s` that
    reaches its limit having had less CPU time than that, though it wanted a CPU most of the
    time (it was demoted, or the machine was busy), runs on until it has had it, at most
    `EXTENSION_LIMITS` times its limit more. The wait was not its doing: a slow but correct
    program is not timed out for the CPU it was denied. A job that mostly slept gets no more
    time. (CPU time and waiting are its main process's: children it waits for do not count.)"""

    def __init__(self, pid: int, start: float, limits: dict, demote_after_s: float | None,
                 guaranteed_cpu_s: float | None) -> None:
        self.pid, self.start, self.limit_s = pid, start, limits["wall_s"]
        self.limit_at = self.deadline = start + self.limit_s
        self.cap = self.limit_at + EXTENSION_LIMITS * self.limit_s
        self.demote_after_s, self.guaranteed_cpu_s = demote_after_s, guaranteed_cpu_s
        self.demote_at = None if demote_after_s is None else start + demote_after_s
        self.extended_s = 0.0  # past the limit, to make up for waiting
        self.waited_s = 0.0

    def wake_at(self) -> float:
        return self.deadline if self.demote_at is None else min(self.deadline, self.demote_at)

    def demote_due(self, now: float) -> bool:
        """True once the job has used `demote_after_s` of CPU time (looked at when it could have)."""
        if self.demote_at is None or now < self.demote_at:
            return False
        used = process_cpu_s(self.pid)
        if used is None or used >= self.demote_after_s:
            self.demote_at = None
            return used is not None
        self.demote_at = now + max(POLL_S, self.demote_after_s - used)
        return False

    def expired(self, now: float) -> bool:
        """At the deadline: True to end the job; False when it moved on for CPU the job is owed."""
        if now < self.deadline:
            return False
        owed = self.owed_cpu_s(now)
        if owed <= 0 or now >= self.cap:
            return True
        self.deadline = min(self.cap, now + max(POLL_S, owed))  # it cannot use CPU faster than that
        self.extended_s = self.deadline - self.limit_at
        return False

    def owed_cpu_s(self, now: float) -> float:
        """CPU time still owed to a job that has been runnable (running, or waiting for a CPU)
        at least half of its life; a job that mostly slept is owed nothing."""
        if self.guaranteed_cpu_s is None:
            return 0.0
        used, waited = process_cpu_s(self.pid), run_delay_s(self.pid)
        if used is None or waited is None:
            return 0.0
        self.waited_s = waited
        runnable = (used + waited) / max(1e-9, now - self.start)
        return self.guaranteed_cpu_s - used if runnable >= CPU_BOUND_SHARE else 0.0

    def notes(self, timed_out: bool) -> list[str]:
        if not self.extended_s:
            return []
        why = (f"it had waited {self.waited_s:.2f} s for a CPU and is owed {self.guaranteed_cpu_s:g} s of CPU "
               "time before a timeout")
        if timed_out:
            return [f"the wall-clock limit was extended by up to {self.extended_s:.2f} s: {why}"]
        return [f"finished up to {self.extended_s:.2f} s past its wall-clock limit of {self.limit_s:g} s: {why}"]


class Zygote:
    def __init__(self, cfg: dict):
        self.root: str = cfg["root"]
        self.persistent: bool = cfg["persistent"]
        self.uid: int | None = cfg.get("uid")
        self.gid: int | None = cfg.get("gid")
        self.wipe: list[str] = cfg.get("wipe", [])
        self.pidns = os.getpid() == 1
        self.kill_mode = "pidns" if self.pidns else ("uid" if self.uid is not None else "pgroup")
        self.nproc_extra = self._nproc_extra()
        # modules preloaded on request may have after-fork hooks of their own: then os.fork runs them
        self.plain_fork: bool = set(cfg.get("preload", [])) <= KNOWN_AT_FORK

    def _nproc_extra(self) -> int:
        """RLIMIT_NPROC counts every process of the job's uid (in its user namespace)."""
        if self.uid is not None:
            return 0  # a uid of its own: the job's processes are all there is
        if self.pidns:
            return 1  # the zygote, same uid, in a user namespace of its own
        mine = 0  # no namespace, own uid: every process of this user counts
        for p in os.listdir("/proc"):
            try:
                mine += p.isdigit() and os.stat(f"/proc/{p}").st_uid == os.getuid()
            except OSError:
                pass
        return mine + 16

    # -- one job --
    def run(self, job: dict, blobs: list[bytes]) -> tuple[dict, list[bytes], bool]:
        start = time.monotonic()
        stdin, source, files = blobs[0], blobs[1], blobs[2:]
        try:
            workdir = self.prepare(job, files, source if job["kind"] == "python" else None)
        except (OSError, ValueError) as e:
            reply = {"exit_code": None, "notes": [f"could not prepare the job: {e}"], "saved": []}
            healthy = reply["healthy"] = self.cleanup(reply)
            return reply, [b"", b""], healthy
        (out_r, out_w), (err_r, err_w) = nonblocking_pipe(), nonblocking_pipe()
        in_fd = stdin_fd(stdin)
        pid = fork_job() if self.plain_fork else os.fork()
        if pid == 0:
            child(self, job, source, workdir, (in_fd, out_w, err_w))
        for fd in (in_fd, out_w, err_w):
            os.close(fd)
        reply, out, err = self.supervise(pid, out_r, err_r, job["limits"], start, job)
        if reply["exit_code"] == SETUP_FAILED and b"[sandbox] job setup failed" in err:
            reply["notes"].append("the job's setup failed before its code ran (see stderr)")
        saved = self.collect(job, workdir) if reply.get("exit_code") == 0 else []
        reply["saved"] = [name for name, _ in saved]
        healthy = reply["healthy"] = self.cleanup(reply)
        reply["duration_s"] = time.monotonic() - start
        return reply, [out, err, *(data for _, data in saved)], healthy

    def prepare(self, job: dict, files: list[bytes], source: bytes | None = None) -> str:
        """The job's working dir with its files, and the Python source as main.py (where
        tracebacks find their lines, as for `python main.py`) unless a file takes that name."""
        if self.persistent:
            cwd = job.get("cwd") or "."
            return cwd if cwd.startswith("/") else os.path.join(self.root, cwd)
        workdir = os.path.join(self.root, JOB_DIR)
        os.mkdir(workdir, 0o755)
        names = job.get("files", [])
        if source is not None and MAIN_FILE not in names:
            names, files = [*names, MAIN_FILE], [*files, source]
        nested = any("/" in name for name in names)
        for name, data in zip(names, files):
            path = os.path.join(workdir, safe_relpath(name))
            if "/" in name:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o755)
            try:
                write_all_fd(fd, data)
                if self.uid is not None and not nested:
                    os.fchown(fd, self.uid, self.gid)
            finally:
                os.close(fd)
        if self.uid is not None:  # the job's own uid owns what it was given
            self.chown_tree(workdir) if nested else os.chown(workdir, self.uid, self.gid)
        return workdir

    def chown_tree(self, top: str) -> None:
        for dirpath, dirnames, filenames in os.walk(top):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.chown(name, self.uid, self.gid, follow_symlinks=False)

    def supervise(self, pid: int, out_r: int, err_r: int, limits: dict, start: float,
                  job: dict) -> tuple[dict, bytes, bytes]:
        captures = {fd: Capture(fd, limits["output_bytes"]) for fd in (out_r, err_r)}
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        for fd in (out_r, err_r, pidfd):
            poller.register(fd, select.POLLIN)
        clock = JobClock(pid, start, limits, job.get("demote_after_s"), job.get("guaranteed_cpu_s"))
        status, timed_out, open_fds, drain_until = None, False, {out_r, err_r}, 0.0
        while status is None or open_fds:
            now = time.monotonic()
            if status is None:
                if clock.demote_due(now):
                    self.demote(pid)
                if clock.expired(now):  # past the wall clock: the whole group goes, then every straggler
                    poller.unregister(pidfd)
                    timed_out, status = True, self.kill_job(pid)
                    drain_until = time.monotonic() + DRAIN_S
                    continue
            elif now >= drain_until:
                break  # writers outside our reach hold the pipes open: stop reading
            wake = clock.wake_at() if status is None else drain_until
            for fd, _ in poller.poll(max(0.0, wake - now) * 1000):
                if fd == pidfd:
                    poller.unregister(pidfd)
                    status = os.wait4(pid, 0)
                    self.kill_leftovers(pid)
                    drain_until = time.monotonic() + DRAIN_S  # what is still in the pipes
                elif not captures[fd].read():
                    poller.unregister(fd)
                    open_fds.discard(fd)
        for fd in (out_r, err_r, pidfd):
            os.close(fd)
        out, err = captures[out_r], captures[err_r]
        reply = self.describe(status, timed_out, limits, out.dropped, err.dropped)
        reply["notes"] += clock.notes(timed_out)
        return reply, bytes(out.data), bytes(err.data)

    def demote(self, pgid: int) -> None:
        """Lower a long-running job to the lowest CPU priority (SCHED_IDLE, nice 19): it still
        gets every idle cycle until its wall clock runs out, but a short job of another worker
        that wakes up takes its CPU at once (a merely niced task may first finish its slice)."""
        if self.uid is None:  # same uid as the job: within reach directly
            lower_priority(pgid, None)
            return
        helper = os.fork()
        if helper == 0:  # no CAP_SYS_NICE here: as the job's uid, which reaches its processes
            try:
                os.setresuid(self.uid, self.uid, self.uid)
                lower_priority(pgid, self.uid)
            finally:
                os._exit(0)
        os.waitpid(helper, 0)

    def kill_job(self, pid: int) -> tuple:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        status = os.wait4(pid, 0)
        self.kill_leftovers(pid)
        return status

    def kill_leftovers(self, pgid: int) -> None:
        """Every process the job started dies with it, whatever session or group it moved to."""
        if self.kill_mode == "pidns":
            try:
                os.kill(-1, signal.SIGKILL)  # from pid 1: everything else in this pid namespace
            except ProcessLookupError:
                return
            reap_all(block=True)
            return
        if self.kill_mode == "uid":
            self.kill_uid()
            reap_all(block=True)  # all were killed at once; as subreaper we collect them all
            return
        try:
            os.killpg(pgid, signal.SIGKILL)  # the weakest mode: what left the group lives on
        except OSError:
            pass
        reap_all(block=False)

    def kill_uid(self) -> None:
        helper = os.fork()
        if helper == 0:  # as the job's uid, kill(-1) reaches exactly the job's processes
            try:
                os.setresuid(self.uid, self.uid, self.uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(helper, 0)

    def describe(self, status: tuple, timed_out: bool, limits: dict, out_dropped: int, err_dropped: int) -> dict:
        _, wstatus, usage = status
        code = os.waitstatus_to_exitcode(wstatus)
        sig = -code if code < 0 else None
        cpu = usage.ru_utime + usage.ru_stime
        notes = []
        if timed_out:
            notes.append(f"killed at the wall-clock limit of {limits['wall_s']:g} s (process group and every "
                         "process it started)")
        elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= limits["cpu_s"] - 0.05):
            notes.append(f"killed at the CPU-time limit of {limits['cpu_s']} s (used {cpu:.2f} s)")
        elif sig is not None:
            notes.append(f"killed by signal {signal.Signals(sig).name}")
        for name, dropped in (("stdout", out_dropped), ("stderr", err_dropped)):
            if dropped:
                notes.append(f"{name} truncated at {limits['output_bytes']} bytes ({dropped} more dropped)")
        return {"exit_code": None if (sig is not None or timed_out) else code, "signal": sig,
                "timed_out": timed_out, "stdout_dropped": out_dropped, "stderr_dropped": err_dropped,
                "cpu_s": cpu, "max_rss_kb": usage.ru_maxrss, "notes": notes}

    def collect(self, job: dict, workdir: str) -> list[tuple[str, bytes]]:
        """Files the job asked to keep (a compiled binary): top-level regular files only."""
        saved = []
        for name in job.get("save", []):
            if "/" in name or name in ("", ".", ".."):
                continue
            try:
                fd = os.open(os.path.join(workdir, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            with os.fdopen(fd, "rb") as f:
                info = os.fstat(fd)
                if stat.S_ISREG(info.st_mode) and info.st_size <= job["limits"]["file_size_bytes"]:
                    saved.append((name, f.read()))
        return saved

    def cleanup(self, reply: dict) -> bool:
        """Wipe the job's directory and the private temp dirs; False means: replace this worker."""
        ok = True
        for path in self.wipe if self.persistent else [self.root, *self.wipe]:
            ok &= all([remove_tree(entry.path) for entry in os.scandir(path)])
        if not ok:
            reply.setdefault("notes", []).append("could not wipe the job's files; worker replaced")
        return ok


def remove_tree(path: str) -> bool:
    """Remove a file or tree the job may have locked (chmod 000), leaving mount points (the
    read-only binds a sandbox may have under /tmp) alone; False if it cannot."""
    try:
        _remove(path, os.lstat(os.path.dirname(path)).st_dev)
        return True
    except FileNotFoundError:
        return True
    except (OSError, RecursionError):  # RecursionError: a tree nested absurdly deep
        return False


def _remove(path: str, dev: int) -> bool:
    """True when `path` is gone; False when it holds a mount point (and so stays)."""
    info = os.lstat(path)
    if info.st_dev != dev:
        return False
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return True
    if info.st_mode & 0o700 != 0o700:
        os.chmod(path, info.st_mode | 0o700)
    with os.scandir(path) as entries:
        complete = all([_remove(entry.path, dev) for entry in entries])
    if complete:
        os.rmdir(path)
    return complete


def warm_up() -> None:
    """Run a failing program once: the first compile, exec and traceback in a process are
    several times slower than later ones, and every forked child would pay that again."""
    source = b"from typing import List\ndef f(x: List[int]) -> None:\n    assert x == [2], x\nf([1])\n"
    try:
        exec(compile(source, MAIN_FILE, "exec"), {"__name__": "__warmup__"})
    except AssertionError as e:
        stderr, sys.stderr = sys.stderr, io.StringIO()
        try:
            print_exception(e)  # as a job's would be printed
        finally:
            sys.stderr = stderr


def preload(names: list[str]) -> list[str]:
    done = []
    for name in names:
        try:
            importlib.import_module(name)
            done.append(name)
        except Exception:
            pass
    return done


def main() -> None:
    cfg = json.loads(sys.argv[1])
    ctl_in, ctl_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # nothing printed by mistake can corrupt the protocol
    prctl(PR_SET_DUMPABLE, 0)  # a job with the same uid cannot ptrace the zygote
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getpid() != 1:
        prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of a job come back to be reaped
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.environ.clear()
    os.environ.update(cfg["env"])  # before any import (one BLAS thread, say); inherited by every job
    sys.path[:0] = cfg.get("python_path", [])
    loaded = preload(list(DEFAULT_PRELOAD) + cfg.get("preload", []))
    warm_up()
    zygote = Zygote(cfg)
    gc.freeze()  # preloaded objects stay out of the children's collections: fewer copy-on-write faults
    if zygote.kill_mode == "uid":
        zygote.kill_uid()  # whatever a dead predecessor with this uid left behind
    atexit._clear()  # the zygote's exit handlers are not the jobs'
    # the interpreter's own stdio objects, on fds 0-2 that are the job's in a child (the zygote
    # never uses them, so their buffers stay empty): as `python main.py` would have them
    sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__
    write_message(ctl_out, {"ready": True, "kill_mode": zygote.kill_mode, "preloaded": loaded})
    while (message := read_message(ctl_in)) is not None:
        reply, blobs, healthy = zygote.run(*message)
        write_message(ctl_out, reply, blobs)
        if not healthy:
            return


if __name__ == "__main__":
    main()
