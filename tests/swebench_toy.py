"""A toy SWE-bench instance (`monkeys__calc-1`) as a Docker image and a swebench-5 dataset row.

Usage (tests)::

    from sandboxes.docker import DockerSandbox
    from tests.swebench_toy import build_toy_instance, toy_patch

    row, image = build_toy_instance()                     # built once, then cached by content hash
    with DockerSandbox(image) as box:                     # the repo is at /testbed, as in swebench images
        box.apply_patch(toy_patch("gold"))
        box.write_file("/eval.sh", row["eval_script"])
        out = box.exec("bash /eval.sh", timeout_s=120)     # pytest -rA output between the swebench markers

The repo (tests/fixtures/swebench_toy/commits/) is a `calc` package with two bugs: div() floors
(div(7, 2) == 3) and mean([]) raises ZeroDivisionError instead of ValueError. The test patch adds
the two FAIL_TO_PASS tests; six tests are PASS_TO_PASS; tests/test_flaky.py fails in about 30% of
runs (CALC_FLAKY_RATE pins it) and is in neither list (see TOY_FLAKY_TEST). Candidate patches, by
name (toy_patch): gold (fixes both), partial (div only), wrong (applies, fixes nothing),
stale_3way (fixes mean, written against the first commit: plain git apply fails, --3way works),
fuzzy (stale_3way without blob ids: only patch --fuzz applies it), conflict (touches README.md,
which applies, and a line the base commit changed: every method fails), test (the test patch).

The row has the fields swebench 5's `make_test_spec` reads (image, eval_script, log_parser
"parse_log_pytest" from swebench.harness.log_parsers.PARSER_REGISTRY, eval_type "pass_and_fail")
besides the hub's (FAIL_TO_PASS/PASS_TO_PASS as JSON strings). Needs git on the host and the base
image from scripts/setup_docker.sh.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker

FIXTURES = Path(__file__).parent / "fixtures" / "swebench_toy"
INSTANCE_ID = "monkeys__calc-1"
BASE_IMAGE = "monkeys-base:bookworm"
IMAGE_REPO = "monkeys-toy/calc"
BUILDER_VERSION = "1"  # part of the image's content hash: bump when the build steps change
TOY_FLAKY_TEST = "tests/test_flaky.py::test_sometimes_fails"
FAIL_TO_PASS = ["tests/test_ops.py::test_div_fraction", "tests/test_ops.py::test_mean_empty"]
PASS_TO_PASS = [f"tests/test_ops.py::{name}" for name in
                ("test_add", "test_sub", "test_mul", "test_div_exact", "test_div_by_zero", "test_mean")]
PATCH_NAMES = ("gold", "partial", "wrong", "stale_3way", "fuzzy", "conflict", "test")
TEST_FILES = ["tests/test_ops.py"]  # files the test patch changes: restored before and after the tests


def toy_patch(name: str) -> str:
    """A candidate patch by name (PATCH_NAMES)."""
    if name not in PATCH_NAMES:
        raise KeyError(f"no toy patch {name!r}; there are {', '.join(PATCH_NAMES)}")
    return (FIXTURES / "patches" / f"{name}.diff").read_text()


def _git(repo: Path, *args: str, date: str = "2024-01-01T12:00:00+0000") -> str:
    # Fixed identity and dates, no user or system config: the commit ids are the same everywhere.
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "calc developers", "GIT_AUTHOR_EMAIL": "calc@example.invalid",
           "GIT_COMMITTER_NAME": "calc developers", "GIT_COMMITTER_EMAIL": "calc@example.invalid",
           "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    done = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def make_repo(dest: Path) -> str:
    """The toy repo's history in `dest` (one commit per commits/NN-name overlay); returns HEAD."""
    _git(dest, "init", "-q", "-b", "main")
    for day, commit_dir in enumerate(sorted((FIXTURES / "commits").iterdir()), start=1):
        for src in sorted(p for p in commit_dir.rglob("*") if p.is_file()):
            target = dest / src.relative_to(commit_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
        _git(dest, "add", "-A")
        message = commit_dir.name.split("-", 1)[1].replace("-", " ")
        _git(dest, "commit", "-q", "-m", message, date=f"2024-01-{day:02d}T12:00:00+0000")
    return _git(dest, "rev-parse", "HEAD")


def eval_script(base_commit: str, test_patch: str) -> str:
    """swebench's eval.sh shape: apply the test patch, run the tests between markers, restore."""
    files = " ".join(TEST_FILES)
    return "\n".join([
        "#!/bin/bash",
        "set -uxo pipefail",
        "cd /testbed",
        f"git checkout {base_commit} -- {files}",
        "git apply -v - <<'EOF_MONKEYS_TEST_PATCH'",
        test_patch.rstrip("\n"),
        "EOF_MONKEYS_TEST_PATCH",
        ": '>>>>> Start Test Output'",
        "python3 -m pytest -rA tests/test_ops.py tests/test_flaky.py",
        ": '>>>>> End Test Output'",
        f"git checkout {base_commit} -- {files}",
    ]) + "\n"


def make_row(base_commit: str, image: str) -> dict:
    """The instance as a swebench-5 dataset row."""
    test_patch = toy_patch("test")
    return {
        "instance_id": INSTANCE_ID,
        "repo": "monkeys/calc",
        "base_commit": base_commit,
        "patch": toy_patch("gold"),
        "test_patch": test_patch,
        "problem_statement": (FIXTURES / "problem_statement.md").read_text(),
        "hints_text": "",
        "created_at": "2024-01-03T12:00:00Z",
        "version": "0.1",
        "FAIL_TO_PASS": json.dumps(FAIL_TO_PASS),
        "PASS_TO_PASS": json.dumps(PASS_TO_PASS),
        "environment_setup_commit": base_commit,
        "image": image,
        "eval_script": eval_script(base_commit, test_patch),
        "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
    }


def content_hash(client: docker.DockerClient) -> str:
    """Hash of everything the image is made of: the repo fixtures, the base image, the builder."""
    digest = hashlib.sha256(f"builder {BUILDER_VERSION}\nbase {client.images.get(BASE_IMAGE).id}\n".encode())
    for path in sorted(p for p in (FIXTURES / "commits").rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(FIXTURES)}\n".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


_DOCKERFILE = f"""FROM {BASE_IMAGE}
COPY testbed /testbed
# A fresh index (the copied one has the host's stat data), as a clone inside the image would have.
RUN git -C /testbed update-index -q --refresh || true
WORKDIR /testbed
"""


def build_toy_instance(client: docker.DockerClient | None = None) -> tuple[dict, str]:
    """(row, image): builds the image FROM monkeys-base:bookworm unless the same content is built."""
    if client is None:
        from sandboxes.docker import docker_client

        client = docker_client()
    image = f"{IMAGE_REPO}:{content_hash(client)}"
    with tempfile.TemporaryDirectory(prefix="monkeys-toy-") as tmp:
        context = Path(tmp)
        (context / "testbed").mkdir()
        base_commit = make_repo(context / "testbed")
        if not client.images.list(name=image):
            (context / "Dockerfile").write_text(_DOCKERFILE)
            # network_mode none: the build needs no network, nor an engine with a bridge.
            client.images.build(path=str(context), tag=image, rm=True, forcerm=True, pull=False,
                                network_mode="none", labels={"monkeys.toy": INSTANCE_ID})
    return make_row(base_commit, image), image
