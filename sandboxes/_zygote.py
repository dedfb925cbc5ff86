"""The in-sandbox supervisor ("zygote") of one sandbox worker. Standard library only.

It starts once per worker, inside the sandbox, preloads modules, then serves job requests
from its control pipe: per job it forks a child that becomes a fresh, limited process (new
session, rlimits, unprivileged uid when the sandbox was started by root, stdio redirected,
working directory of its own) and runs the job: Python source as `__main__` in the forked
interpreter (no interpreter start: the speed of the pool), or execve of a program. The
zygote captures capped output, enforces the wall clock, kills every process the job left
behind, wipes the job's files and answers with one message.

Its parts, each standard library only: `_zygote_io` (framing, pipes, wiping files),
`_zygote_clock` (demotion and the wall clock), `_zygote_job` (the forked job child). Run as
a script inside the sandbox, it finds them beside itself; imported on the host (the host
side reads the framing and constants), as `sandboxes.*`.
"""

from __future__ import annotations
from __future__ import annotations

import atexit
import gc
import importlib
import io
import json
import os
import select
import signal
import stat
import sys
import time

if __package__:  # imported on the host as sandboxes._zygote
    from sandboxes._zygote_clock import EXTENSION_LIMITS, JobClock, lower_priority
    from sandboxes._zygote_io import (HEAD, Capture, decode_body, encode_message, nonblocking_pipe, read_message,
                                      reap_all, remove_tree, safe_relpath, stdin_fd, write_all_fd, write_message)
    from sandboxes._zygote_job import (DEFAULT_PRELOAD, KNOWN_AT_FORK, MAIN_FILE, PR_SET_CHILD_SUBREAPER,
                                       PR_SET_DUMPABLE, PR_SET_PDEATHSIG, SETUP_FAILED, NONCE_BYTES, child, fork_job,
                                       prctl, print_exception, python_through_fds)
else:  # run as a script inside the sandbox: its parts sit beside it (-I left its dir off sys.path)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _zygote_clock import EXTENSION_LIMITS, JobClock, lower_priority
    from _zygote_io import (HEAD, Capture, decode_body, encode_message, nonblocking_pipe, read_message,
                            reap_all, remove_tree, safe_relpath, stdin_fd, write_all_fd, write_message)
    from _zygote_job import (DEFAULT_PRELOAD, KNOWN_AT_FORK, MAIN_FILE, PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE,
                             PR_SET_PDEATHSIG, SETUP_FAILED, NONCE_BYTES, child, fork_job, prctl, print_exception,
                             python_through_fds)
    del sys.path[0]

__all__ = ["EXTENSION_LIMITS", "HEAD", "decode_body", "encode_message", "remove_tree"]  # what the host uses

JOB_DIR = "job"
DRAIN_S = 0.5  # after a job ends, how long its pipes are still read


class ProofPipes:
    """The zygote's end of `ProofOfCompletion`: a nonce drawn after the fork (the child's
    memory never held it before), sent on one pipe; on the other, what the child wrote back."""

    def __init__(self) -> None:
        (self.nonce_r, self.nonce_w), (self.proof_r, self.proof_w) = os.pipe2(os.O_CLOEXEC), os.pipe2(os.O_CLOEXEC)
        os.set_blocking(self.proof_r, False)  # read once the job is gone: whatever is there
        self.child_fds = (self.nonce_r, self.proof_w)
        self.nonce = b""

    def send_nonce(self) -> None:
        os.close(self.nonce_r)
        os.close(self.proof_w)
        self.nonce = os.urandom(NONCE_BYTES)
        try:
            write_all_fd(self.nonce_w, self.nonce)
        except OSError:  # the child died first
            pass
        os.close(self.nonce_w)

    def judge(self, reply: dict) -> None:
        """Called once the job and everything it started are gone."""
        capture = Capture(self.proof_r, 1 << 16)
        capture.read()
        os.close(self.proof_r)
        data = bytes(capture.data)
        # the first bytes only: a program writing guesses there first has spent its one guess
        reply["completed"] = len(self.nonce) == NONCE_BYTES and data.startswith(self.nonce)
        exits = [part for part in data.split(b"\0") if part.startswith(b"SystemExit(")]
        if not reply["completed"] and exits:
            reply["notes"].append(f"the program raised {exits[0].decode(errors='replace')} before its code ran to the end")


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
        self.keep_fds: tuple[int, ...] = python_through_fds() if cfg.get("python_through_fds") else ()

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
        proof = ProofPipes() if job.get("proof") else None
        pid = fork_job() if self.plain_fork else os.fork()
        if pid == 0:
            child(self, job, source, workdir, (in_fd, out_w, err_w), None if proof is None else proof.child_fds)
        for fd in (in_fd, out_w, err_w):
            os.close(fd)
        if proof is not None:
            proof.send_nonce()
        reply, out, err = self.supervise(pid, out_r, err_r, job["limits"], start, job)
        if proof is not None:
            proof.judge(reply)
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
