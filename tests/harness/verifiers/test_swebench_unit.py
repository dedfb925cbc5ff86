"""SWEBenchVerifier's logic against a local stand-in for the Docker sandbox (fast, no engine).

The stand-in runs commands in a temporary git repository whose path replaces /testbed, so
everything except the container itself is real: git apply, patch, bash, pytest, and
swebench's grading. The same verifier runs in real containers in test_swebench_docker.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.problems.datasets import SourceRow
from harness.problems.patches import patch_key
from harness.problems.swebench import problem_from_row
from harness.records import Candidate, Problem, VerdictStatus
from harness.verifiers.flaky import (
    FLAKE_FILE,
    evidence_fields,
    lenient_passed,
    load_flake_checks,
    on_flaky_instance,
)
from harness.verifiers.swebench import (
    SWEBenchSettings,
    SWEBenchVerifier,
    eval_script_applies_test_patch,
)
from sandboxes.base import ExecResult, PatchResult

CALC = "def add(a, b):\n    return a - b\n\n\ndef neg(a):\n    return a\n"
TESTS = """import pathlib


def test_mul():
    assert 2 * 3 == 6


def test_flaky():
    if not pathlib.Path("FLAKY").exists():
        return
    counter = pathlib.Path("COUNTER")
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))
    assert n % 3 != 2  # fails every third run
"""
TEST_PATCH = """diff --git a/tests/test_calc.py b/tests/test_calc.py
--- a/tests/test_calc.py
+++ b/tests/test_calc.py
@@ -1,4 +1,14 @@
 import pathlib
+
+from calc import add, neg
+
+
+def test_add():
+    assert add(2, 3) == 5
+
+
+def test_neg():
+    assert neg(4) == -4
 
 
 def test_mul():
"""
GOLD = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,6 +1,6 @@
 def add(a, b):
-    return a - b
+    return a + b
 
 
 def neg(a):
-    return a
+    return -a
"""
PARTIAL = GOLD.replace("-    return a\n+    return -a\n", "     return a\n")
WRONG = GOLD.replace("+    return a + b", "+    return a * b")
NOT_APPLYING = GOLD.replace("-    return a - b", "-    return a - c")
EDITS_TESTS = GOLD.replace("+    return -a\n", "+    return a\n") + """diff --git a/tests/test_calc.py b/tests/test_calc.py
--- a/tests/test_calc.py
+++ b/tests/test_calc.py
@@ -1,3 +1,7 @@
 import pathlib
+
+
+def test_neg():
+    pass
 
 
"""
HANGS = GOLD.replace("+    return a + b", "+    while True:\n+        pass").replace("@@ -1,6 +1,6 @@", "@@ -1,6 +1,7 @@")
DELETES_REPO = """diff --git a/calc.py b/calc.py
deleted file mode 100644
--- a/calc.py
+++ /dev/null
@@ -1,6 +0,0 @@
-def add(a, b):
-    return a - b
-
-
-def neg(a):
-    return a
"""
F2P = ["tests/test_calc.py::test_add", "tests/test_calc.py::test_neg"]
P2P = ["tests/test_calc.py::test_mul", "tests/test_calc.py::test_flaky"]


