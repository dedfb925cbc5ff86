"""What a Ray worker process keeps between tasks: the last backend and verifier it was sent, one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import ModuleType
from typing import Any

from harness.verifiers.base import Closeable

_kept: dict[str, tuple[str, Any]] = {}  # role -> (object ref id, object): the last backend / verifier sent
_worker_loop: asyncio.AbstractEventLoop | None = None


def kept(role: str, box: list[Any], build: Callable[[Any], Any]) -> Any:
    """The object behind box[0], built once per worker process and kept for the tasks after.

    The reference travels in a list so that Ray passes it as is: the worker fetches it only when
    it changes (a new run). The object it replaces is closed (a sandbox pool of an earlier run).
    """
    import ray  # noqa: PLC0415

    ref = box[0]
    if role not in _kept or _kept[role][0] != ref.hex():
        old = _kept.pop(role, (None, None))[1]
        _kept[role] = (ref.hex(), build(ray.get(ref)))
        if isinstance(old, Closeable):
            old.close()
    return _kept[role][1]


def worker_loop() -> asyncio.AbstractEventLoop:
    """One event loop per worker process, so a kept backend's clients stay bound to a live loop."""
    global _worker_loop
    if _worker_loop is None:
        _worker_loop = asyncio.new_event_loop()
    return _worker_loop


class RemoteFunctions:
    """The Ray remote function of each function, made once per executor (each is exported to the cluster once)."""

    def __init__(self, ray: ModuleType) -> None:
        self.ray = ray
        self._made: dict[Callable[..., Any], Any] = {}

    def __call__(self, function: Callable[..., Any]) -> Any:
        if function not in self._made:
            self._made[function] = self.ray.remote(function)
        return self._made[function]
