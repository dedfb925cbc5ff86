"""swebench's own grading, as the SWE-bench verifier calls it: specs, reports, parses, lenient specs.

Nothing of the grading is reimplemented here: `make_test_spec` gives the spec, `get_eval_report`
runs the parser from PARSER_REGISTRY over a log, builds the FAIL_TO_PASS / PASS_TO_PASS report
and calls `get_resolution_status`; `get_logs_eval` gives the parse alone (the flake check's input).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.problems.patches import patched_paths
from harness.records import Problem
from harness.verifiers.flaky import without_tests

if TYPE_CHECKING:
    from swebench.types import TestSpec

EVIDENCE_LIST_MAX = 20
START_MARK = ">>>>> Start Test Output"  # swebench.harness.constants.START_TEST_OUTPUT


def swebench_version() -> str:
    import swebench  # noqa: PLC0415 - heavy; only when verifying

    return str(swebench.__version__)


def make_spec(problem: Problem) -> TestSpec:
    from swebench.harness.utils import make_test_spec  # noqa: PLC0415

    return make_test_spec(problem.data)


def eval_script_applies_test_patch(script: str, test_patch: str) -> bool:
    """Does the eval script itself reset the test files and apply the test patch (swebench >= 5 rows do)?"""
    if not test_patch.strip():
        return True
    paths = patched_paths(test_patch)
    applies = "git apply" in script or "patch " in script
    return applies and all(path in script for path in paths)


def short_list(tests: list[str]) -> list[str]:
    if len(tests) <= EVIDENCE_LIST_MAX:
        return list(tests)
    return [*tests[:EVIDENCE_LIST_MAX], f"... and {len(tests) - EVIDENCE_LIST_MAX} more"]


def failures(report: dict[str, Any], kind: str) -> list[str]:
    """The tests of FAIL_TO_PASS or PASS_TO_PASS that swebench's report counts as failed."""
    return list(report.get("tests_status", {}).get(kind, {}).get("failure", []))


def grade_log(spec: TestSpec, log: Path, model_patch: str) -> dict[str, Any]:
    """swebench's own report for one test log: parser, status map, F2P/P2P, resolution."""
    from swebench.harness.grading import get_eval_report  # noqa: PLC0415

    prediction = {"instance_id": spec.instance_id, "model_patch": model_patch, "model_name_or_path": "monkeys"}
    return get_eval_report(test_spec=spec, prediction=prediction, test_log_path=str(log), include_tests_status=True)[spec.instance_id]


def status_map(spec: TestSpec, log: Path) -> dict[str, str] | None:
    """swebench's parse of a log (test -> status), or None when it holds no gradable results."""
    from swebench.harness.grading import get_logs_eval  # noqa: PLC0415

    statuses, found = get_logs_eval(spec, str(log))
    return statuses if found else None


def lenient_spec(spec: TestSpec, flaky: set[str]) -> TestSpec:
    """The same spec with the flaky tests set aside."""
    return dataclasses.replace(spec, FAIL_TO_PASS=without_tests(spec.FAIL_TO_PASS, flaky),
                               PASS_TO_PASS=without_tests(spec.PASS_TO_PASS, flaky))
