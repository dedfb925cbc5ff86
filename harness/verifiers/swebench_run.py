"""One run of a candidate in an instance's sandbox, and what its verdict's evidence says about it.

A run: the patch through the official chain (sandboxes.patching), the test patch where the eval
script does not apply it itself, the row's eval script with a timeout, the whole output saved as
the test log (as swebench's run_instance writes test_output.txt), then swebench's own report.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.problems.patches import patched_paths
from harness.records import Problem, VerdictStatus
from harness.verifiers.flaky import FlakeCheck
from harness.verifiers.swebench_grading import (
    START_MARK,
    eval_script_applies_test_patch,
    failures,
    grade_log,
    lenient_spec,
    short_list,
)
from harness.verifiers.swebench_settings import WORKDIR, SWEBenchSettings

if TYPE_CHECKING:
    from swebench.types import TestSpec

    from sandboxes.base import ExecResult, Sandbox

EVAL_SCRIPT_PATH = "/eval.sh"
TEST_PATCH_PATH = "/tmp/monkeys_test.diff"
APPLY_LOG_CHARS = 2000
LOG_TAIL_CHARS = 600
# /testbed must be the repository the patches apply to; Docker creates a missing working directory,
# empty, so an empty one counts as missing.
TESTBED_CHECK = (f'test -d {WORKDIR} && test -n "$(ls -A {WORKDIR})" || exit 3; '
                 f"git -C {WORKDIR} rev-parse --git-dir >/dev/null 2>&1 || exit 4")


@dataclass
class RunResult:
    """One application of a patch and one run of the eval script."""

    status: VerdictStatus | None = None  # APPLY_FAILED / TIMEOUT / ERROR; None: graded below
    method: str | None = None  # how the patch went in
    log: Path | None = None
    note: str = ""
    report: dict[str, Any] = field(default_factory=dict)  # swebench's get_eval_report entry
    duration_s: float = 0.0
    exit_code: int | None = None  # the eval script's

    @property
    def resolved(self) -> bool:
        return self.status is None and bool(self.report.get("resolved"))


@dataclass
class Instance:
    problem: Problem
    spec: TestSpec
    logs: Path  # this instance's log folder
    flake: FlakeCheck | None = None

    @property
    def id(self) -> str:
        return self.spec.instance_id


def testbed_problem(sandbox: Sandbox, instance_id: str, image: str) -> str | None:
    """None when /testbed in the instance's container is a git repository, else what is wrong."""
    code = sandbox.exec(["sh", "-c", TESTBED_CHECK], timeout_s=120).exit_code
    if code == 0:
        return None
    what = "has no /testbed (or an empty one)" if code == 3 else "has a /testbed that is not a git repository"
    return (f"{instance_id}: the image {image} {what}; an SWE-bench instance image holds the repository "
            f"there at the base commit. Check it with `monkeys images check --dataset DATASET --instances "
            f"{instance_id} --testbed`; rebuild it with `monkeys images build --dataset DATASET --instances "
            f"{instance_id} --force`")


def run_candidate(sandbox: Sandbox, instance: Instance, patch: str, log: Path, settings: SWEBenchSettings) -> RunResult:
    """Apply the patch in a clean sandbox and, if it went in, run the eval script and grade its log."""
    result = apply_candidate(sandbox, patch)
    if result.status is not None:
        return result
    test_patch = str(instance.problem.data.get("test_patch") or "")
    if not eval_script_applies_test_patch(instance.spec.eval_script, test_patch):
        note = apply_test_patch(sandbox, instance.problem, test_patch)
        if note:
            return dataclasses.replace(result, status=VerdictStatus.ERROR, note=f"{instance.id}: {note}")
    timeout = settings.eval_timeout_s
    sandbox.write_file(EVAL_SCRIPT_PATH, instance.spec.eval_script)
    execution = sandbox.exec(f"/bin/bash {EVAL_SCRIPT_PATH} 2>&1", timeout_s=timeout, workdir=WORKDIR)
    write_log(log, execution, timeout)
    result.log, result.exit_code = log, execution.exit_code
    if execution.timed_out:
        return dataclasses.replace(result, status=VerdictStatus.TIMEOUT, note=f"the eval script ran past {timeout:g}s")
    result.report = grade_log(instance.spec, log, patch)
    if execution.output_truncated:
        result.note = f"the test log was cut at {settings.output_bytes} bytes"
    return result


