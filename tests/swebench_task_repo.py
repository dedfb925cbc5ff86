"""A tiny swebench 5 task repo written by the tests, in the layout of a real one (../shared/swebench_real):

    sweb.yaml
    tasks/<instance_id>/{task.yaml, tests.json, problem_statement.md, hints.md, gold.patch, test.patch, eval.sh,
                         Dockerfile, repo/...}

Each Dockerfile builds FROM the project's base image (monkeys-base:bookworm, scripts/setup_docker.sh) with its
task directory as the build context: it copies `repo/` to /testbed and commits it, as a real instance image
holds the repository at its base commit. Instances are made by `write_task`; `bad_*` helpers break one.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import yaml

BASE_IMAGE = "monkeys-base:bookworm"
SOURCE = "def add(a, b):\n    return a - b\n"
GOLD = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""
TEST_PATCH = """diff --git a/test_calc.py b/test_calc.py
new file mode 100644
--- /dev/null
+++ b/test_calc.py
@@ -0,0 +1,5 @@
+from calc import add
+
+
+def test_add():
+    assert add(2, 3) == 5
"""
EVAL = """#!/bin/bash
set -uxo pipefail
cd /testbed
git apply -v - <<'EOF_T'
{test_patch}EOF_T
: '>>>>> Start Test Output'
python3 -m pytest -rA test_calc.py
: '>>>>> End Test Output'
git checkout -- . && git clean -fdq
"""
# Fixed identity and dates: the commit made in the image is the one base_commit() makes on the host.
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000"}
DOCKERFILE = """FROM {base}
COPY repo /testbed
WORKDIR /testbed
ENV {env}
RUN git init -q . && git add -A && git commit -qm base && echo {marker} > /dev/null
"""


@cache
def base_commit(source: str = SOURCE) -> str:
    """The commit id of the repo the Dockerfile makes (calc.py holding `source`)."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "calc.py").write_text(source)
        env = {**os.environ, **GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
        for args in (["init", "-q", "."], ["add", "-A"], ["commit", "-qm", "base"]):
            subprocess.run(["git", *args], cwd=tmp, env=env, check=True, capture_output=True)
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()


def write_task(root: Path, instance_id: str, *, image: str | None = None, marker: str = "1",
               dockerfile: str | None = None, eval_script: str | None = None, split: str = "test") -> Path:
    """One task directory under root/tasks; its image is `image` (default monkeys-test/sweb.eval.<id>:1)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sweb.yaml").write_text(yaml.safe_dump({"datasets": ["tiny"], "splits": ["test"]}))
    task = root / "tasks" / instance_id
    (task / "repo").mkdir(parents=True, exist_ok=True)
    (task / "repo" / "calc.py").write_text(SOURCE)
    meta = {"instance_id": instance_id, "repo": "tiny/calc", "version": "1.0", "base_commit": base_commit(),
            "environment_setup_commit": "0" * 40, "created_at": "2024-01-01T00:00:00Z", "split": split,
            "datasets": ["tiny"], "image": image or f"monkeys-test/sweb.eval.x86_64.{instance_id}:1",
            "log_parser": "parse_log_pytest", "eval_type": "pass_and_fail"}
    (task / "task.yaml").write_text(yaml.safe_dump(meta, sort_keys=True))
    (task / "tests.json").write_text(json.dumps({"FAIL_TO_PASS": ["test_calc.py::test_add"], "PASS_TO_PASS": []}))
    (task / "problem_statement.md").write_text(f"add() subtracts ({instance_id}).\n")
    (task / "hints.md").write_text("Look at calc.py.\n")
    (task / "gold.patch").write_text(GOLD)
    (task / "test.patch").write_text(TEST_PATCH)
    (task / "eval.sh").write_text(eval_script if eval_script is not None else EVAL.format(test_patch=TEST_PATCH))
    (task / "Dockerfile").write_text(dockerfile if dockerfile is not None else DOCKERFILE.format(
        base=BASE_IMAGE, marker=marker, env=" ".join(f'{k}="{v}"' for k, v in GIT_ENV.items())))
    return task


def write_task_repo(root: Path, instance_ids: list[str], **options: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for instance_id in instance_ids:
        write_task(root, instance_id, **options)
    return root
