"""One real local Ray for the executor tests (starting one takes seconds), shut down at the end."""

from collections.abc import Iterator

import pytest

from harness import registry

RAY_CPUS = 2
RAY_GPUS = 2  # logical: Ray hands them out (CUDA_VISIBLE_DEVICES) without any GPU; vllm itself is faked
RAY_RESOURCES = {"docker": 2.0}  # this machine has the Docker engine the SWE-bench tests use
OBJECT_STORE_BYTES = 128 * 2**20  # /dev/shm and memory are shared with the rest of the suite


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """Its GCS address, for a process that joins it (executor.address).

    Module scope: the Ray tests live in one module, and Ray stops when they end rather than
    idling through the rest of the suite."""
    import ray  # a missing ray fails these tests: it is in the dev extra

    if not ray.is_initialized():
        ray.init(num_cpus=RAY_CPUS, num_gpus=RAY_GPUS, resources=RAY_RESOURCES, include_dashboard=False,
                 object_store_memory=OBJECT_STORE_BYTES, logging_level="WARNING")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture
def toy_tasks(monkeypatch) -> None:
    """The toy task and its killing twin by name, as configs use them (the objects travel to Ray pickled)."""
    monkeypatch.setitem(registry.TASKS, "toy", "tests.harness.toy_task:ToyTask")
    monkeypatch.setitem(registry.TASKS, "toy_kill", "tests.harness.executors.ray_toys:KillingToyTask")
    monkeypatch.setitem(registry.TASKS, "toy_vllm", "tests.harness.executors.ray_toys:FakeVLLMToyTask")
