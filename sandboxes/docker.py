"""DockerSandbox: the Sandbox protocol on one Docker image (a SWE-bench instance image, say).

Usage::

    from sandboxes.base import Limits
    from sandboxes.docker import DockerSandbox

    limits = Limits(wall_s=1800, cpu_s=1800, memory_bytes=4 << 30, processes=1024)
    with DockerSandbox(row["image"], limits=limits, run_id="my-run") as box:
        for patch in candidate_patches:
            applied = box.apply_patch(patch)          # PatchResult: applied, method, log
            if applied.applied:
                box.write_file("/eval.sh", row["eval_script"])
                result = box.exec("bash /eval.sh")    # ExecResult; bounded by limits.wall_s
            box.reset()                               # a fresh container from the image

What is in force: a container with no network (network_mode "none"), cgroup limits on memory
(limits.memory_bytes, no extra swap), CPU (``cpus``) and processes (limits.processes), rlimits on
open files and file size, and per command a wall-clock timeout that SIGKILLs the command's
process group (plus any process that escaped it) and an RLIMIT_CPU. Output is captured up to
limits.output_bytes per stream. The container's disk is not bounded beyond the file-size rlimit.

reset() swaps in a fresh container from the same image: nothing a patch or a test wrote (the
repo, /tmp, the repo's parent, site-packages, git state, background processes) survives it. A
spare container is kept started (prestart=True), so reset() costs ~1 ms on the caller's path;
removing the old container and starting the next spare (~0.2-0.4 s) happen in a background thread.

No container outlives its owner: close() removes it (context manager, exceptions,
KeyboardInterrupt), an atexit hook and a SIGTERM/SIGHUP handler remove the ones still open,
and after a SIGKILL ``cleanup_leftovers()`` finds them by label (``monkeys.sandbox=docker``,
``monkeys.run=<run id>``, ``monkeys.owner=<host>:<pid>:<process start time>``).
"""

from __future__ import annotations

import atexit
import io
import math
import os
import posixpath
import shlex
import signal
import socket
import tarfile
import threading
import time
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

import docker
from docker.errors import DockerException, ImageNotFound, NotFound
from docker.types import Ulimit
from docker.utils.socket import frames_iter

from sandboxes.base import ExecResult, Limits, PatchResult, SandboxUnavailable
from sandboxes.patching import apply_chain

LABEL_KIND = "monkeys.sandbox"
LABEL_RUN = "monkeys.run"
LABEL_OWNER = "monkeys.owner"
KEEPER = ["sleep", "infinity"]  # the container's only long-lived process, under docker-init
SCRATCH = "/run/monkeys"  # our own files in the container (stdin, patch): outside the repo and /tmp
CLIENT_GRACE_S = 10.0  # the client gives up this long after the in-container timeout should have fired
STOP_TIMEOUT_S = 0  # removing a sandbox kills it at once: nothing in it is worth a graceful stop


# ---------------------------------------------------------------- engine and leftovers


def docker_client(timeout_s: int = 120) -> docker.DockerClient:
    """A client for the local engine, or SandboxUnavailable saying how to get one."""
    try:
        client = docker.from_env(timeout=timeout_s)
        client.ping()
    except (DockerException, OSError) as exc:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise SandboxUnavailable(
            f"the Docker engine is not reachable at {where} ({exc}). Start it with "
            "scripts/setup_docker.sh (installs docker.io if needed, starts dockerd in the "
            "background, builds monkeys-base:bookworm), or point DOCKER_HOST at a running engine."
        ) from exc
    return client


def require_image(client: docker.DockerClient, image: str) -> None:
    """SandboxUnavailable unless `image` is present locally (it is never pulled here)."""
    try:
        client.images.get(image)
    except ImageNotFound as exc:
        raise SandboxUnavailable(
            f"the Docker image {image!r} is not present on this engine. SWE-bench instance images "
            "are built with swebench 5 from a task repo: `swebench images build TASK_REPO -i "
            "INSTANCE_ID` (the same as `python -m swebench.image_builder.prepare_images --task_repo "
            "TASK_REPO --instance_ids INSTANCE_ID`), or pulled with `docker pull` where a registry "
            "is reachable. The base image monkeys-base:bookworm comes from scripts/setup_docker.sh; "
            "the toy instance from tests/swebench_toy.py:build_toy_instance."
        ) from exc


def default_run_id() -> str:
    return os.environ.get("MONKEYS_RUN_ID", "adhoc")


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot: with the pid, names it uniquely."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_tag(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}"


def _owner_alive(tag: str) -> bool:
    """False only when the owner was on this host and that process is gone (or the pid reused)."""
    host, _, rest = tag.partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another host's container, or not ours to judge
    return _process_start(int(pid)) == start and start != ""


