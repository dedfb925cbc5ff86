"""Flaky SWE-bench tests: found by running the gold patch several times, then set aside or out-voted.

A flake check runs an instance's gold patch R times and compares, test by test, the status
maps swebench parses from the logs (`get_logs_eval`), judged as swebench's grading judges a
test (`test_passed`). A test seen both ways is flaky; it matters to grading when it is one
of FAIL_TO_PASS / PASS_TO_PASS. Runs that produced no gradable log (the gold patch did not
apply, a timeout, an unparseable log) count as invalid and decide nothing.

Candidate verdicts are graded strictly (every listed test, as the official harness does)
and leniently (the flaky tests removed from the lists); a verdict whose outcome hinges on
flaky tests can be re-run and decided by majority. Results are kept in one JSON file in
the logs directory so a resumed run never repeats a flake check.

For reports: `lenient_passed(verdict)` is the grade with flaky tests set aside,
`on_flaky_instance(verdict)` says whether a flaky test could change the instance's grades, and
`load_flake_checks(logs_dir)` lists every instance's check (its flaky tests, gold pass rate).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from harness.records import Verdict

FLAKE_FILE = "flake_checks.json"


class FlakeCheck(BaseModel):
    """What R runs of the gold patch showed for one instance."""

    instance_id: str
    runs: int  # runs asked for
    valid_runs: int = 0  # runs that produced a gradable log
    gold_resolved_runs: int = 0  # runs that swebench graded resolved
    flaky_tests: list[str] = Field(default_factory=list)  # passed in some runs and not in others (any test)
    flaky_graded: list[str] = Field(default_factory=list)  # those among FAIL_TO_PASS / PASS_TO_PASS
    always_failing: list[str] = Field(default_factory=list)  # listed tests that failed in every valid run
    swebench_version: str = ""
    note: str = ""
    logs: list[str] = Field(default_factory=list)

    @property
    def flaky(self) -> bool:
        """A flaky test can change this instance's grade."""
        return bool(self.flaky_graded)


def summarize_runs(instance_id: str, listed: list[str], status_maps: list[dict[str, str] | None],
                   resolved: list[bool], swebench_version: str, logs: list[str]) -> FlakeCheck:
    """A FlakeCheck from each gold run's test status map (None for a run without a gradable log).

    A test passes in a run as swebench's grading counts it (`test_passed`: PASSED or XFAIL, a
    missing test fails), so "flaky" means exactly "could be graded both ways".
    """
    from swebench.harness.grading import test_passed  # noqa: PLC0415

    valid = [status for status in status_maps if status is not None]
    tests = sorted({test for status in valid for test in status} | set(listed))
    outcomes = {test: {test_passed(test, status) for status in valid} for test in tests}
    flaky = [test for test in tests if len(outcomes[test]) > 1]
    failing = [test for test in listed if valid and outcomes[test] == {False}]
    note = "" if valid else "no gold run produced a gradable log; nothing could be learned about flakiness"
    return FlakeCheck(instance_id=instance_id, runs=len(status_maps), valid_runs=len(valid),
                      gold_resolved_runs=sum(resolved), flaky_tests=flaky,
                      flaky_graded=[test for test in flaky if test in set(listed)], always_failing=failing,
                      swebench_version=swebench_version, note=note, logs=logs)


class FlakeStore:
    """flake_checks.json in the logs directory: instance id -> FlakeCheck.

    Safe across threads and processes (Ray workers on one node share the file): a write
    reads, changes and replaces the file under an exclusive lock on a lock file beside it.
    """

    def __init__(self, logs_dir: Path) -> None:
        self.path = logs_dir / FLAKE_FILE
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {}
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}  # a damaged file only costs the checks again

    def get(self, instance_id: str, runs: int, swebench_version: str) -> FlakeCheck | None:
        """A stored check with at least `runs` runs from the same swebench version."""
        with self._lock:
            raw = self._read().get(instance_id)
        if raw is None:
            return None
        check = FlakeCheck.model_validate(raw)
        if check.runs < runs or check.swebench_version != swebench_version:
            return None
        return check

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield

    def put(self, check: FlakeCheck) -> None:
        with self._exclusive():
            data = self._read()
            data[check.instance_id] = check.model_dump(mode="json")
            partial = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
            partial.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            partial.replace(self.path)  # atomic: a crash never leaves half a file


def load_flake_checks(logs_dir: Path) -> dict[str, FlakeCheck]:
    """Every stored flake check, for reports ("coverage with and without flaky instances")."""
    raw = FlakeStore(logs_dir)._read()
    return {instance_id: FlakeCheck.model_validate(item) for instance_id, item in raw.items()}


def without_tests(tests: list[str], aside: set[str]) -> list[str]:
    return [test for test in tests if test not in aside]


def majority(votes: list[bool]) -> bool:
    """Resolved when more than half of the runs were resolved (a tie is not resolved)."""
    return sum(votes) * 2 > len(votes)


def evidence_fields(verdict: Verdict) -> dict[str, Any]:
    """The JSON evidence of a swebench verdict ({} for other verifiers or damaged evidence)."""
    try:
        fields = json.loads(verdict.evidence)
    except (json.JSONDecodeError, TypeError):
        return {}
    return fields if isinstance(fields, dict) else {}


def lenient_passed(verdict: Verdict | None) -> bool:
    """Resolved with the flaky tests set aside; the strict grade where no flake check ran."""
    if verdict is None:
        return False
    return bool(evidence_fields(verdict).get("lenient_resolved", verdict.passed))


def on_flaky_instance(verdict: Verdict | None) -> bool:
    """The verdict's instance has a flaky FAIL_TO_PASS / PASS_TO_PASS test (per its flake check)."""
    return verdict is not None and bool(evidence_fields(verdict).get("flaky_instance"))
