"""Warm containers for SWE-bench verification: at most `limit` sandboxes at a time, reused between uses.

A sandbox released by one candidate's worker serves the next worker that wants its image, after a
reset (a fresh container from the image: complete by construction, ~1 ms with DockerSandbox's
prestarted spare), so no container is started per candidate. A released sandbox stays open (idle)
until a worker for another image needs its place, or `close()`.

One `verify_many` call gets a set of its own, closed when the call ends. While sampling streams
candidates in (`SWEBenchVerifier.warm_between_calls`) every call shares one set: then `limit`
(`containers`) holds across calls, and each small call finds a warm container instead of starting
one. An idle sandbox whose image a waiting worker wants is not evicted for another image.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandboxes.base import Sandbox

WAIT_S = 0.2  # how often a waiting worker looks at `cancelled`


class Cancelled(RuntimeError):
    """The worker's call was stopped while it waited for a container."""


@dataclass
class _Idle:
    image: str
    sandbox: Sandbox
    used: bool  # it ran something since it was opened or reset


class WarmContainers:
    """Sandboxes by image, at most `limit` open (in use or idle)."""

    def __init__(self, limit: int, open_sandbox: Callable[[str], Sandbox]) -> None:
        self.limit, self.open_sandbox = limit, open_sandbox
        self.lock = threading.Condition()
        self.idle: list[_Idle] = []  # oldest first
        self.in_use: dict[int, str] = {}  # id(sandbox) -> image
        self.opening = 0  # places taken by sandboxes being started
        self.waiting: Counter[str] = Counter()  # images workers wait for
        self.opened = 0  # sandboxes started, for tests and traces

    def acquire(self, image: str, cancelled: Callable[[], bool] = lambda: False) -> Sandbox:
        """A clean sandbox of `image`; waits while `limit` sandboxes are in use. Raises Cancelled."""
        evicted: Sandbox | None = None
        with self.lock:
            self.waiting[image] += 1
            try:
                while True:
                    if cancelled():
                        raise Cancelled("verification was stopped")
                    warm = next((i for i in self.idle if i.image == image), None)
                    if warm is not None:
                        self.idle.remove(warm)
                        self.in_use[id(warm.sandbox)] = image
                        break
                    if len(self.in_use) + self.opening + len(self.idle) < self.limit:
                        self.opening += 1
                        break
                    spare = next((i for i in self.idle if not self.waiting[i.image]), None)
                    if spare is not None:  # the oldest idle sandbox no waiting worker wants makes room
                        self.idle.remove(spare)
                        evicted = spare.sandbox
                        self.opening += 1
                        break
                    self.lock.wait(WAIT_S)
            finally:
                self.waiting[image] -= 1
        if evicted is not None:
            close_quietly(evicted)
        if warm is not None:
            return self._reset(warm, image)
        return self._open(image)

    def _reset(self, warm: _Idle, image: str) -> Sandbox:
        if not warm.used:
            return warm.sandbox
        try:
            warm.sandbox.reset()
        except Exception:  # noqa: BLE001 - a dead container: a fresh one takes its place
            with self.lock:
                self.in_use.pop(id(warm.sandbox), None)
                self.opening += 1
            close_quietly(warm.sandbox)
            return self._open(image)
        return warm.sandbox

    def _open(self, image: str) -> Sandbox:
        try:
            sandbox = self.open_sandbox(image)
        except BaseException:
            with self.lock:
                self.opening -= 1
                self.lock.notify_all()
            raise
        with self.lock:
            self.opening -= 1
            self.opened += 1
            self.in_use[id(sandbox)] = image
        return sandbox

    def release(self, sandbox: Sandbox, used: bool = True) -> None:
        """Back to the idle ones, for the next worker of its image (reset first if `used`)."""
        with self.lock:
            image = self.in_use.pop(id(sandbox), None)
            if image is not None:
                self.idle.append(_Idle(image, sandbox, used))
                self.lock.notify_all()
                return
        close_quietly(sandbox)  # not ours (closed by `close` meanwhile)

    def discard(self, sandbox: Sandbox) -> None:
        """Close it (its state is unknown, or its call was stopped); its place is free again."""
        self._forget(sandbox)
        close_quietly(sandbox)

    def _forget(self, sandbox: Sandbox) -> None:
        with self.lock:
            self.in_use.pop(id(sandbox), None)
            self.lock.notify_all()

    def close(self) -> None:
        """Close the idle sandboxes (the ones in use are their workers' to release or discard)."""
        with self.lock:
            idle, self.idle = self.idle, []
            self.lock.notify_all()
        for entry in idle:
            close_quietly(entry.sandbox)


def close_quietly(sandbox: Sandbox) -> None:
    try:
        sandbox.close()
    except Exception:  # noqa: BLE001, S110 - closing is best effort; DockerSandbox.close removes the container
        pass