def cleanup_leftovers(run_id: str | None = None, *, client: docker.DockerClient | None = None) -> list[str]:
    """Remove sandbox containers left behind; return their ids.

    With run_id: every sandbox container of that run, live owner or not (the run is over).
    Without: every sandbox container whose owning process on this host is gone (killed).
    """
    client = client or docker_client()
    labels = [f"{LABEL_KIND}=docker"] + ([f"{LABEL_RUN}={run_id}"] if run_id is not None else [])
    removed = []
    for info in client.api.containers(all=True, filters={"label": labels}):
        if run_id is None and _owner_alive((info.get("Labels") or {}).get(LABEL_OWNER, "")):
            continue
        _remove_container(client, info["Id"])
        removed.append(info["Id"])
    return removed


def _remove_container(client: docker.DockerClient, container_id: str) -> None:
    try:
        client.api.remove_container(container_id, force=True, v=True)
    except NotFound:
        pass


# Containers and sandboxes of this process still open, removed at exit or on SIGTERM/SIGHUP.
# Each entry remembers its process: a forked child must never remove its parent's containers.
_LIVE: dict[str, tuple[int, docker.DockerClient]] = {}
_SANDBOXES: weakref.WeakSet[DockerSandbox] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()
_ATEXIT_INSTALLED = False
_SIGNALS_INSTALLED = False


def _register(container_id: str, client: docker.DockerClient) -> None:
    with _LIVE_LOCK:
        _LIVE[container_id] = (os.getpid(), client)


def _unregister(container_id: str) -> None:
    with _LIVE_LOCK:
        _LIVE.pop(container_id, None)


def _remove_all_live() -> None:
    """Closes this process's sandboxes, then removes any container it still owns (by label too)."""
    pid = os.getpid()
    for box in list(_SANDBOXES):
        if box._pid == pid:
            _quietly(box.close)
    with _LIVE_LOCK:
        live = {cid: client for cid, (owner, client) in _LIVE.items() if owner == pid}
        for cid in live:
            del _LIVE[cid]
    for cid, client in live.items():
        _quietly(_remove_container, client, cid)
    # One created while this process was being interrupted may not be registered yet.
    for client in {id(c): c for c in live.values()}.values():
        _quietly(_remove_owned, client)


def _remove_owned(client: docker.DockerClient) -> None:
    for info in client.api.containers(all=True, filters={"label": f"{LABEL_OWNER}={owner_tag()}"}):
        _remove_container(client, info["Id"])