def eval_script(base: str) -> str:
    return f"""#!/bin/bash
set -uxo pipefail
cd /testbed
git checkout {base} tests/test_calc.py
git apply -v - <<'EOF_114329324912'
{TEST_PATCH}
EOF_114329324912
: '>>>>> Start Test Output'
{sys.executable} -m pytest -rA -p no:cacheprovider tests/test_calc.py
: '>>>>> End Test Output'
git checkout {base} tests/test_calc.py
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("template") / "testbed"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text(CALC)
    (repo / "tests" / "test_calc.py").write_text(TESTS)
    (repo / ".gitignore").write_text("COUNTER\nFLAKY\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    return repo


def toy_problem(template: Path, instance_id: str = "toy__calc-1", **fields: Any) -> Problem:
    row = {"repo": "toy/calc", "instance_id": instance_id, "base_commit": git(template, "rev-parse", "HEAD"),
           "patch": GOLD, "test_patch": TEST_PATCH, "problem_statement": "add() subtracts", "version": "1.0",
           "FAIL_TO_PASS": json.dumps(F2P), "PASS_TO_PASS": json.dumps(P2P), "image": "toy:1",
           "eval_script": eval_script(git(template, "rev-parse", "HEAD")), "log_parser": "parse_log_pytest",
           "eval_type": "pass_and_fail", **fields}
    return problem_from_row(SourceRow("mem", 1, 0, row))


class LocalSandbox:
    """The Sandbox protocol over a local git checkout standing in for /testbed (a test double)."""

    isolation = "none: a local stand-in for tests"
    CHAIN = (("git apply", ["git", "apply", "-v"]), ("git apply --3way", ["git", "apply", "-v", "--3way"]),
             ("patch --fuzz", ["patch", "--batch", "--forward", "--fuzz=5", "-p1", "-i"]))

    def __init__(self, template: Path, root: Path) -> None:
        self.root = root
        self.repo = root / "testbed"
        subprocess.run(["cp", "-a", str(template), str(self.repo)], check=True)
        self.closed = False
        self.execs = 0

    def _map(self, text: str) -> str:
        text = text.replace("/testbed", str(self.repo)).replace("/eval.sh", str(self.root / "eval.sh"))
        return text.replace("/tmp/monkeys_", str(self.root / "monkeys_"))

    def exec(self, command: str | Sequence[str], *, timeout_s: float | None = None, stdin: str | None = None,
             workdir: str | None = None) -> ExecResult:
        assert not self.closed
        self.execs += 1
        args = ["bash", "-c", self._map(command)] if isinstance(command, str) else [self._map(a) for a in command]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        started = time.perf_counter()
        process = subprocess.Popen(args, cwd=self._map(workdir or "/testbed"), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
        try:
            out, err = process.communicate(stdin, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            return ExecResult(exit_code=None, stdout=out, stderr=err, timed_out=True, duration_s=time.perf_counter() - started)
        return ExecResult(exit_code=process.returncode, stdout=out, stderr=err, duration_s=time.perf_counter() - started)

    def write_file(self, path: str, data: str | bytes) -> None:
        target = Path(self._map(path))
        target.write_bytes(self._map(data).encode() if isinstance(data, str) else data)

    def read_file(self, path: str) -> bytes:
        return Path(self._map(path)).read_bytes()

    def apply_patch(self, patch: str) -> PatchResult:
        (self.root / "candidate.diff").write_text(patch)
        log = ""
        for name, command in self.CHAIN:
            self.reset()
            done = subprocess.run([*command, str(self.root / "candidate.diff")], cwd=self.repo,
                                  capture_output=True, text=True, check=False)
            log += f"{name}: {done.stdout}{done.stderr}"
            if done.returncode == 0:
                return PatchResult(applied=True, method=name, log=log)
        self.reset()
        return PatchResult(applied=False, log=log)

    def reset(self) -> None:
        subprocess.run(["git", "reset", "-q", "--hard"], cwd=self.repo, check=True)
        # The flaky test's switch and state survive resets, as state outside the tree would.
        subprocess.run(["git", "clean", "-qfdx", "-e", "COUNTER", "-e", "FLAKY"], cwd=self.repo, check=True)

    def close(self) -> None:
        self.closed = True


class Factory:
    """Counts sandboxes opened, like containers started."""

    def __init__(self, template: Path, root: Path, flaky: bool) -> None:
        self.template, self.root, self.flaky = template, root, flaky
        self.opened: list[LocalSandbox] = []
        self.lock = threading.Lock()

    def __call__(self, image: str) -> LocalSandbox:
        with self.lock:
            root = self.root / f"sandbox{len(self.opened)}"
            root.mkdir(parents=True)
            sandbox = LocalSandbox(self.template, root)
            if self.flaky:
                (sandbox.repo / "FLAKY").write_text("")
            self.opened.append(sandbox)
        return sandbox

    @property
    def execs(self) -> int:
        return sum(s.execs for s in self.opened)


def verifier(tmp_path: Path, template: Path, flaky: bool = False, **settings: Any) -> tuple[SWEBenchVerifier, Factory]:
    factory = Factory(template, tmp_path / f"sandboxes{time.monotonic_ns()}", flaky)
    options = {"flake_runs": 0, "majority_runs": 1, "logs_dir": tmp_path / "logs", "eval_timeout_s": 60, **settings}
    return SWEBenchVerifier(SWEBenchSettings(**options), sandbox_factory=factory), factory


def candidate(problem: Problem, patch: str) -> Candidate:
    return Candidate(problem_id=problem.id, key=patch_key(patch), content=patch)


def judge(v: SWEBenchVerifier, problem: Problem, *patches: str) -> list[tuple[VerdictStatus, dict[str, Any]]]:
    verdicts = list(v.verify_many([(problem, candidate(problem, p)) for p in patches]))
    return [(verdict.status, evidence_fields(verdict)) for verdict in verdicts]


# --- outcomes ---------------------------------------------------------------------------------


def test_gold_partial_wrong(tmp_path: Path, template: Path) -> None:
    v, factory = verifier(tmp_path, template, containers=1)
    problem = toy_problem(template)
    (gold, e_gold), (partial, e_partial), (wrong, e_wrong) = judge(v, problem, GOLD, PARTIAL, WRONG)
    assert gold is VerdictStatus.PASSED and e_gold["resolved"] and e_gold["apply"] == "git apply"
    assert e_gold["f2p_failed"] == [] and e_gold["p2p_failed"] == []
    assert "PASSED tests/test_calc.py::test_add" in Path(e_gold["log"]).read_text()
    assert partial is VerdictStatus.FAILED and e_partial["f2p_failed"] == ["tests/test_calc.py::test_neg"]
    assert wrong is VerdictStatus.FAILED and "tests/test_calc.py::test_add" in e_wrong["f2p_failed"]
    assert len(factory.opened) == 1  # one warm sandbox served the instance


@pytest.mark.parametrize(("patch", "status", "note"), [
    ("  \n", VerdictStatus.APPLY_FAILED, "empty patch"),
    ("\n", VerdictStatus.APPLY_FAILED, "empty patch"),
    ("\x00\x01binary\x00", VerdictStatus.APPLY_FAILED, "NUL"),
    ("this is not a diff\n", VerdictStatus.APPLY_FAILED, "did not apply"),
    (NOT_APPLYING, VerdictStatus.APPLY_FAILED, "did not apply"),
])
def test_patches_that_cannot_apply(tmp_path: Path, template: Path, patch: str, status: VerdictStatus, note: str) -> None:
    v, _ = verifier(tmp_path, template)
    [(got, evidence)] = judge(v, toy_problem(template), patch)
    assert got is status and note in evidence["note"] and evidence["resolved"] is False


def test_a_zero_byte_patch_is_tested_on_the_unchanged_tree(tmp_path: Path, template: Path) -> None:
    # As the official harness does: `patch` takes empty input as nothing to do and exits 0.
    v, _ = verifier(tmp_path, template)
    [(status, evidence)] = judge(v, toy_problem(template), "")
    assert status is VerdictStatus.FAILED and evidence["tests_ran"] and evidence["apply"] == "patch --fuzz"
    assert sorted(evidence["f2p_failed"]) == F2P


def test_fuzzy_patch_records_the_method(tmp_path: Path, template: Path) -> None:
    v, _ = verifier(tmp_path, template)
    shifted = GOLD.replace(" def add(a, b):\n", " def add(x, y):\n")  # first context line off: git refuses, patch fuzzes
    [(status, evidence)] = judge(v, toy_problem(template), shifted)
    assert status is VerdictStatus.PASSED and evidence["apply"] == "patch --fuzz"


def test_a_patch_that_edits_the_tests_is_graded_against_the_official_tests(tmp_path: Path, template: Path) -> None:
    v, _ = verifier(tmp_path, template)
    [(status, evidence)] = judge(v, toy_problem(template), EDITS_TESTS)
    assert status is VerdictStatus.FAILED and evidence["f2p_failed"] == ["tests/test_calc.py::test_neg"]


def test_hanging_tests_time_out_and_the_run_goes_on(tmp_path: Path, template: Path) -> None:
    v, _ = verifier(tmp_path, template, eval_timeout_s=5)
    (hang, e_hang), (gold, _) = judge(v, toy_problem(template), HANGS, GOLD)
    assert hang is VerdictStatus.TIMEOUT and "Timeout error: 5 seconds exceeded." in Path(e_hang["log"]).read_text()
    assert gold is VerdictStatus.PASSED


def test_deleting_the_code_fails_and_the_next_candidate_sees_a_clean_tree(tmp_path: Path, template: Path) -> None:
    v, _ = verifier(tmp_path, template)
    (deleted, evidence), (gold, _) = judge(v, toy_problem(template), DELETES_REPO, GOLD)
    assert deleted is VerdictStatus.FAILED and evidence["f2p_failed"]
    assert gold is VerdictStatus.PASSED


def test_eval_script_without_test_patch_gets_it_applied_by_us(tmp_path: Path, template: Path) -> None:
    base = git(template, "rev-parse", "HEAD")
    script = f"#!/bin/bash\nset -uxo pipefail\ncd /testbed\n: '>>>>> Start Test Output'\n" \
             f"{sys.executable} -m pytest -rA -p no:cacheprovider tests/test_calc.py\n: '>>>>> End Test Output'\n"
    problem = toy_problem(template, eval_script=script)
    assert not eval_script_applies_test_patch(script, TEST_PATCH)
    assert eval_script_applies_test_patch(eval_script(base), TEST_PATCH)
    v, _ = verifier(tmp_path, template)
    [(gold, _), (tests_edited, evidence)] = judge(v, problem, GOLD, EDITS_TESTS)
    assert gold is VerdictStatus.PASSED
    assert tests_edited is VerdictStatus.FAILED and evidence["f2p_failed"] == ["tests/test_calc.py::test_neg"]


# --- scheduling, dedup, failures ---------------------------------------------------------------


def test_identical_patches_are_verified_once_and_order_is_kept(tmp_path: Path, template: Path) -> None:
    v, factory = verifier(tmp_path, template, containers=2)
    one, two = toy_problem(template, "toy__calc-1"), toy_problem(template, "toy__calc-2")
    items = [(one, candidate(one, GOLD)), (two, candidate(two, WRONG)), (one, candidate(one, GOLD)),
             (two, candidate(two, GOLD)), (one, candidate(one, WRONG))]
    statuses = [verdict.status for verdict in v.verify_many(items)]
    assert statuses == [VerdictStatus.PASSED, VerdictStatus.FAILED, VerdictStatus.PASSED, VerdictStatus.PASSED, VerdictStatus.FAILED]
    assert len(factory.opened) == 2 and all(s.closed for s in factory.opened)
    logs = sorted(p.name for p in (tmp_path / "logs" / "toy__calc-1").glob("*.log"))
    assert len(logs) == 2  # GOLD once, WRONG once


def test_spare_containers_split_one_instance_and_share_its_flake_check(tmp_path: Path, template: Path) -> None:
    v, factory = verifier(tmp_path, template, flaky=True, containers=3, flake_runs=3, majority_runs=1)
    problem = toy_problem(template)
    patches = [GOLD, WRONG, PARTIAL, EDITS_TESTS, GOLD]
    statuses = [verdict.status for verdict in v.verify_many([(problem, candidate(problem, p)) for p in patches])]
    assert statuses[0] == statuses[4] and statuses[1:4] == [VerdictStatus.FAILED] * 3
    assert len(factory.opened) == 3
    assert len(list((tmp_path / "logs" / problem.id).glob("gold.flake*.log"))) == 3  # run once, not per container


def test_a_free_container_takes_the_next_patch_while_a_slow_one_runs(tmp_path: Path, template: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers of one instance share a queue: while one container is held by a slow patch, the other
    verifies all the rest (a fixed split would leave one of them waiting behind the slow one)."""
    v, factory = verifier(tmp_path, template, containers=2)
    slow, rest = PARTIAL, [WRONG, GOLD, EDITS_TESTS]
    applied: list[tuple[int, str]] = []
    others_done = threading.Event()
    real_apply = LocalSandbox.apply_patch

    def gated_apply(self: LocalSandbox, patch: str) -> PatchResult:
        box = factory.opened.index(self)
        if patch == slow:  # held until the other container has taken every other patch
            others_done.wait(30)
        applied.append((box, patch))
        if sum(p in rest for _, p in applied) == len(rest):
            others_done.set()
        return real_apply(self, patch)

    monkeypatch.setattr(LocalSandbox, "apply_patch", gated_apply)
    problem = toy_problem(template)
    statuses = [verdict.status for verdict in v.verify_many([(problem, candidate(problem, p)) for p in [slow, *rest]])]
    assert others_done.is_set()
    assert statuses == [VerdictStatus.FAILED, VerdictStatus.FAILED, VerdictStatus.PASSED, VerdictStatus.FAILED]
    slow_box = next(box for box, patch in applied if patch == slow)
    assert [patch for box, patch in applied if box == slow_box] == [slow]


