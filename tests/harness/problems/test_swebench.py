"""SWE-bench task: rows, prompts, patch extraction, the candidate key and simulated outputs.

The normalization tests apply raw and normalized patches with the real `git apply`,
`git apply --3way` and `patch --fuzz` and require identical trees: the key may only merge
patches that no step of the fallback chain can tell apart.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.config import DatasetConfig
from harness.problems.base import DatasetError, Task
from harness.problems.patches import (
    extract_patch,
    normalize_patch,
    patch_key,
    patched_paths,
)
from harness.problems.swebench import (
    SWEBenchTask,
    derived_eval_type,
    derived_image,
    derived_log_parser,
)
from harness.simulated import output_maker

BASE_FILES = {
    "pkg/calc.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n\n\ndef neg(a):\n    return a\n",
    "README.md": "calc\n",
}
GOLD = """diff --git a/pkg/calc.py b/pkg/calc.py
index 3b18e51..b5a4e9c 100644
--- a/pkg/calc.py
+++ b/pkg/calc.py
@@ -1,5 +1,5 @@ def add(a, b):
 def add(a, b):
-    return a - b
+    return a + b
 
 
 def mul(a, b):
@@ -9,2 +9,2 @@ def mul(a, b):
 def neg(a):
-    return a
+    return -a
"""
TEST_PATCH = """diff --git a/tests/test_calc.py b/tests/test_calc.py
new file mode 100644
--- /dev/null
+++ b/tests/test_calc.py
@@ -0,0 +1,2 @@
+def test_add():
+    assert True
"""


def row(**fields: Any) -> dict[str, Any]:
    base = {
        "repo": "toy/calc", "instance_id": "toy__calc-1", "base_commit": "0" * 40, "patch": GOLD,
        "test_patch": TEST_PATCH, "problem_statement": "add() subtracts", "hints_text": "", "created_at": "",
        "version": "1.0", "FAIL_TO_PASS": json.dumps(["tests/test_calc.py::test_add"]), "PASS_TO_PASS": "[]",
        "environment_setup_commit": "0" * 40, "image": "toy-image:1", "eval_script": "#!/bin/bash\necho hi\n",
        "log_parser": "parse_log_pytest", "eval_type": "pass_and_fail",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# --- loading ----------------------------------------------------------------------------------


def test_task_protocol_and_registry() -> None:
    from harness.registry import load_task

    task = load_task("swebench")
    assert isinstance(task, SWEBenchTask) and isinstance(task, Task)


def test_load_swebench5_rows_with_string_or_list_tests(tmp_path: Path) -> None:
    rows = [row(), row(instance_id="toy__calc-2", FAIL_TO_PASS=["a", "b"], PASS_TO_PASS=["c"], version=1.0)]
    problems = SWEBenchTask().load(DatasetConfig(path=write_rows(tmp_path / "d.jsonl", rows)))
    assert [p.id for p in problems] == ["toy__calc-1", "toy__calc-2"]
    assert problems[0].data["FAIL_TO_PASS"] == ["tests/test_calc.py::test_add"]
    assert problems[1].data["PASS_TO_PASS"] == ["c"] and problems[1].data["version"] == "1.0"
    assert problems[0].question == "add() subtracts" and problems[0].task == "swebench"


def test_load_json_list_and_ids(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps([row(), row(instance_id="toy__calc-2")]))
    problems = SWEBenchTask().load(DatasetConfig(path=path, ids=["toy__calc-2"]))
    assert [p.id for p in problems] == ["toy__calc-2"]


def test_old_rows_get_image_parser_and_eval_type_but_need_an_eval_script(tmp_path: Path) -> None:
    old = row(repo="django/django", instance_id="django__django-11099", image=None, eval_script=None,
              log_parser=None, eval_type=None)
    with pytest.raises(DatasetError) as info:
        SWEBenchTask().load(DatasetConfig(path=write_rows(tmp_path / "old.jsonl", [old])))
    message = str(info.value)
    assert "1 of 1" in message and "eval_script" in message and "django__django-11099" in message
    # With an eval script supplied, the rest is derived from swebench's own tables.
    problems = SWEBenchTask().load(DatasetConfig(path=write_rows(tmp_path / "ok.jsonl", [{**old, "eval_script": "echo"}])))
    data = problems[0].data
    assert data["image"] == "sweb.eval.x86_64.django__django-11099:latest"
    assert data["log_parser"] == "parse_log_django" and data["eval_type"] == "pass_and_fail"


def test_derivations_use_swebench_tables() -> None:
    assert derived_image("Foo__Bar-1") == "sweb.eval.x86_64.foo__bar-1:latest"
    assert derived_log_parser("sympy/sympy") == "parse_log_sympy"
    assert derived_log_parser("nobody/nothing") is None
    assert derived_eval_type("markedjs/marked") == "fail_only"


@pytest.mark.parametrize(("fields", "needle"), [
    ({"FAIL_TO_PASS": "not json"}, "FAIL_TO_PASS"),
    ({"PASS_TO_PASS": [1, 2]}, "PASS_TO_PASS"),
    ({"log_parser": "parse_log_nothing"}, "log_parser"),
    ({"eval_type": "sometimes"}, "eval_type"),
    ({"instance_id": None}, "instance_id"),
    ({"repo": "nobody/nothing", "log_parser": None}, "log_parser"),
    ({"problem_statement": None}, "problem_statement"),
])
def test_bad_rows_name_the_field_and_line(tmp_path: Path, fields: dict[str, Any], needle: str) -> None:
    path = write_rows(tmp_path / "d.jsonl", [row(instance_id="ok-1"), row(**fields)])
    with pytest.raises(DatasetError) as info:
        SWEBenchTask().load(DatasetConfig(path=path))
    assert needle in str(info.value) and "line 2" in str(info.value)


def test_duplicate_instance_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="more than once"):
        SWEBenchTask().load(DatasetConfig(path=write_rows(tmp_path / "d.jsonl", [row(), row()])))


def test_configure_reads_workers_and_options() -> None:
    from types import SimpleNamespace

    from harness.config import ConfigError

    task = SWEBenchTask()
    task.configure(SimpleNamespace(workers=6, options={"eval_timeout_s": 900, "flake_runs": 0}))
    settings = task.verifier().settings
    assert (settings.containers, settings.eval_timeout_s, settings.flake_runs) == (6, 900, 0)
    with pytest.raises(ConfigError, match="verify.options"):
        task.configure(SimpleNamespace(workers=2, options={"flake_runs": -1}))
    with pytest.raises(ConfigError, match="verify.options"):
        task.configure(SimpleNamespace(workers=2, options={"no_such_setting": 1}))


def test_prompt_has_the_issue_and_asks_for_a_diff() -> None:
    task = SWEBenchTask()
    [problem] = _problems([row()])
    messages = task.build_prompt(problem, chat=True)
    assert messages[0]["role"] == "user" and "add() subtracts" in messages[0]["content"]
    assert "```diff" in messages[0]["content"] and "toy/calc" in messages[0]["content"]
    assert task.build_prompt(problem, chat=False).endswith("Patch:\n")


def _problems(rows: list[dict[str, Any]]):
    from harness.problems.datasets import SourceRow
    from harness.problems.swebench import problem_from_row

    return [problem_from_row(SourceRow("mem", i + 1, i, r)) for i, r in enumerate(rows)]


# --- extraction -------------------------------------------------------------------------------


def test_a_bare_diff_is_taken_verbatim() -> None:
    assert extract_patch(GOLD) == GOLD
    assert extract_patch("\n\n" + GOLD) == "\n\n" + GOLD  # as the official harness would apply it


def test_fenced_blocks_and_prose() -> None:
    text = f"The bug is in add.\n\n```diff\n{GOLD}```\nThat should do it."
    assert extract_patch(text) == GOLD
    two = f"First:\n```diff\n{GOLD}```\nand a note\n```python\nprint(1)\n```\nSecond:\n```patch\n{TEST_PATCH}```"
    assert extract_patch(two) == GOLD + TEST_PATCH
    assert extract_patch(f"Here you go:\n{GOLD}") == GOLD


@pytest.mark.parametrize("text", ["", "   \n", "I could not fix it.", "```python\nprint(1)\n```"])
def test_no_diff_means_no_candidate(text: str) -> None:
    assert extract_patch(text) is None
    [problem] = _problems([row()])
    assert SWEBenchTask().extract(problem, text) is None


def test_extract_keys_equivalent_outputs_together() -> None:
    [problem] = _problems([row()])
    task = SWEBenchTask()
    plain = task.extract(problem, GOLD)
    wrapped = task.extract(problem, f"Fix:\n```diff\n{GOLD.replace(' @@ def mul(a, b):', ' @@')}```")
    assert plain is not None and wrapped is not None
    assert plain.key == wrapped.key and plain.key.startswith("sha256:")
    assert plain.content == GOLD


# --- normalization ----------------------------------------------------------------------------


def test_normalization_drops_only_what_cannot_matter() -> None:
    noisy = (
        "Some commit message\n\n"
        + GOLD.replace("--- a/pkg/calc.py\n", "--- a/pkg/calc.py\t2024-05-01 10:00:00.000 +0200\n")
        .replace("@@ -9,2 +9,2 @@ def mul(a, b):", "@@ -9,2 +9,2 @@")
        + "\n-- \n2.39.5\n\n"
    )
    normalized = normalize_patch(noisy)
    assert normalized == normalize_patch(GOLD)
    assert "2024" not in normalized and "def mul(a, b):\n" in normalized
    assert "@@ -1,5 +1,5 @@\n" in normalized
    assert patch_key(noisy) == patch_key(GOLD)


@pytest.mark.parametrize("change", [
    lambda p: p.replace("index 3b18e51..b5a4e9c", "index 1111111..2222222"),  # --3way merges against these blobs
    lambda p: p.replace("+    return a + b\n", "+    return a + b \n"),  # trailing whitespace in a line
    lambda p: p.replace("\n", "\r\n"),  # line endings
    lambda p: p.replace("@@ -1,5 +1,5 @@", "@@ -2,5 +2,5 @@"),  # line numbers
    lambda p: p[:-1],  # no final newline
])
def test_changes_that_could_matter_change_the_key(change) -> None:
    assert patch_key(change(GOLD)) != patch_key(GOLD)


def test_epoch_timestamps_are_kept() -> None:
    created = "--- a/new.txt\t1970-01-01 00:00:00.000000000 +0000\n+++ b/new.txt\t2024-01-01 00:00:00 +0000\n@@ -0,0 +1 @@\n+x\n"
    normalized = normalize_patch(created)
    assert "1970-01-01" in normalized and "2024" not in normalized and "@@ -0,0 +1,1 @@" in normalized


@pytest.mark.parametrize("patch", [
    GOLD.replace("@@ -9,2 +9,2 @@", "junk between hunks\n@@ -9,2 +9,2 @@"),  # git stops reading at the junk
    GOLD.replace("@@ -1,5 +1,5 @@", "@@ -1,6 +1,6 @@"),  # miscounted: corrupt for git
    "diff --git a/x.png b/x.png\nindex 0000000..1111111\nBinary files a/x.png and b/x.png differ\n",
    "not a patch at all\n",
])
def test_patches_we_do_not_normalize_are_keyed_raw(patch: str) -> None:
    assert normalize_patch(patch) == patch


def test_patched_paths() -> None:
    assert patched_paths(GOLD + TEST_PATCH) == ["pkg/calc.py", "tests/test_calc.py"]
    deletion = "diff --git a/old.py b/old.py\ndeleted file mode 100644\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
    assert patched_paths(deletion) == ["old.py"]


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    for name, text in BASE_FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    return repo


APPLY_METHODS = {
    "git apply": ["git", "apply", "-v"],
    "git apply --3way": ["git", "apply", "-v", "--3way"],
    "patch --fuzz": ["patch", "--batch", "--forward", "--fuzz=5", "-p1", "-i"],
}


def _apply(repo: Path, patch: str, method: str) -> tuple[bool, dict[str, str]]:
    subprocess.run(["git", "reset", "-q", "--hard"], cwd=repo, check=True)
    subprocess.run(["git", "clean", "-qfdx"], cwd=repo, check=True)
    (repo.parent / "p.diff").write_text(patch)
    ok = subprocess.run([*APPLY_METHODS[method], str(repo.parent / "p.diff")], cwd=repo, capture_output=True,
                        check=False).returncode == 0
    # .rej files echo the rejected hunk as written (function context included); they are not the tree.
    tree = {str(p.relative_to(repo)): p.read_text() for p in sorted(repo.rglob("*"))
            if p.is_file() and ".git" not in p.parts and p.suffix != ".rej"}
    return ok, tree


NOISY_VARIANTS = [
    GOLD,
    "Explanation first.\n\n" + GOLD + "\nThanks!\n",
    GOLD.replace("index 3b18e51..b5a4e9c 100644", "index deadbee..cafef00 100644"),
    GOLD.replace("--- a/pkg/calc.py\n", "--- a/pkg/calc.py\t2024-05-01 10:00:00 +0200\n"),
    GOLD.replace(" @@ def add(a, b):", " @@").replace(" @@ def mul(a, b):", " @@ something else"),
    GOLD.replace("@@ -9,2 +9,2 @@", "@@ -8,3 +8,3 @@").replace(" def neg(a):\n", " \n def neg(a):\n", 1),
    "diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@ x\n-calc\n+calc!\n\n\n",
    "--- a/README.md\t2020-01-01\n+++ b/README.md\t2020-01-02\n@@ -1 +1,2 @@\n calc\n+more\n-- \nsig\n",
    GOLD.replace("-    return a - b", "-    return a - c"),  # does not apply: still the same under every method
]


@pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch is not installed")
@pytest.mark.parametrize("variant", range(len(NOISY_VARIANTS)))
def test_normalized_patches_apply_exactly_like_the_raw_ones(tmp_path: Path, variant: int) -> None:
    raw = NOISY_VARIANTS[variant]
    normalized = normalize_patch(raw)
    repo = _repo(tmp_path)
    for method in APPLY_METHODS:
        assert _apply(repo, raw, method) == _apply(repo, normalized, method), method


# --- simulated outputs ------------------------------------------------------------------------


def test_simulated_outputs_right_and_wrong() -> None:
    task = SWEBenchTask()
    simulate = output_maker(task)
    [problem] = _problems([row()])
    gold_key = patch_key(GOLD)
    rng = random.Random(7)
    right = {task.extract(problem, simulate(problem, True, rng)).key for _ in range(20)}
    assert right == {gold_key}
    wrong = [task.extract(problem, simulate(problem, False, rng)) for _ in range(40)]
    keys = {c.key for c in wrong if c is not None}
    assert gold_key not in keys and len(keys) >= 3  # a spread of distinct wrong patches


def test_simulated_wrong_patches_fail_or_do_not_apply(tmp_path: Path) -> None:
    task = SWEBenchTask()
    simulate = output_maker(task)
    [problem] = _problems([row()])
    repo = _repo(tmp_path)
    _, fixed = _apply(repo, GOLD, "git apply")
    rng = random.Random(3)
    for _ in range(15):
        candidate = task.extract(problem, simulate(problem, False, rng))
        assert candidate is not None
        ok, tree = _apply(repo, candidate.content, "git apply")
        assert not ok or tree != fixed
