"""Choosing an executor: config, command line, a missing ray."""

from __future__ import annotations

import sys

import pytest

from harness.cli import build_parser, executor_overrides
from harness.config import ConfigError, ExecutorConfig, config_from_dict
from harness.executors.choice import make_executor
from harness.executors.local import LocalExecutor


def minimal(executor: dict | None = None) -> dict:
    data = {"name": "x", "task": "gsm8k", "dataset": {"path": "d.jsonl"}, "model": {"backend": "simulated"}}
    return data | ({"executor": executor} if executor is not None else {})


def test_the_executor_is_not_part_of_a_runs_identity():
    # A run sampled on one executor may be resumed on the other.
    local = config_from_dict(minimal())
    ray = config_from_dict(minimal({"kind": "ray", "address": "auto", "replicas": 4, "chunk_size": 8}))
    assert local.executor.kind == "local" and ray.executor.kind == "ray"
    assert local.identity() == ray.identity()


def test_unknown_executor_fields_are_refused_with_their_name():
    with pytest.raises(ConfigError, match="executor.kind"):
        config_from_dict(minimal({"kind": "slurm"}))
    with pytest.raises(ConfigError, match="executor.replica"):
        config_from_dict(minimal({"kind": "ray", "replica": 2}))


@pytest.mark.parametrize(("argv", "expected"), [
    ([], []),
    (["--executor", "ray"], ["executor.kind=ray"]),
    (["--executor", "local"], ["executor.kind=local"]),
    (["--ray-address", "auto"], ["executor.kind=ray", "executor.address=auto"]),
])
def test_command_line_executor_flags_become_overrides(argv, expected):
    args = build_parser().parse_args(["run", "c.yaml", *argv])
    assert executor_overrides(args) == expected


def test_the_local_executor_is_the_default():
    assert isinstance(make_executor(ExecutorConfig(), workers=3), LocalExecutor)


def test_ray_missing_is_a_config_error_saying_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: import raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'monkeys\[ray\]'"):
        make_executor(ExecutorConfig(kind="ray"), workers=2)
