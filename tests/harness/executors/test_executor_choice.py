"""Choosing an executor: config, command line, a missing ray, and the Ray executor's planning helpers."""

from __future__ import annotations

import sys

import pytest

from harness.cli import build_parser, executor_overrides
from harness.config import ConfigError, ExecutorConfig, config_from_dict
from harness.executors import ray as ray_executor
from harness.executors.choice import make_executor
from harness.executors.local import LocalExecutor
from harness.records import Candidate


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


def test_cluster_slots_count_what_fits_on_each_node():
    cluster = ray_executor.Cluster(({"CPU": 8.0, "GPU": 2.0, "docker": 3.0}, {"CPU": 3.0}, {"CPU": 16.0, "docker": 1.0}))
    assert cluster.slots({"CPU": 2.0}) == 4 + 1 + 8
    assert cluster.slots({"CPU": 1.0, "docker": 1.0}) == 3 + 0 + 1
    assert cluster.slots({"CPU": 1.0, "GPU": 1.0}) == 2
    assert cluster.slots({"GPU": 4.0}) == 0
    with pytest.raises(ConfigError, match="docker_images"):
        cluster.require({"CPU": 1.0, "docker_images": 1.0}, "verifier swebench")


def test_a_pool_wider_than_any_node_still_fits_the_largest():
    executor = ray_executor.RayExecutor.__new__(ray_executor.RayExecutor)  # planning only: no cluster needed
    executor.config = ExecutorConfig(kind="ray", docker_resource="has_docker")

    class Wide:
        name, version = "wide", "1"
        ray_placement = ray_executor.RayPlacement(resources={"docker": 1.0}, cpus=64.0)

    need = executor.task_resources(Wide(), ray_executor.Cluster(({"CPU": 4.0, "has_docker": 2.0}, {"CPU": 8.0})))
    assert need == {"has_docker": 1.0, "CPU": 8.0}


def candidates(spec: dict[str, int]) -> list[Candidate]:
    return [Candidate(problem_id=p, key=f"{p}-{i}", content=str(i)) for p, n in spec.items() for i in range(n)]


def test_per_problem_groups_keep_an_instance_in_one_task():
    pending = candidates({"a": 5, "b": 1, "c": 3})
    groups = list(ray_executor.verification_groups(pending, per_problem=True, size=2))
    assert [{c.problem_id for c in g} for g in groups] == [{"a"}, {"b"}, {"c"}]
    assert sum(len(g) for g in groups) == len(pending)


def test_plain_groups_are_chunks_covering_every_candidate_once():
    pending = candidates({"a": 7, "b": 6})
    groups = list(ray_executor.verification_groups(pending, per_problem=False, size=4))
    assert [len(g) for g in groups] == [4, 4, 4, 1]
    assert [c for g in groups for c in g] == pending


@pytest.mark.parametrize(("count", "slots", "batch", "cap", "expected"), [
    (3032, 2, False, 256, 256),  # plain verifier: several tasks per slot, capped
    (100, 2, False, 256, 13),
    (73, 1, True, 256, 73),  # a batch verifier (own pool): one task per slot, slow tests overlap inside it
    (10_000, 4, True, 256, 256),
    (1, 8, False, 256, 1),
])
def test_chunk_length(count, slots, batch, cap, expected):
    assert ray_executor.chunk_length(count, slots, batch, cap) == expected
