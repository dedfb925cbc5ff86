"""How the Ray executor plans verification: resources per task, groups of candidates, chunk lengths."""

from __future__ import annotations

import pytest

from harness.config import ExecutorConfig
from harness.executors.ray.cluster import Cluster
from harness.executors.ray.verification import chunk_length, task_resources, verification_groups
from harness.records import Candidate
from harness.verifiers.base import RayPlacement


def test_a_pool_wider_than_any_node_still_fits_the_largest():
    config = ExecutorConfig(kind="ray", docker_resource="has_docker")  # planning only: no cluster needed

    class Wide:
        name, version = "wide", "1"
        ray_placement = RayPlacement(resources={"docker": 1.0}, cpus=64.0)

    need = task_resources(Wide(), config, Cluster(({"CPU": 4.0, "has_docker": 2.0}, {"CPU": 8.0})))
    assert need == {"has_docker": 1.0, "CPU": 8.0}


def candidates(spec: dict[str, int]) -> list[Candidate]:
    return [Candidate(problem_id=p, key=f"{p}-{i}", content=str(i)) for p, n in spec.items() for i in range(n)]


def test_per_problem_groups_keep_an_instance_in_one_task():
    pending = candidates({"a": 5, "b": 1, "c": 3})
    groups = list(verification_groups(pending, per_problem=True, size=2))
    assert [{c.problem_id for c in g} for g in groups] == [{"a"}, {"b"}, {"c"}]
    assert sum(len(g) for g in groups) == len(pending)


def test_plain_groups_are_chunks_covering_every_candidate_once():
    pending = candidates({"a": 7, "b": 6})
    groups = list(verification_groups(pending, per_problem=False, size=4))
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
    assert chunk_length(count, slots, batch, cap) == expected
