"""Fixtures for `monkeys images`: the real Docker engine with monkeys-base:bookworm, real registries on 127.0.0.1
(Debian's `docker-registry`: one that serves, one that refuses every pull), and tiny task repos the tests write.

Without the engine, the base image or docker-registry the fixtures fail (never skip) and say what to install.
Every image a test makes is named with this session's tag and removed at the end.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from sandboxes.base import SandboxUnavailable
from sandboxes.docker import docker_client, require_image
from tests.swebench_task_repo import BASE_IMAGE

SESSION_TAG = f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    try:
        client = docker_client()
        require_image(client, BASE_IMAGE)
    except SandboxUnavailable as exc:
        pytest.fail(f"the images tests need the Docker engine and {BASE_IMAGE}: run scripts/setup_docker.sh ({exc})",
                    pytrace=False)
    yield client
    for image in client.images.list():
        for tag in image.tags:
            if tag.endswith(f":{SESSION_TAG}"):
                client.images.remove(tag, force=True)
    for container in client.containers.list(all=True, filters={"label": "monkeys.images.check"}):
        container.remove(force=True)


def image_name(instance_id: str, registry: str | None = None) -> str:
    name = f"monkeys-test/sweb.eval.x86_64.{instance_id}:{SESSION_TAG}"
    return f"{registry}/{name}" if registry else name


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve_registry(root: Path, auth: str = "") -> Iterator[str]:
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("the pull tests need Debian's docker-registry (apt-get install docker-registry; scripts/setup_system.sh)",
                    pytrace=False)
    port = _free_port()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text(f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
                      f"http: {{addr: 127.0.0.1:{port}}}\n{auth}")
    log = (root / "registry.log").open("w")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2)
                break
            except urllib.error.HTTPError:
                break  # it answers (401 from the refusing one)
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"docker-registry did not start: {(root / 'registry.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HOST:PORT of a real registry that serves pulls and pushes over plain HTTP (127.0.0.0/8 is trusted by dockerd)."""
    yield from _serve_registry(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="session")
def refusing_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real registry that refuses every pull: it demands a token from a realm nobody serves."""
    realm = f"http://127.0.0.1:{_free_port()}/token"
    yield from _serve_registry(tmp_path_factory.mktemp("refusing"),
                               f'auth:\n  silly: {{realm: "{realm}", service: "monkeys-test"}}\n')
