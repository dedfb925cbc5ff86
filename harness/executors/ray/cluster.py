"""Joining (or starting) Ray, and what its live nodes offer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from harness.config import ConfigError, ExecutorConfig

MISSING_RAY = "executor.kind: ray needs the 'ray' extra: pip install 'monkeys[ray]'"
NOT_SHOWN = frozenset({"memory", "object_store_memory"})  # node resources a placement error need not list


def import_ray() -> ModuleType:
    try:
        import ray  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigError(f"{MISSING_RAY} ({exc})") from None
    return ray


def init_kwargs(config: ExecutorConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"address": config.address, "include_dashboard": False, "logging_level": logging.WARNING}
    if config.runtime_env is not None:
        kwargs["runtime_env"] = config.runtime_env
    if config.address is None:  # a Ray of our own: sized here
        kwargs["num_cpus"] = config.num_cpus
        kwargs["resources"] = config.resources or None
        if config.object_store_mb is not None:
            kwargs["object_store_memory"] = config.object_store_mb * 2**20
    return kwargs


def connect(config: ExecutorConfig) -> ModuleType:
    """Join or start Ray once per process; the runs of a suite share the connection."""
    ray = import_ray()
    if not ray.is_initialized():
        try:
            ray.init(**init_kwargs(config))
        except ConnectionError as exc:
            raise ConfigError(f"executor.address: no Ray cluster at {config.address!r}: {exc}") from None
    return ray


@dataclass(frozen=True)
class Cluster:
    """The resources of each live node, read when a phase starts."""

    nodes: tuple[dict[str, float], ...]

    @classmethod
    def current(cls, ray: ModuleType) -> Cluster:
        return cls(tuple(dict(node["Resources"]) for node in ray.nodes() if node.get("Alive")))

    def slots(self, need: dict[str, float]) -> int:
        """How many units that each need `need` fit on the cluster at once."""
        return sum(min((int(node.get(name, 0.0) // amount) for name, amount in need.items() if amount > 0),
                       default=1) for node in self.nodes)

    def largest(self, name: str) -> float:
        return max((node.get(name, 0.0) for node in self.nodes), default=0.0)

    def require(self, need: dict[str, float], what: str, hint: str = "") -> int:
        slots = self.slots(need)
        if slots == 0:
            have = "; ".join(", ".join(f"{k}: {v:g}" for k, v in sorted(node.items()) if k not in NOT_SHOWN
                                       and not k.startswith(("node:", "accelerator_type:"))) for node in self.nodes)
            raise ConfigError(f"executor: no Ray node can run {what}: each needs {need}; "
                              f"the nodes have: {have or 'none alive'}{hint}")
        return slots
