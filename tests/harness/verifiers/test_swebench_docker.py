"""SWEBenchVerifier with the real Docker engine on the toy instance monkeys__calc-1.

Nothing here is skipped: without a Docker engine (or without the base image from
scripts/setup_docker.sh) the fixtures fail, and the failure says what to do.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.problems.datasets import SourceRow
from harness.problems.patches import patch_key
from harness.problems.swebench import SWEBenchTask, problem_from_row
from harness.records import Candidate, Problem, VerdictStatus
from harness.verifiers.flaky import evidence_fields, load_flake_checks
from harness.verifiers.swebench import SWEBenchSettings, SWEBenchVerifier
from tests.swebench_toy import (
    FAIL_TO_PASS,
    PASS_TO_PASS,
    TOY_FLAKY_TEST,
    build_toy_instance,
    toy_patch,
)

pytestmark = pytest.mark.timeout(900)

NOT_APPLYING = toy_patch("gold").replace("-    return a // b", "-    return a // c")
EDITS_TESTS = """diff --git a/tests/test_ops.py b/tests/test_ops.py
--- a/tests/test_ops.py
+++ b/tests/test_ops.py
@@ -26,3 +26,11 @@ def test_div_by_zero():
 
 def test_mean():
     assert mean([1, 2, 3, 6]) == 3
+
+
+def test_div_fraction():
+    pass
+
+
+def test_mean_empty():
+    pass
"""
HANGS = """diff --git a/calc/ops.py b/calc/ops.py
--- a/calc/ops.py
+++ b/calc/ops.py
@@ -17,3 +17,5 @@ def mul(a, b):
 def div(a, b):
     \"\"\"a divided by b; raises ZeroDivisionError when b is 0.\"\"\"
+    while True:
+        pass
     return a // b
"""
FILLS_DISK = """diff --git a/calc/__init__.py b/calc/__init__.py
--- a/calc/__init__.py
+++ b/calc/__init__.py
@@ -1,5 +1,9 @@
 \"\"\"A tiny calculator.\"\"\"
 
+with open("/testbed/huge.bin", "wb") as _out:
+    while True:
+        _out.write(b"0" * (1 << 20))
+
 from calc.ops import add, div, mean, mul, sub
 
 __all__ = ["add", "div", "mean", "mul", "sub"]