def _quietly(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - at exit, one failure must not stop the others
        pass


def _install_exit_handlers() -> None:
    """atexit once; SIGTERM/SIGHUP handlers once, from the main thread, chaining to what was there."""
    global _ATEXIT_INSTALLED, _SIGNALS_INSTALLED
    if not _ATEXIT_INSTALLED:
        _ATEXIT_INSTALLED = True
        atexit.register(_remove_all_live)
    if _SIGNALS_INSTALLED or threading.current_thread() is not threading.main_thread():
        return  # signal.signal works only in the main thread; a later sandbox made there installs them
    _SIGNALS_INSTALLED = True
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(signum)
        if previous is not signal.SIG_IGN:
            signal.signal(signum, _make_handler(previous))


def _make_handler(previous: Any):
    def handler(signum: int, frame: Any) -> None:
        _remove_all_live()
        if callable(previous):
            previous(signum, frame)
            return
        # The default action (terminate): restore it and die of the same signal.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    return handler


# ---------------------------------------------------------------- exec plumbing


class _Capture:
    """Reads an exec's multiplexed stream; keeps the first `cap` bytes of each stream."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.out = bytearray()
        self.err = bytearray()
        self.truncated = False
        self.error: BaseException | None = None
        self.gave_up = False  # the client-side deadline passed before the stream ended
        self.sock: Any = None

    def add(self, buf: bytearray, chunk: bytes) -> None:
        room = self.cap - len(buf)
        if len(chunk) > room:
            self.truncated = True  # the rest is read and dropped, so the writer never blocks
        if room > 0:
            buf += chunk[:room]

    def drain(self, api: Any, exec_id: str) -> None:
        try:
            self.sock = api.exec_start(exec_id, socket=True)
            _raw_socket(self.sock).settimeout(None)  # a quiet command may run for long
            for stream, data in frames_iter(self.sock, tty=False):
                self.add(self.err if stream == 2 else self.out, data)
        except Exception as exc:  # noqa: BLE001 - reported to the waiting thread
            self.error = exc
        finally:
            self.close()

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                _raw_socket(sock).shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _raw_socket(sock: Any) -> Any:
    return getattr(sock, "_sock", sock)


def _signal_of(code: int | None) -> int | None:
    """Docker and the shell report death by signal N as exit status 128 + N."""
    if code is not None and 128 < code <= 128 + 64:
        return code - 128
    return None


# Kills every process but docker-init (PID 1), the keeper (its first child) and this shell.
_KILL_STRAYS = (
    'keep=" 1 $(cut -d" " -f1 /proc/1/task/1/children 2>/dev/null) $$ "; '
    'for d in /proc/[0-9]*; do p=${d#/proc/}; case "$keep" in *" $p "*) ;; '
    '*) kill -9 "$p" 2>/dev/null;; esac; done; true'
)

# ---------------------------------------------------------------- the sandbox


class DockerSandbox:
    """A warm container of `image`; commands run in `workdir` (/testbed in SWE-bench images)."""

    isolation = (
        "docker container: no network, cgroup memory/CPU/pids limits, rlimits on CPU time, "
        "file size and open files, per-command SIGKILL timeout; reset() = fresh container"
    )

    def __init__(self, image: str, *, limits: Limits | None = None, workdir: str = "/testbed",
                 run_id: str | None = None, cpus: float = 1.0, prestart: bool = True,
                 client: docker.DockerClient | None = None) -> None:
        """prestart: keep a spare container started, so that reset() only swaps it in."""
        self.image = image
        self.limits = limits or Limits()
        self.workdir = workdir
        self.run_id = run_id or default_run_id()
        self.cpus = cpus
        self.prestart = prestart
        self._client = client or docker_client()
        self._container_id: str | None = None
        self._spare_id: str | None = None
        self._background: threading.Thread | None = None
        self._closed = False
        self._pid = os.getpid()
        require_image(self._client, image)
        _install_exit_handlers()
        _SANDBOXES.add(self)
        self._container_id = self._new_container()
        self._in_background(None)

    # -- lifecycle

    @property
    def container_id(self) -> str:
        if self._container_id is None:
            raise RuntimeError("the sandbox is closed")
        return self._container_id

    def _container_config(self) -> dict[str, Any]:
        lim = self.limits
        return dict(
            image=self.image, command=KEEPER, init=True, working_dir=self.workdir,
            network_mode="none", hostname="sandbox",
            mem_limit=lim.memory_bytes, memswap_limit=lim.memory_bytes,
            nano_cpus=int(self.cpus * 1e9), pids_limit=lim.processes,
            ulimits=[Ulimit(name="nofile", soft=lim.open_files, hard=lim.open_files),
                     Ulimit(name="fsize", soft=lim.file_size_bytes, hard=lim.file_size_bytes)],
            security_opt=["no-new-privileges"],
            labels={LABEL_KIND: "docker", LABEL_RUN: self.run_id, LABEL_OWNER: owner_tag()},
            stop_signal="SIGKILL",
        )

    def _new_container(self) -> str:
        container = self._client.containers.create(**self._container_config())
        _register(container.id, self._client)  # before start: a failed start still ends in removal
        try:
            container.start()
        except BaseException:
            self._remove(container.id)
            raise
        return container.id

    def _remove(self, container_id: str) -> None:
        try:
            _remove_container(self._client, container_id)
        finally:
            _unregister(container_id)

    def _in_background(self, old: str | None) -> None:
        """Removes the old container and starts the spare off the caller's path."""
        if old is None and not self.prestart:
            return
        self._background = threading.Thread(target=self._background_work, args=(old,),
                                            name="docker-sandbox-reset", daemon=True)
        self._background.start()

    def _background_work(self, old: str | None) -> None:
        try:
            if old is not None:
                self._remove(old)
            if self.prestart and not self._closed:
                self._spare_id = self._new_container()
        except Exception:  # noqa: BLE001 - the next reset() starts a container itself
            pass

    def _wait_background(self) -> None:
        thread, self._background = self._background, None
        if thread is not None:
            thread.join(120)

    def reset(self) -> None:
        """A new container from the image: the repo, /tmp, every other path and process as built."""
        if self._closed:
            raise RuntimeError("the sandbox is closed")
        self._wait_background()
        old, self._container_id, self._spare_id = self._container_id, self._spare_id, None
        if self._container_id is None:
            try:
                self._container_id = self._new_container()
            except BaseException:
                if old is not None:
                    self._remove(old)
                raise
        self._in_background(old)

    def close(self) -> None:
        """Removes the container and the spare; safe to call again."""
        self._closed = True
        self._wait_background()
        for attr in ("_container_id", "_spare_id"):
            container_id = getattr(self, attr)
            setattr(self, attr, None)
            if container_id is not None:
                self._remove(container_id)

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- files

    def _abs(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.workdir, path))

    def _put(self, files: dict[str, tuple[bytes, int]]) -> None:
        """Writes files (absolute path -> (bytes, mode)) in one archive; parents are created."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for path, (payload, mode) in files.items():
                info = tarfile.TarInfo(path.lstrip("/"))
                info.size, info.mode, info.mtime = len(payload), mode, int(time.time())
                tar.addfile(info, io.BytesIO(payload))
        if not self._client.api.put_archive(self.container_id, "/", buf.getvalue()):
            raise OSError(f"could not write {', '.join(files)} in the sandbox")

    def write_file(self, path: str, data: str | bytes, *, mode: int = 0o644) -> None:
        payload = data.encode() if isinstance(data, str) else data
        self._put({self._abs(path): (payload, mode)})

    def read_file(self, path: str) -> bytes:
        target = self._abs(path)
        for _ in range(8):  # follows symlinks, as reading through a path would
            member, data = self._get_member(target)
            if not member.issym():
                return data
            target = posixpath.normpath(posixpath.join(posixpath.dirname(target), member.linkname))
        raise OSError(f"too many levels of symbolic links: {path}")

    def _get_member(self, path: str) -> tuple[tarfile.TarInfo, bytes]:
        try:
            stream, _ = self._client.api.get_archive(self.container_id, path)
        except NotFound as exc:
            raise FileNotFoundError(f"no such file in the sandbox: {path}") from exc
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            if member is None or member.isdir():
                raise IsADirectoryError(f"not a regular file in the sandbox: {path}")
            if member.issym():
                return member, b""
            extracted = tar.extractfile(member)
            return member, extracted.read() if extracted else b""

    # -- commands

    def _wrap(self, argv: list[str], timeout_s: float, stdin_path: str | None) -> list[str]:
        """timeout SIGKILLs the whole process group; the shell sets RLIMIT_CPU and stdin first."""
        cpu_s = self.limits.cpu_s
        if timeout_s > self.limits.wall_s:  # a call given more time than the limits gets that much CPU too
            cpu_s = max(cpu_s, math.ceil(timeout_s))
        source = shlex.quote(stdin_path) if stdin_path else "/dev/null"
        script = f"ulimit -t {cpu_s}; exec 0<{source}; "
        script += f"rm -f {source}; " if stdin_path else ""
        return ["timeout", "-s", "KILL", f"{timeout_s:.3f}", "sh", "-c", script + 'exec "$@"', "sh", *argv]

    def exec(self, command: str | Sequence[str], *, timeout_s: float | None = None,
             stdin: str | None = None, workdir: str | None = None) -> ExecResult:
        """Run `command` (a string goes to bash -c) with the limits; never raises on timeout."""
        timeout = max(timeout_s if timeout_s is not None else self.limits.wall_s, 0.001)
        argv = ["bash", "-c", command] if isinstance(command, str) else list(command)
        stdin_path = None
        if stdin is not None:
            stdin_path = f"{SCRATCH}/stdin-{uuid.uuid4().hex}"
            self._put({stdin_path: (stdin.encode(), 0o600)})
        started = time.monotonic()
        api = self._client.api
        exec_id = api.exec_create(self.container_id, self._wrap(argv, timeout, stdin_path),
                                  workdir=self._abs(workdir or self.workdir), stdout=True, stderr=True)["Id"]
        capture = self._run_capture(exec_id, timeout + CLIENT_GRACE_S)
        duration = time.monotonic() - started
        code = api.exec_inspect(exec_id).get("ExitCode")
        timed_out = capture.gave_up or (code == 137 and duration >= timeout)
        if timed_out:
            self._kill_strays()  # processes that left timeout's process group (setsid, daemons)
        elif capture.error is not None:
            raise capture.error
        return ExecResult(
            exit_code=None if timed_out or _signal_of(code) else code,
            signal=9 if timed_out else _signal_of(code),
            stdout=capture.out.decode(errors="replace"), stderr=capture.err.decode(errors="replace"),
            timed_out=timed_out, output_truncated=capture.truncated, duration_s=duration,
        )

    def _run_capture(self, exec_id: str, deadline_s: float) -> _Capture:
        """Drains the exec in a thread; past the deadline (engine stuck) kills and gives up."""
        capture = _Capture(self.limits.output_bytes)
        reader = threading.Thread(target=capture.drain, args=(self._client.api, exec_id), daemon=True)
        reader.start()
        reader.join(deadline_s)
        if reader.is_alive():
            self._kill_strays()
            capture.close()
            reader.join(5)
            capture.gave_up = True
        return capture

    def _kill_strays(self) -> None:
        api = self._client.api
        exec_id = api.exec_create(self.container_id, ["sh", "-c", _KILL_STRAYS])["Id"]
        api.exec_start(exec_id)

    # -- patches

    def apply_patch(self, patch: str) -> PatchResult:
        """The official harness's chain (sandboxes.patching), in workdir; says which step worked."""
        return apply_chain(self, patch, scratch=SCRATCH, timeout_s=max(self.limits.wall_s, 60.0))
