"""Docker fixtures for the container-backed selectors: the toy SWE-bench instance of tests/sandboxes."""

from tests.sandboxes.conftest import docker_engine, docker_run_id, toy_instance  # noqa: F401