"""


@pytest.fixture(scope="module")
def toy() -> tuple[dict[str, Any], str]:
    """Builds (or finds) the toy image; fails with the reason when Docker or the base image is missing."""
    return build_toy_instance()


@pytest.fixture(scope="module")
def problem(toy: tuple[dict[str, Any], str]) -> Problem:
    return problem_from_row(SourceRow("toy", 1, 0, toy[0]))


def make_verifier(tmp_path: Path, **settings: Any) -> SWEBenchVerifier:
    options = {"flake_runs": 0, "majority_runs": 1, "eval_timeout_s": 120, **settings}
    verifier = SWEBenchVerifier(SWEBenchSettings(**options))
    verifier.bind_run_dir(tmp_path / "run")
    verifier.run_id = f"test-{uuid.uuid4().hex[:12]}"  # not "run": other test sessions on this engine use that label too
    return verifier


def candidate(problem: Problem, patch: str) -> Candidate:
    return Candidate(problem_id=problem.id, key=patch_key(patch), content=patch)


def judge(verifier: SWEBenchVerifier, problem: Problem, *patches: str) -> list[tuple[VerdictStatus, dict[str, Any]]]:
    verdicts = verifier.verify_many([(problem, candidate(problem, patch)) for patch in patches])
    return [(verdict.status, evidence_fields(verdict)) for verdict in verdicts]


def leftover_containers(run_id: str) -> list[Any]:
    from sandboxes.docker import docker_client

    return docker_client().containers.list(all=True, filters={"label": f"monkeys.run={run_id}"})


def test_gold_resolves_partial_and_wrong_do_not(tmp_path: Path, problem: Problem) -> None:
    verifier = make_verifier(tmp_path)
    names = ("gold", "partial", "wrong", "stale_3way", "fuzzy")
    results = dict(zip(names, judge(verifier, problem, *(toy_patch(n) for n in names)), strict=True))
    status, evidence = results["gold"]
    assert status is VerdictStatus.PASSED and evidence["resolved"] and evidence["apply"] == "git apply"
    log = Path(evidence["log"])
    assert log.is_file() and log.is_relative_to(tmp_path / "run" / "swebench_logs")
    assert "PASSED tests/test_ops.py::test_div_fraction" in log.read_text()
    status, evidence = results["partial"]
    assert status is VerdictStatus.FAILED and evidence["f2p_failed"] == ["tests/test_ops.py::test_mean_empty"]
    status, evidence = results["wrong"]
    assert status is VerdictStatus.FAILED and sorted(evidence["f2p_failed"]) == sorted(FAIL_TO_PASS)
    assert evidence["p2p_failed"] == []
    assert results["stale_3way"][1]["apply"] == "git apply --3way"
    assert results["fuzzy"][1]["apply"] == "patch --fuzz"
    assert not leftover_containers(verifier.run_id or "")


@pytest.mark.parametrize(("name", "patch", "status", "note"), [
    ("empty", "", VerdictStatus.APPLY_FAILED, "empty patch"),
    ("does not apply", NOT_APPLYING, VerdictStatus.APPLY_FAILED, "did not apply"),
    ("garbage text", "Sure! I fixed the bug by editing ops.py.\n", VerdictStatus.APPLY_FAILED, "not a diff"),
    ("binary", "\x7fELF\x02\x01\x01\x00\x00\x00binary", VerdictStatus.APPLY_FAILED, "NUL"),
    ("git binary patch", ("diff --git a/x.bin b/x.bin\nnew file mode 100644\nindex 0000000..1111111\n"
                          "GIT binary patch\nliteral 3\nKcmZ>Y$N&HU0RR91\n\nliteral 0\nHcmV?d00001\n"),
     VerdictStatus.APPLY_FAILED, "binary"),
])
def test_patches_that_cannot_apply(tmp_path: Path, problem: Problem, name: str, patch: str,
                                   status: VerdictStatus, note: str) -> None:
    [(got, evidence)] = judge(make_verifier(tmp_path), problem, patch)
    assert got is status, name
    assert note in evidence["note"], name


def test_a_patch_that_edits_the_tests_is_graded_against_the_official_tests(tmp_path: Path, problem: Problem) -> None:
    # The eval script resets tests/test_ops.py to the base commit before applying the test
    # patch, as swebench's does, so the candidate's own versions of the tests never run.
    [(status, evidence)] = judge(make_verifier(tmp_path), problem, EDITS_TESTS)
    assert status is VerdictStatus.FAILED and sorted(evidence["f2p_failed"]) == sorted(FAIL_TO_PASS)


def test_hangs_disk_fillers_and_deletions_get_their_status_and_the_run_goes_on(tmp_path: Path, problem: Problem,
                                                                              toy: tuple[dict[str, Any], str]) -> None:
    verifier = make_verifier(tmp_path, eval_timeout_s=20, file_size_bytes=64 << 20)
    deletion = _deletion_patch(toy[1])
    results = judge(verifier, problem, HANGS, FILLS_DISK, deletion, toy_patch("gold"))
    (hang, e_hang), (fill, e_fill), (deleted, e_deleted), (gold, _) = results
    assert hang is VerdictStatus.TIMEOUT and "Timeout error: 20 seconds exceeded." in Path(e_hang["log"]).read_text()
    assert fill is VerdictStatus.FAILED and e_fill["resolved"] is False
    assert deleted is VerdictStatus.FAILED and e_deleted["apply"] == "git apply"
    assert gold is VerdictStatus.PASSED  # the tree was clean again after all of that
    assert not leftover_containers(verifier.run_id or "")


def _deletion_patch(image: str) -> str:
    """`git rm -r .` inside the image, as a patch: every tracked file of the repository deleted."""
    from sandboxes.docker import DockerSandbox

    with DockerSandbox(image) as box:
        done = box.exec("git rm -rq . && git diff --cached", timeout_s=60)
    assert done.ok and "deleted file mode" in done.stdout, done.stderr
    return done.stdout


def test_identical_patches_are_verified_once(tmp_path: Path, problem: Problem) -> None:
    task = SWEBenchTask()
    gold = toy_patch("gold")
    outputs = [gold, f"The fix:\n```diff\n{gold}```\n", "\n" + gold, toy_patch("wrong"), gold]
    candidates = [task.extract(problem, text) for text in outputs]
    assert len({c.key for c in candidates if c}) == 2
    verifier = make_verifier(tmp_path)
    verdicts = list(verifier.verify_many([(problem, c) for c in candidates if c]))
    assert [v.status for v in verdicts] == [VerdictStatus.PASSED] * 3 + [VerdictStatus.FAILED, VerdictStatus.PASSED]
    logs = list((verifier.logs_dir / problem.id).glob("*.log"))
    assert len(logs) == 2  # one test run per unique patch


def test_flaky_test_is_found_and_majority_decides(tmp_path: Path, toy: tuple[dict[str, Any], str]) -> None:
    # The toy's flaky test, made part of PASS_TO_PASS and failing in half the runs: 20 gold
    # runs see both outcomes unless 20 coin flips agree (a chance of 2 in a million).
    row = dict(toy[0])
    row["PASS_TO_PASS"] = json.dumps([*PASS_TO_PASS, TOY_FLAKY_TEST])
    row["eval_script"] = row["eval_script"].replace("python3 -m pytest", "CALC_FLAKY_RATE=0.5 python3 -m pytest")
    flaky_problem = problem_from_row(SourceRow("toy", 1, 0, row))
    verifier = make_verifier(tmp_path, flake_runs=20, majority_runs=5)
    (gold, e_gold), (partial, e_partial) = judge(verifier, flaky_problem, toy_patch("gold"), toy_patch("partial"))
    check = load_flake_checks(verifier.logs_dir)[flaky_problem.id]
    assert check.flaky_graded == [TOY_FLAKY_TEST] and check.valid_runs == 20 and check.flaky
    assert e_gold["flaky_instance"] and e_gold["flaky_tests"] == [TOY_FLAKY_TEST] and e_gold["lenient_resolved"]
    votes = e_gold["majority"]
    assert votes["runs"] == 5 and (gold is VerdictStatus.PASSED) == (votes["resolved_runs"] >= 3)
    assert partial is VerdictStatus.FAILED and not e_partial["lenient_resolved"] and "majority" not in e_partial


def test_the_unmodified_toy_is_not_a_flaky_instance(tmp_path: Path, problem: Problem) -> None:
    # Its flaky test is in neither list: it may be seen flaky, but it cannot change a grade.
    verifier = make_verifier(tmp_path, flake_runs=3, majority_runs=11)
    [(status, evidence)] = judge(verifier, problem, toy_patch("gold"))
    assert status is VerdictStatus.PASSED and evidence["flaky_instance"] is False and "majority" not in evidence
    check = load_flake_checks(verifier.logs_dir)[problem.id]
    assert check.flaky_graded == [] and set(check.flaky_tests) <= {TOY_FLAKY_TEST}
    assert check.gold_resolved_runs == 3


def test_a_missing_image_is_an_error_that_says_how_to_get_it(tmp_path: Path, toy: tuple[dict[str, Any], str]) -> None:
    row = {**toy[0], "image": "monkeys-missing/none:0"}
    missing = problem_from_row(SourceRow("toy", 1, 0, row))
    [(status, evidence)] = judge(make_verifier(tmp_path), missing, toy_patch("gold"))
    assert status is VerdictStatus.ERROR and "not present" in evidence["note"]


def _run_verify(tmp_path: Path, toy: tuple[dict[str, Any], str], lines: list[dict[str, Any]]) -> Path:
    dataset = tmp_path / "toy.jsonl"
    dataset.write_text(json.dumps(toy[0]) + "\n")
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "harness.cli", "verify", "--task", "swebench", "--dataset", str(dataset),
                           "--samples", str(samples), "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return out


def test_monkeys_verify_with_completions(tmp_path: Path, toy: tuple[dict[str, Any], str]) -> None:
    """The command end to end on the generic samples format."""
    outputs = [toy_patch("gold"), f"Fix:\n```diff\n{toy_patch('gold')}```", "no idea", toy_patch("wrong")]
    out = _run_verify(tmp_path, toy, [{"problem_id": toy[0]["instance_id"], "completion": text} for text in outputs])
    rows = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["passed", "passed", "no_answer", "failed"]
    assert json.loads((out / "report.json").read_text())["pass_at_k"]["1"] == pytest.approx(0.5)


def test_monkeys_verify_with_predictions_writes_verdicts_and_report(tmp_path: Path, toy: tuple[dict[str, Any], str]) -> None:
    """The command end to end: swebench predictions in, verdicts.jsonl and report.json out."""
    patches = [toy_patch("gold"), toy_patch("wrong"), toy_patch("gold"), "", toy_patch("partial")]
    out = _run_verify(tmp_path, toy, [{"instance_id": toy[0]["instance_id"], "model_name_or_path": "m",
                                       "model_patch": patch} for patch in patches])
    rows = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert [r["sample_index"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["resolved"] for r in rows] == [True, False, True, False, False]
    assert {r["instance_id"] for r in rows} == {toy[0]["instance_id"]}
    assert rows[0]["status"] == "passed" and rows[3]["status"] == "no_answer" and rows[4]["status"] == "failed"
    assert rows[0]["test_log"] == rows[2]["test_log"] and Path(rows[0]["test_log"]).is_file()
    assert rows[3]["test_log"] is None
    report = json.loads((out / "report.json").read_text())
    assert report["pass_at_k"]["1"] == pytest.approx(0.4)


def test_an_image_without_testbed_is_an_error_naming_the_instance_and_the_others_go_on(
        tmp_path: Path, toy: tuple[dict[str, Any], str], problem: Problem) -> None:
    from tests.swebench_toy import BASE_IMAGE

    # The base image holds no repository: Docker would create an empty /testbed as the working directory.
    row = {**toy[0], "instance_id": "monkeys__calc-notestbed", "image": BASE_IMAGE}
    broken = problem_from_row(SourceRow("toy", 2, 1, row))
    verifier = make_verifier(tmp_path)
    verdicts = list(verifier.verify_many([(broken, candidate(broken, toy_patch("gold"))),
                                          (problem, candidate(problem, toy_patch("gold")))]))
    note = evidence_fields(verdicts[0])["note"]
    assert verdicts[0].status is VerdictStatus.ERROR and verdicts[1].status is VerdictStatus.PASSED
    assert "monkeys__calc-notestbed" in note and BASE_IMAGE in note and "has no /testbed" in note
    assert leftover_containers(verifier.run_id or "") == []