def evidence_of(instance: Instance, run: RunResult, patch: str) -> dict[str, Any]:
    """The verdict's evidence of a run: how the patch went in, the log, the failing tests, the lenient grade."""
    evidence: dict[str, Any] = {"instance_id": instance.id, "apply": run.method, "log": str(run.log) if run.log else None}
    if run.note:
        evidence["note"] = run.note
    if run.status is not None:
        return evidence
    from swebench.harness.constants import FAIL_TO_PASS, PASS_TO_PASS  # noqa: PLC0415

    report = run.report
    evidence["tests_ran"] = bool(report.get("patch_successfully_applied"))
    if not evidence["tests_ran"]:
        evidence["note"] = no_tests_note(instance.id, run)
        if report.get("infra_failure_reason"):
            evidence["infra_failure_reason"] = report["infra_failure_reason"]
    evidence["f2p_failed"] = short_list(failures(report, FAIL_TO_PASS))
    evidence["p2p_failed"] = short_list(failures(report, PASS_TO_PASS))
    evidence.update(lenient_fields(instance, run, patch))
    return evidence


def lenient_fields(instance: Instance, run: RunResult, patch: str) -> dict[str, Any]:
    """The grade with flaky tests set aside (the strict one where there are none)."""
    flake = instance.flake
    strict = bool(run.report.get("resolved"))
    if flake is None:
        return {"flake_check": False, "lenient_resolved": strict}
    fields: dict[str, Any] = {"flake_check": True, "flaky_instance": flake.flaky,
                              "flaky_tests": short_list(flake.flaky_graded)}
    if not flake.flaky or run.log is None:
        fields["lenient_resolved"] = strict
    else:
        aside = lenient_spec(instance.spec, set(flake.flaky_graded))
        fields["lenient_resolved"] = bool(grade_log(aside, run.log, patch).get("resolved"))
    return fields


def no_tests_note(instance_id: str, run: RunResult) -> str:
    """Why swebench found nothing to grade: the eval script stopped before the tests, or printed none it parses."""
    text = run.log.read_text(errors="replace") if run.log is not None and run.log.exists() else ""
    tail = text[-LOG_TAIL_CHARS:].strip()
    if START_MARK not in text:
        return (f"{instance_id}: the eval script never reached the tests (no '{START_MARK}' line; it exited "
                f"with {run.exit_code}); the end of its log: {tail}")
    return (f"{instance_id}: the eval script ran the tests, but swebench's log parser found no results "
            f"of this instance's tests in their output; the end of the log: {tail}")


def apply_candidate(sandbox: Sandbox, patch: str) -> RunResult:
    """The official harness's chain (sandboxes.patching), "already applied" included."""
    applied = sandbox.apply_patch(patch)
    if applied.applied:
        return RunResult(method=applied.method)
    return RunResult(status=VerdictStatus.APPLY_FAILED, note=f"the patch did not apply: {applied.log[-APPLY_LOG_CHARS:]}")


def apply_test_patch(sandbox: Sandbox, problem: Problem, test_patch: str) -> str | None:
    """What swebench eval scripts do first: test files back to the base commit, then the test patch."""
    base = str(problem.data.get("base_commit") or "HEAD")
    for path in patched_paths(test_patch):
        sandbox.exec(["git", "checkout", base, "--", path], workdir=WORKDIR, timeout_s=120)  # new files: nothing to reset
    sandbox.write_file(TEST_PATCH_PATH, test_patch)
    applied = sandbox.exec(["git", "apply", "-v", TEST_PATCH_PATH], workdir=WORKDIR, timeout_s=120)
    return None if applied.ok else f"the test patch did not apply: {(applied.stdout + applied.stderr)[-APPLY_LOG_CHARS:]}"


def write_log(log: Path, execution: ExecResult, timeout_s: float) -> None:
    """The whole output, as swebench's run_instance writes test_output.txt (its timeout line included)."""
    text = execution.stdout + execution.stderr
    if execution.timed_out:
        text += f"\n\nTimeout error: {int(timeout_s)} seconds exceeded."
    log.write_text(text, encoding="utf-8", errors="replace")
