"""scripts/demo.sh as a user who is not root on a machine without bubblewrap: it runs no
generated code, installs nothing and names the one command to run first (issue 12 item 3,
issue 11 item 7). The root paths install packages with apt and are tried by hand
(docs/benchmarks.md, "The newcomer's demo")."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = "sudo bash scripts/demo.sh --setup"


@pytest.fixture()
def bare_path() -> Iterator[str]:
    """A PATH with what the script needs to get going, and neither bwrap nor docker; in /tmp, where
    the user it runs as can reach it (pytest's own temporary folders are root's alone)."""
    bin_dir = Path(tempfile.mkdtemp(prefix="monkeys-demo-bin-"))
    bin_dir.chmod(0o755)
    for tool in ("bash", "id", "dirname", "env"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    yield str(bin_dir)
    shutil.rmtree(bin_dir)


def run_demo(path: str, *args: str) -> subprocess.CompletedProcess:
    command = ["bash", str(ROOT / "scripts" / "demo.sh"), *args]
    if os.geteuid() == 0:  # as a user who is not root: nobody
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(command, env={"PATH": path, "HOME": "/nonexistent"}, capture_output=True, text=True,
                          timeout=60, executable=shutil.which(command[0]))


def test_without_bubblewrap_it_names_the_one_command_and_runs_nothing(bare_path: str) -> None:
    venv_before = (ROOT / ".venv").exists()
    result = run_demo(bare_path, "--out", "/nonexistent/runs")
    assert result.returncode == 2, result
    assert "command not found" not in result.stderr, result.stderr
    assert "missing bubblewrap" in result.stderr and SETUP in result.stderr, result.stderr
    assert (ROOT / ".venv").exists() == venv_before  # stopped before installing anything


def test_setup_needs_root(bare_path: str) -> None:
    result = run_demo(bare_path, "--setup")
    assert result.returncode == 2 and SETUP in result.stderr, result
