"""The cluster as the Ray executor plans with it: what fits on each node."""

from __future__ import annotations

import pytest

from harness.config import ConfigError
from harness.executors.ray.cluster import Cluster


def test_cluster_slots_count_what_fits_on_each_node():
    cluster = Cluster(({"CPU": 8.0, "GPU": 2.0, "docker": 3.0}, {"CPU": 3.0}, {"CPU": 16.0, "docker": 1.0}))
    assert cluster.slots({"CPU": 2.0}) == 4 + 1 + 8
    assert cluster.slots({"CPU": 1.0, "docker": 1.0}) == 3 + 0 + 1
    assert cluster.slots({"CPU": 1.0, "GPU": 1.0}) == 2
    assert cluster.slots({"GPU": 4.0}) == 0
    with pytest.raises(ConfigError, match="docker_images"):
        cluster.require({"CPU": 1.0, "docker_images": 1.0}, "verifier swebench")
