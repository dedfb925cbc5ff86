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
reset_last() (the PrestartsSpare capability) starts no spare: a caller that knows no reset follows
spares the engine a container start and removal.

No container outlives its owner: close() removes it (context manager, exceptions,
KeyboardInterrupt), an atexit hook and a SIGTERM/SIGHUP handler remove the ones still open,
and after a SIGKILL ``cleanup_leftovers()`` finds them by label (``monkeys.sandbox=docker``,
``monkeys.run=<run id>``, ``monkeys.owner=<host>:<pid>:<process start time>``).

The parts: `sandboxes.docker_engine` (client, images, labels, leftovers, exit handlers) and
`sandboxes.docker_exec` (an exec's output stream, exit statuses, stray processes); their public
names are importable from here too.
"""

from __future__ import annotations

import io
import math
import os
import posixpath
import tarfile
import threading
import time
from collections.abc import Sequence
from typing import Any

import docker
from docker.errors import NotFound
from docker.types import Ulimit

from sandboxes.base import ExecResult, Limits, PatchResult
from sandboxes.docker_engine import (
    LABEL_KIND,
    LABEL_OWNER,
    LABEL_RUN,
    cleanup_leftovers,
    default_run_id,
    docker_client,
    owner_tag,
    register,
    remove_container,
    require_image,
    track,
    unregister,
)
from sandboxes.docker_exec import KILL_STRAYS, Capture, signal_of
from sandboxes.patching import apply_chain

__all__ = ["LABEL_KIND", "LABEL_OWNER", "LABEL_RUN", "DockerSandbox", "cleanup_leftovers", "default_run_id",
           "docker_client", "owner_tag", "require_image"]

KEEPER = ["sleep", "infinity"]  # the container's only long-lived process, under docker-init
SCRATCH = "/run/monkeys"  # our own files in the container (the patch): outside the repo and /tmp
CLIENT_GRACE_S = 10.0  # the client gives up this long after the in-container timeout should have fired


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
        self.owner_pid = os.getpid()
        require_image(self._client, image)
        track(self)
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
        register(container.id, self._client)  # before start: a failed start still ends in removal
        try:
            container.start()
        except BaseException:
            self._remove(container.id)
            raise
        return container.id

    def _remove(self, container_id: str) -> None:
        try:
            remove_container(self._client, container_id)
        finally:
            unregister(container_id)

    def _in_background(self, old: str | None, spare: bool = True) -> None:
        """Removes the old container and starts the spare off the caller's path."""
        spare = spare and self.prestart
        if old is None and not spare:
            return
        self._background = threading.Thread(target=self._background_work, args=(old, spare),
                                            name="docker-sandbox-reset", daemon=True)
        self._background.start()

    def _background_work(self, old: str | None, spare: bool) -> None:
        try:
            if old is not None:
                self._remove(old)
            if spare and not self._closed:
                self._spare_id = self._new_container()
        except Exception:  # noqa: BLE001 - the next reset() starts a container itself
            pass

    def _wait_background(self) -> None:
        thread, self._background = self._background, None
        if thread is not None:
            thread.join(120)

    def reset(self) -> None:
        """A new container from the image: the repo, /tmp, every other path and process as built."""
        self._reset(spare=True)

    def reset_last(self) -> None:
        """reset() without starting a spare after it (PrestartsSpare): no further reset is expected."""
        self._reset(spare=False)

    def _reset(self, spare: bool) -> None:
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
        self._in_background(old, spare)

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

    def _wrap(self, argv: list[str], timeout_s: float, piped: bool) -> list[str]:
        """timeout SIGKILLs the whole process group; the shell sets RLIMIT_CPU, and stdin to /dev/null
        unless it is the exec's own pipe (`piped`)."""
        cpu_s = self.limits.cpu_s
        if timeout_s > self.limits.wall_s:  # a call given more time than the limits gets that much CPU too
            cpu_s = max(cpu_s, math.ceil(timeout_s))
        script = f"ulimit -t {cpu_s}; " + ("" if piped else "exec 0</dev/null; ")
        return ["timeout", "-s", "KILL", f"{timeout_s:.3f}", "sh", "-c", script + 'exec "$@"', "sh", *argv]

    def exec(self, command: str | Sequence[str], *, timeout_s: float | None = None,
             stdin: str | None = None, workdir: str | None = None) -> ExecResult:
        """Run `command` (a string goes to bash -c) with the limits; never raises on timeout.
        `stdin` goes through the exec's own attach stream (no file written first), then end of file."""
        timeout = max(timeout_s if timeout_s is not None else self.limits.wall_s, 0.001)
        argv = ["bash", "-c", command] if isinstance(command, str) else list(command)
        piped = stdin is not None
        started = time.monotonic()
        api = self._client.api
        exec_id = api.exec_create(self.container_id, self._wrap(argv, timeout, piped), stdin=piped,
                                  workdir=self._abs(workdir or self.workdir), stdout=True, stderr=True)["Id"]
        capture = self._run_capture(exec_id, timeout + CLIENT_GRACE_S, stdin.encode() if stdin is not None else None)
        duration = time.monotonic() - started
        code = api.exec_inspect(exec_id).get("ExitCode")
        timed_out = capture.gave_up or (code == 137 and duration >= timeout)
        if timed_out:
            self._kill_strays()  # processes that left timeout's process group (setsid, daemons)
        elif capture.error is not None:
            raise capture.error
        return ExecResult(
            exit_code=None if timed_out or signal_of(code) else code,
            signal=9 if timed_out else signal_of(code),
            stdout=capture.out.decode(errors="replace"), stderr=capture.err.decode(errors="replace"),
            timed_out=timed_out, output_truncated=capture.truncated, duration_s=duration,
        )

    def _run_capture(self, exec_id: str, deadline_s: float, stdin: bytes | None) -> Capture:
        """Feeds and drains the exec in threads; past the deadline (engine stuck) kills and gives up."""
        capture = Capture(self.limits.output_bytes)
        reader = threading.Thread(target=capture.drain, args=(self._client.api, exec_id, stdin), daemon=True)
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
        exec_id = api.exec_create(self.container_id, ["sh", "-c", KILL_STRAYS])["Id"]
        api.exec_start(exec_id)

    # -- patches

    def apply_patch(self, patch: str) -> PatchResult:
        """The official harness's chain (sandboxes.patching), in workdir; says which step worked."""
        return apply_chain(self, patch, scratch=SCRATCH, timeout_s=max(self.limits.wall_s, 60.0))