def test_the_flake_checks_gold_runs_use_every_container_even_for_one_candidate(tmp_path: Path, template: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    v, factory = verifier(tmp_path, template, flaky=True, containers=2, flake_runs=4, majority_runs=1)
    gold_boxes: list[int] = []
    second_box = threading.Event()
    real_apply = LocalSandbox.apply_patch

    def gated_apply(self: LocalSandbox, patch: str) -> PatchResult:
        if patch == GOLD:
            gold_boxes.append(factory.opened.index(self))
            if len(set(gold_boxes)) == 2:
                second_box.set()
            second_box.wait(30)  # the first gold run is held until another container runs one too
        return real_apply(self, patch)

    monkeypatch.setattr(LocalSandbox, "apply_patch", gated_apply)
    problem = toy_problem(template)
    (verdict,) = v.verify_many([(problem, candidate(problem, WRONG))])
    assert second_box.is_set() and sorted(set(gold_boxes)) == [0, 1] and len(gold_boxes) == 4
    assert verdict.status is VerdictStatus.FAILED and evidence_fields(verdict)["flake_check"] is True
    assert len(list((tmp_path / "logs" / problem.id).glob("gold.flake*.log"))) == 4
    assert all(box.closed for box in factory.opened)


def test_a_workers_last_reset_starts_no_spare(tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    resets: list[str] = []

    class SpareSandbox(LocalSandbox):  # the PrestartsSpare capability, as DockerSandbox has it
        applying = False  # the stand-in's apply chain resets between its tries: not counted

        def apply_patch(self, patch: str) -> PatchResult:
            self.applying = True
            try:
                return super().apply_patch(patch)
            finally:
                self.applying = False

        def reset(self) -> None:
            if not self.applying:
                resets.append("reset")
            super().reset()

        def reset_last(self) -> None:
            resets.append("last")
            super().reset()

    monkeypatch.setattr(sys.modules[__name__], "LocalSandbox", SpareSandbox)
    v, _ = verifier(tmp_path, template, containers=1)
    statuses = [status for status, _ in judge(v, toy_problem(template), GOLD, WRONG, PARTIAL)]
    assert statuses == [VerdictStatus.PASSED, VerdictStatus.FAILED, VerdictStatus.FAILED]
    assert resets == ["reset", "last"]  # before the second patch, before the third and last


def test_a_broken_sandbox_is_an_error_and_the_next_candidate_gets_a_fresh_one(tmp_path: Path, template: Path) -> None:
    v, factory = verifier(tmp_path, template, containers=1)
    broken = {"once": True}
    real_reset = LocalSandbox.reset

    def flaky_reset(self: LocalSandbox) -> None:
        if broken.pop("once", False):
            raise RuntimeError("container died")
        real_reset(self)

    LocalSandbox.reset = flaky_reset  # type: ignore[method-assign]
    try:
        (first, evidence), (second, _) = judge(v, toy_problem(template), GOLD, WRONG)
    finally:
        LocalSandbox.reset = real_reset  # type: ignore[method-assign]
    assert first is VerdictStatus.ERROR and "container died" in evidence["note"]
    assert second is VerdictStatus.FAILED and len(factory.opened) == 2


def test_a_row_swebench_cannot_use_is_an_error(tmp_path: Path, template: Path) -> None:
    v, _ = verifier(tmp_path, template)
    problem = toy_problem(template)
    broken = problem.model_copy(update={"data": {k: val for k, val in problem.data.items() if k != "image"}})
    [(status, evidence)] = judge(v, broken, GOLD)
    assert status is VerdictStatus.ERROR and "test spec" in evidence["note"]


def test_verdict_version_names_swebench(tmp_path: Path, template: Path) -> None:
    import swebench

    v, _ = verifier(tmp_path, template)
    assert v.version.startswith(f"swebench-{swebench.__version__}")
    assert v.verify(toy_problem(template), candidate(toy_problem(template), WRONG)).verifier_version == v.version


def test_bind_run_dir_places_logs_in_the_run(tmp_path: Path, template: Path) -> None:
    v = SWEBenchVerifier(SWEBenchSettings(flake_runs=0))
    v.bind_run_dir(tmp_path / "run")
    assert v.logs_dir == tmp_path / "run" / "swebench_logs"


# --- flaky tests ------------------------------------------------------------------------------


def test_flake_check_finds_the_flaky_test_and_majority_decides(tmp_path: Path, template: Path) -> None:
    # One container: the stand-in's flaky test counts its runs per sandbox (fails every third).
    v, factory = verifier(tmp_path, template, flaky=True, flake_runs=3, majority_runs=3, containers=1)
    problem = toy_problem(template)
    (gold, e_gold), (wrong, e_wrong) = judge(v, problem, GOLD, WRONG)
    checks = load_flake_checks(tmp_path / "logs")
    assert checks["toy__calc-1"].flaky_tests == ["tests/test_calc.py::test_flaky"]
    assert checks["toy__calc-1"].valid_runs == 3 and checks["toy__calc-1"].gold_resolved_runs == 2
    # Runs 4, 5, 6 of the counter: the first gold run passes, then the majority of three decides.
    assert gold is VerdictStatus.PASSED and e_gold["flaky_instance"] and e_gold["lenient_resolved"]
    assert e_gold["majority"] == {"runs": 3, "resolved_runs": 2}
    assert wrong is VerdictStatus.FAILED and not e_wrong["lenient_resolved"] and "majority" not in e_wrong
    execs = factory.execs
    # A resumed run reads the stored check instead of running the gold patch again.
    again, factory2 = verifier(tmp_path, template, flaky=True, flake_runs=3, majority_runs=1)
    [(_, evidence)] = judge(again, problem, PARTIAL)
    assert evidence["flaky_tests"] == ["tests/test_calc.py::test_flaky"] and factory2.execs < execs / 3
    assert (tmp_path / "logs" / FLAKE_FILE).is_file()


def test_strict_and_lenient_grades_differ_only_on_flaky_tests(tmp_path: Path, template: Path) -> None:
    problem = toy_problem(template)
    # One container: the stand-in's flaky test counts its runs per sandbox (fails every third).
    first, _ = verifier(tmp_path, template, flaky=True, flake_runs=3, majority_runs=1, containers=1)
    judge(first, problem, WRONG)  # stores the flake check: test_flaky is flaky
    original = LocalSandbox.reset

    def reset_with_failing_flake(self: LocalSandbox) -> None:
        original(self)
        (self.repo / "COUNTER").write_text("2")  # the flaky test fails on its next run

    v, _ = verifier(tmp_path, template, flaky=True, flake_runs=3, majority_runs=1)
    LocalSandbox.reset = reset_with_failing_flake  # type: ignore[method-assign]
    try:
        [verdict] = v.verify_many([(problem, candidate(problem, GOLD))])
    finally:
        LocalSandbox.reset = original  # type: ignore[method-assign]
    evidence = evidence_fields(verdict)
    assert verdict.status is VerdictStatus.FAILED and evidence["p2p_failed"] == ["tests/test_calc.py::test_flaky"]
    assert evidence["lenient_resolved"] is True and evidence["flaky_instance"] is True
    assert lenient_passed(verdict) and on_flaky_instance(verdict) and not lenient_passed(None)


# --- bad instances: named, recorded, and nothing else stops ---------------------------------------


def test_an_image_whose_testbed_is_not_a_repository_is_an_error_naming_the_instance(tmp_path: Path, template: Path) -> None:
    plain = tmp_path / "plain" / "testbed"  # the files, no git repository
    plain.parent.mkdir()
    subprocess.run(["cp", "-a", str(template), str(plain.parent)], check=True)
    shutil.rmtree(plain / ".git")
    good, bad = Factory(template, tmp_path / "good", False), Factory(plain, tmp_path / "bad", False)
    settings = SWEBenchSettings(flake_runs=0, majority_runs=1, logs_dir=tmp_path / "logs", eval_timeout_s=60, containers=1)
    v = SWEBenchVerifier(settings, sandbox_factory=lambda image: bad(image) if image == "bad:1" else good(image))
    broken, fine = toy_problem(template, "toy__calc-2", image="bad:1"), toy_problem(template)
    verdicts = list(v.verify_many([(broken, candidate(broken, GOLD)), (broken, candidate(broken, WRONG)),
                                   (fine, candidate(fine, GOLD))]))
    notes = [evidence_fields(verdict).get("note", "") for verdict in verdicts[:2]]
    assert [verdict.status for verdict in verdicts] == [VerdictStatus.ERROR, VerdictStatus.ERROR, VerdictStatus.PASSED]
    assert all("toy__calc-2" in note and "bad:1" in note and "not a git repository" in note for note in notes)
    assert len(bad.opened) == 1  # checked once: the second candidate was refused without a new sandbox


def test_an_eval_script_that_never_reaches_the_tests_is_named(tmp_path: Path, template: Path) -> None:
    script = "#!/bin/bash\nset -e\necho installing the test requirements\nfalse\n: '>>>>> Start Test Output'\n"
    problem = toy_problem(template, eval_script=script)
    v, _ = verifier(tmp_path, template)
    [(status, evidence)] = judge(v, problem, GOLD)
    # The official grade of such a log is "not resolved": the verdict says so, and why.
    assert status is VerdictStatus.FAILED and evidence["tests_ran"] is False
    assert "toy__calc-1: the eval script never reached the tests" in evidence["note"]
    assert "exited with 1" in evidence["note"] and "installing the test requirements" in evidence["note"]
