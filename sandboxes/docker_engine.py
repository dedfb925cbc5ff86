"""The Docker engine side of DockerSandbox: the client, images, labels, and removing what is left.

No container outlives its owner: each is registered while open, an atexit hook and a SIGTERM/SIGHUP
handler remove the ones still open, and after a SIGKILL `cleanup_leftovers()` finds them by label
(`monkeys.sandbox=docker`, `monkeys.run=<run id>`, `monkeys.owner=<host>:<pid>:<process start time>`).
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import threading
import weakref
from typing import Any, Protocol

import docker
from docker.errors import DockerException, ImageNotFound, NotFound

from sandboxes.base import SandboxUnavailable

LABEL_KIND = "monkeys.sandbox"
LABEL_RUN = "monkeys.run"
LABEL_OWNER = "monkeys.owner"


class Owned(Protocol):
    """A sandbox as the exit handlers see it: the process that opened it, and how to close it."""

    owner_pid: int

    def close(self) -> None: ...


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


def owner_alive(tag: str) -> bool:
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
        if run_id is None and owner_alive((info.get("Labels") or {}).get(LABEL_OWNER, "")):
            continue
        remove_container(client, info["Id"])
        removed.append(info["Id"])
    return removed


def remove_container(client: docker.DockerClient, container_id: str) -> None:
    try:
        client.api.remove_container(container_id, force=True, v=True)
    except NotFound:
        pass


# Containers and sandboxes of this process still open, removed at exit or on SIGTERM/SIGHUP.
# Each entry remembers its process: a forked child must never remove its parent's containers.
_LIVE: dict[str, tuple[int, docker.DockerClient]] = {}
_SANDBOXES: weakref.WeakSet[Owned] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()
_ATEXIT_INSTALLED = False
_SIGNALS_INSTALLED = False


def register(container_id: str, client: docker.DockerClient) -> None:
    with _LIVE_LOCK:
        _LIVE[container_id] = (os.getpid(), client)


def unregister(container_id: str) -> None:
    with _LIVE_LOCK:
        _LIVE.pop(container_id, None)


def _remove_all_live() -> None:
    """Closes this process's sandboxes, then removes any container it still owns (by label too)."""
    pid = os.getpid()
    for box in list(_SANDBOXES):
        if box.owner_pid == pid:
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
        remove_container(client, info["Id"])


def _quietly(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - at exit, one failure must not stop the others
        pass


def track(box: Owned) -> None:
    """Closes `box` at exit or on SIGTERM/SIGHUP, if still open then."""
    install_exit_handlers()
    _SANDBOXES.add(box)


def install_exit_handlers() -> None:
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
