"""SWEBenchVerifier: each candidate patch applied and tested in its instance's image, graded by swebench.

Per instance one warm container (a DockerSandbox) serves every candidate of that instance:
reset to the clean tree, apply the candidate (the official chain: git apply -> --3way -> --reject
-> patch --fuzz=5, sandboxes.patching), run the
row's eval script with a timeout, save the whole test log, and grade it with swebench's
own functions: `make_test_spec` for the spec, `get_eval_report` (which runs the parser from
PARSER_REGISTRY over the log, builds the FAIL_TO_PASS / PASS_TO_PASS report and calls
`get_resolution_status`). Nothing of the grading is reimplemented here.

The eval script of a swebench >= 5 row resets the test files the test patch touches to the
base commit and applies the test patch itself, so a candidate that edits those tests is
graded against the official tests, as in the official harness. Only for a row whose script
does not do that do we reset those files and apply the test patch ourselves, the same way.

Verdicts: PASSED (resolved), FAILED (not resolved; evidence names the failing tests),
APPLY_FAILED, TIMEOUT, ERROR (our machinery broke: no image, Docker died). The evidence is
a JSON object (see `harness.verifiers.flaky.evidence_fields`).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from harness.problems.patches import key_digest, patch_problem, patched_paths
from harness.records import Candidate, Problem, Verdict, VerdictStatus
from harness.verifiers.base import RayPlacement
from harness.verifiers.flaky import (
    FlakeCheck,
    FlakeStore,
    evidence_fields,
    lenient_passed,
    load_flake_checks,
    majority,
    on_flaky_instance,
    summarize_runs,
    without_tests,
)

if TYPE_CHECKING:
    from swebench.types import TestSpec

    from sandboxes.base import ExecResult, Sandbox

RULES_VERSION = "1"  # bump when judging here changes: it invalidates cached verdicts
EVAL_SCRIPT_PATH = "/eval.sh"
TEST_PATCH_PATH = "/tmp/monkeys_test.diff"
WORKDIR = "/testbed"  # swebench.image_builder.constants.CONTAINER_WORKDIR
EVIDENCE_LIST_MAX = 20
APPLY_LOG_CHARS = 2000

SandboxFactory = Callable[[str], "Sandbox"]


def swebench_version() -> str:
    import swebench  # noqa: PLC0415 - heavy; only when verifying

    return str(swebench.__version__)


class SWEBenchSettings(BaseModel):
    """How SWE-bench candidates are verified; set under `verify` in a run config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    containers: int = Field(2, ge=1)  # instances verified at once, one warm container each
    eval_timeout_s: float = Field(1800.0, gt=0)  # the eval script's limit (swebench's default)
    flake_runs: int = Field(5, ge=0)  # gold-patch runs per instance to find flaky tests; 0: no check
    majority_runs: int = Field(11, ge=1)  # runs of a verdict that hinges on flaky tests (the paper: 11); 1: off
    logs_dir: Path | None = None  # default: <run dir>/swebench_logs
    memory_bytes: int = Field(4 << 30, ge=1 << 26)  # per container
    cpus: float = Field(1.0, gt=0)  # per container
    processes: int = Field(1024, ge=16)
    file_size_bytes: int = Field(1 << 30, ge=1 << 20)  # largest file a test may write
    output_bytes: int = Field(64 << 20, ge=1 << 16)  # test log kept per run; the rest is dropped


@dataclass
class RunResult:
    """One application of a patch and one run of the eval script."""

    status: VerdictStatus | None = None  # APPLY_FAILED / TIMEOUT / ERROR; None: graded below
    method: str | None = None  # how the patch went in
    log: Path | None = None
    note: str = ""
    report: dict[str, Any] = field(default_factory=dict)  # swebench's get_eval_report entry
    duration_s: float = 0.0

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


# --- small pieces ------------------------------------------------------------------------------


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


def docker_sandbox_factory(settings: SWEBenchSettings, run_id: str | None = None) -> SandboxFactory:
    """A DockerSandbox per instance image: no network, the configured limits, labelled with the run."""

    def open_sandbox(image: str) -> Sandbox:
        from sandboxes.base import Limits  # noqa: PLC0415
        from sandboxes.docker import DockerSandbox  # noqa: PLC0415

        limits = Limits(wall_s=settings.eval_timeout_s, cpu_s=int(settings.eval_timeout_s) + 60,
                        memory_bytes=settings.memory_bytes, processes=settings.processes,
                        file_size_bytes=settings.file_size_bytes, output_bytes=settings.output_bytes)
        return DockerSandbox(image, limits=limits, workdir=WORKDIR, run_id=run_id, cpus=settings.cpus)

    return open_sandbox


# --- the verifier ------------------------------------------------------------------------------


class SWEBenchVerifier:
    """A BatchVerifier: `verify_many` runs up to `containers` instances at once, in threads."""

    name = "swebench"
    # On Ray: one instance per task (one warm container, one flake check), on nodes with Docker.
    ray_placement = RayPlacement(resources={"docker": 1.0}, per_problem=True)

    def __init__(self, settings: SWEBenchSettings | None = None, sandbox_factory: SandboxFactory | None = None) -> None:
        self.settings = settings or SWEBenchSettings()
        self.version = f"swebench-{swebench_version()}+rules-{RULES_VERSION}"
        self.sandbox_factory = sandbox_factory
        self._logs_dir = self.settings.logs_dir
        self.run_id: str | None = None  # labels the containers, for sandboxes.docker.cleanup_leftovers

    def __getstate__(self) -> dict[str, Any]:  # verifiers must pickle; a custom factory does not travel
        return {"settings": self.settings, "logs_dir": self._logs_dir, "run_id": self.run_id}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]
        self._logs_dir, self.run_id = state["logs_dir"], state["run_id"]

    def bind_run_dir(self, run_dir: Path) -> None:
        """Hook for the pipeline: logs go under the run directory unless settings.logs_dir says otherwise."""
        if self.settings.logs_dir is None:
            self._logs_dir = Path(run_dir) / "swebench_logs"
        self.run_id = _safe_name(Path(run_dir).resolve().name)

    @property
    def logs_dir(self) -> Path:
        if self._logs_dir is None:  # used outside a run: keep the logs somewhere that exists
            self._logs_dir = Path(tempfile.mkdtemp(prefix="monkeys-swebench-logs-"))
        return self._logs_dir

    def export_files(self, problem_ids: Iterable[str]) -> dict[str, Any]:
        """On a Ray node other than the driver's: these instances' logs and flake checks, for
        `import_files` on the driver (where the run directory is). The node keeps no copy of the logs."""
        wanted = set(problem_ids)
        files: dict[str, bytes] = {}
        for instance_id in wanted:
            folder = self.logs_dir / _safe_name(instance_id)
            if folder.is_dir():
                files |= {str(path.relative_to(self.logs_dir)): path.read_bytes()
                          for path in sorted(folder.rglob("*")) if path.is_file()}
                shutil.rmtree(folder, ignore_errors=True)
        checks = [check.model_dump(mode="json") for instance_id, check in load_flake_checks(self.logs_dir).items()
                  if instance_id in wanted]
        return {"files": files, "flake_checks": checks}

    def import_files(self, shipped: dict[str, Any]) -> None:
        """On the driver: write what `export_files` sent where this machine would have written it."""
        root = self.logs_dir.resolve()
        for relative, data in shipped.get("files", {}).items():
            target = (root / relative).resolve()
            if not target.is_relative_to(root):  # a path from elsewhere never writes outside the logs
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        store = FlakeStore(self.logs_dir)
        for raw in shipped.get("flake_checks", []):
            store.put(FlakeCheck.model_validate(raw))

    def verdict_fields(self, problem_id: str, passed: bool, verdict: Verdict | None) -> dict[str, Any]:
        """Hook for verdicts.jsonl: the swebench-style fields of one attempt's line."""
        log = evidence_fields(verdict).get("log") if verdict is not None else None
        return {"instance_id": problem_id, "resolved": passed, "test_log": log}

    def flaky_grading(self, verdict: Verdict | None) -> tuple[bool, bool]:
        """Hook for reports: (resolved with flaky tests set aside, the instance has flaky tests)."""
        return lenient_passed(verdict), on_flaky_instance(verdict)

    def verify(self, problem: Problem, candidate: Candidate) -> Verdict:
        return next(iter(self.verify_many([(problem, candidate)])))

    def verify_many(self, items: Sequence[tuple[Problem, Candidate]]) -> Iterator[Verdict]:
        """Verdicts in input order; each instance's candidates share one container."""
        batch = _Batch(self, list(items))
        try:
            yield from batch.run()
        finally:
            batch.stop()

    def verdict(self, status: VerdictStatus, evidence: dict[str, Any], duration_s: float) -> Verdict:
        evidence.setdefault("resolved", status is VerdictStatus.PASSED)
        return Verdict(status=status, verifier=self.name, verifier_version=self.version,
                       evidence=json.dumps(evidence, ensure_ascii=False), duration_s=duration_s)


class _Batch:
    """One verify_many call: containers work through instances in parallel, verdicts come in input order.

    Each instance gets one worker with one warm container; when there are fewer instances than
    containers, the spare containers split an instance's distinct patches between them.
    """

    def __init__(self, verifier: SWEBenchVerifier, items: list[tuple[Problem, Candidate]]) -> None:
        self.verifier, self.items = verifier, items
        self.results: dict[int, Verdict] = {}
        self.done = threading.Condition()
        self.cancel = threading.Event()
        self.open: set[Sandbox] = set()
        self.open_lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=verifier.settings.containers, thread_name_prefix="swebench")
        self.futures: list[Future[None]] = []

    def run(self) -> Iterator[Verdict]:
        groups: dict[str, dict[str, list[int]]] = {}  # problem id -> candidate key -> input positions
        for index, (problem, candidate) in enumerate(self.items):
            groups.setdefault(problem.id, {}).setdefault(candidate.key, []).append(index)
        per_instance = max(1, self.verifier.settings.containers // max(1, len(groups)))
        for by_key in groups.values():
            shared = _SharedInstance(self.verifier, self.items[next(iter(by_key.values()))[0]][0])
            work = list(by_key.values())
            shards = min(per_instance, len(work))
            self.futures += [self.pool.submit(_InstanceWorker(self, shared, work[s::shards]).run) for s in range(shards)]
        for index in range(len(self.items)):
            yield self._wait_for(index)

    def _wait_for(self, index: int) -> Verdict:
        with self.done:
            self.done.wait_for(lambda: index in self.results or all(f.done() for f in self.futures))
            if index in self.results:
                return self.results[index]
        return self.verifier.verdict(VerdictStatus.ERROR, {"note": "the instance's verification stopped early"}, 0.0)

    def publish(self, index: int, verdict: Verdict) -> None:
        with self.done:
            self.results[index] = verdict
            self.done.notify_all()

    def stop(self) -> None:
        """Normal end, or the consumer went away (Ctrl-C): remove containers so that nothing lingers."""
        self.cancel.set()
        with self.open_lock:
            leftovers = list(self.open)
        for sandbox in leftovers:
            _close_quietly(sandbox)  # a running exec ends with its container
        self.pool.shutdown(wait=True, cancel_futures=True)
        with self.done:
            self.done.notify_all()

    def open_sandbox(self, image: str) -> Sandbox:
        settings = self.verifier.settings
        factory = self.verifier.sandbox_factory or docker_sandbox_factory(settings, self.verifier.run_id)
        sandbox = factory(image)
        with self.open_lock:
            self.open.add(sandbox)
        if self.cancel.is_set():  # stopped while it was starting
            self.close_sandbox(sandbox)
            raise RuntimeError("verification was stopped")
        return sandbox

    def close_sandbox(self, sandbox: Sandbox) -> None:
        with self.open_lock:
            self.open.discard(sandbox)
        _close_quietly(sandbox)


class _SharedInstance:
    """What an instance's workers share: its spec and log folder (made once), its flake check (run once)."""

    def __init__(self, verifier: SWEBenchVerifier, problem: Problem) -> None:
        self.verifier, self.problem = verifier, problem
        self.lock = threading.Lock()  # held while preparing and during the flake check
        self.instance: Instance | None = None
        self.error: str | None = None
        self.prepared = False

    def get(self) -> tuple[Instance | None, str | None]:
        with self.lock:
            if not self.prepared:
                self.prepared = True
                try:
                    spec = make_spec(self.problem)
                    logs = self.verifier.logs_dir / _safe_name(spec.instance_id)
                    logs.mkdir(parents=True, exist_ok=True)
                    self.instance = Instance(problem=self.problem, spec=spec, logs=logs)
                except Exception as exc:  # noqa: BLE001 - a row swebench cannot make a spec of
                    self.error = f"cannot make a swebench test spec: {type(exc).__name__}: {exc}"
            return self.instance, self.error


class _InstanceWorker:
    """Distinct patches of one instance, in one warm container, reset between runs."""

    def __init__(self, batch: _Batch, shared: _SharedInstance, work: list[list[int]]) -> None:
        self.batch, self.shared, self.work = batch, shared, work  # work: input positions of each distinct patch
        self.verifier = batch.verifier
        self.settings = batch.verifier.settings
        self.sandbox: Sandbox | None = None
        self.dirty = False  # the sandbox was used since it was opened or reset

    def run(self) -> None:
        """Never raises: every candidate gets a verdict; identical patches share one."""
        try:
            for positions in self.work:
                verdict = self._verdict_for(self.batch.items[positions[0]][1])
                for index in positions:
                    self.batch.publish(index, verdict)
        finally:
            self.discard_sandbox()

    def _verdict_for(self, candidate: Candidate) -> Verdict:
        started = time.perf_counter()
        unusable = patch_problem(candidate.content)
        if unusable:  # fails every step of the official chain: said without starting a container
            return self.verifier.verdict(VerdictStatus.APPLY_FAILED, {"note": f"the patch did not apply: {unusable}"}, 0.0)
        if self.batch.cancel.is_set():
            return self.verifier.verdict(VerdictStatus.ERROR, {"note": "verification was stopped"}, 0.0)
        instance, setup_error = self.shared.get()
        if instance is None:
            return self.verifier.verdict(VerdictStatus.ERROR, {"note": setup_error}, 0.0)
        try:
            with self.shared.lock:  # one flake check per instance, whichever worker gets here first
                self._ensure_flake_check(instance)
            return self._judge(instance, candidate, started)
        except Exception as exc:  # noqa: BLE001 - Docker or the sandbox broke: an ERROR, and the rest go on
            self.discard_sandbox()
            note = f"{type(exc).__name__}: {exc}"
            return self.verifier.verdict(VerdictStatus.ERROR, {"note": note}, time.perf_counter() - started)

    # -- the sandbox --

    def clean_sandbox(self, image: str) -> Sandbox:
        """The instance's sandbox in its clean state: opened on first use, reset after each run."""
        if self.sandbox is None:
            self.sandbox, self.dirty = self.batch.open_sandbox(image), False
        if self.dirty:
            self.sandbox.reset()
        self.dirty = True
        return self.sandbox

    def discard_sandbox(self) -> None:
        """After an error the container's state is unknown: the next candidate gets a fresh one."""
        if self.sandbox is not None:
            self.batch.close_sandbox(self.sandbox)
            self.sandbox = None

    # -- flake check --

    def _ensure_flake_check(self, instance: Instance) -> None:
        if instance.flake is not None or self.settings.flake_runs == 0:
            return
        store = FlakeStore(self.verifier.logs_dir)
        stored = store.get(instance.id, self.settings.flake_runs, swebench_version())
        instance.flake = stored or self._run_flake_check(instance)
        if stored is None:
            store.put(instance.flake)

    def _run_flake_check(self, instance: Instance) -> FlakeCheck:
        gold = instance.problem.data.get("patch")
        runs = self.settings.flake_runs
        if not isinstance(gold, str) or not gold.strip():
            return FlakeCheck(instance_id=instance.id, runs=runs, swebench_version=swebench_version(),
                              note="the row has no gold patch ('patch'): no flake check")
        status_maps: list[dict[str, str] | None] = []
        resolved: list[bool] = []
        logs: list[str] = []
        for run in range(runs):
            result = self._run_once(instance, gold, instance.logs / f"gold.flake{run + 1}.log")
            status_maps.append(status_map(instance.spec, result.log) if result.status is None and result.log else None)
            resolved.append(result.resolved)
            logs.append(str(result.log) if result.log else "")
        listed = [*instance.spec.FAIL_TO_PASS, *instance.spec.PASS_TO_PASS]
        return summarize_runs(instance.id, listed, status_maps, resolved, swebench_version(), logs)

    # -- one candidate --

    def _judge(self, instance: Instance, candidate: Candidate, started: float) -> Verdict:
        patch = candidate.content
        stem = key_digest(candidate.key)
        (instance.logs / f"{stem}.diff").write_text(patch, encoding="utf-8", errors="surrogateescape")
        first = self._run_once(instance, patch, instance.logs / f"{stem}.log")
        evidence = self._evidence(instance, first, patch)
        status = first.status or (VerdictStatus.PASSED if first.resolved else VerdictStatus.FAILED)
        if first.status is None and self._hinges_on_flaky(instance, evidence):
            votes = [first.resolved] + [
                self._run_once(instance, patch, instance.logs / f"{stem}.run{run}.log").resolved
                for run in range(2, self.settings.majority_runs + 1)
            ]
            evidence["majority"] = {"runs": len(votes), "resolved_runs": sum(votes)}
            status = VerdictStatus.PASSED if majority(votes) else VerdictStatus.FAILED
        evidence["resolved"] = status is VerdictStatus.PASSED
        return self.verifier.verdict(status, evidence, time.perf_counter() - started)

    def _hinges_on_flaky(self, instance: Instance, evidence: dict[str, Any]) -> bool:
        """Only flaky tests could still change the outcome: every other listed test succeeded."""
        flake = instance.flake
        return (self.settings.majority_runs > 1 and flake is not None and flake.flaky
                and bool(evidence.get("lenient_resolved")))

    def _run_once(self, instance: Instance, patch: str, log: Path) -> RunResult:
        started = time.perf_counter()
        sandbox = self.clean_sandbox(instance.spec.image)
        result = _apply_candidate(sandbox, patch)
        if result.status is None:
            result = self._test(instance, sandbox, patch, log, result)
        result.duration_s = time.perf_counter() - started
        return result

    def _test(self, instance: Instance, sandbox: Sandbox, patch: str, log: Path, result: RunResult) -> RunResult:
        test_patch = str(instance.problem.data.get("test_patch") or "")
        if not eval_script_applies_test_patch(instance.spec.eval_script, test_patch):
            note = _apply_test_patch(sandbox, instance.problem, test_patch)
            if note:
                return dataclasses.replace(result, status=VerdictStatus.ERROR, note=note)
        timeout = self.settings.eval_timeout_s
        sandbox.write_file(EVAL_SCRIPT_PATH, instance.spec.eval_script)
        execution = sandbox.exec(f"/bin/bash {EVAL_SCRIPT_PATH} 2>&1", timeout_s=timeout, workdir=WORKDIR)
        _write_log(log, execution, timeout)
        result.log = log
        if execution.timed_out:
            return dataclasses.replace(result, status=VerdictStatus.TIMEOUT, note=f"the eval script ran past {timeout:g}s")
        result.report = grade_log(instance.spec, log, patch)
        if execution.output_truncated:
            result.note = f"the test log was cut at {self.settings.output_bytes} bytes"
        return result

    def _evidence(self, instance: Instance, run: RunResult, patch: str) -> dict[str, Any]:
        evidence: dict[str, Any] = {"instance_id": instance.id, "apply": run.method, "log": str(run.log) if run.log else None}
        if run.note:
            evidence["note"] = run.note
        if run.status is not None:
            return evidence
        from swebench.harness.constants import FAIL_TO_PASS, PASS_TO_PASS  # noqa: PLC0415

        report = run.report
        evidence["tests_ran"] = bool(report.get("patch_successfully_applied"))
        if not evidence["tests_ran"]:
            evidence["note"] = "no gradable test output: swebench found no parseable test results in the log"
            if report.get("infra_failure_reason"):
                evidence["infra_failure_reason"] = report["infra_failure_reason"]
        evidence["f2p_failed"] = short_list(failures(report, FAIL_TO_PASS))
        evidence["p2p_failed"] = short_list(failures(report, PASS_TO_PASS))
        evidence.update(self._lenient(instance, run, patch))
        return evidence

    def _lenient(self, instance: Instance, run: RunResult, patch: str) -> dict[str, Any]:
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


# --- helpers over a sandbox ---------------------------------------------------------------------


def _apply_candidate(sandbox: Sandbox, patch: str) -> RunResult:
    """The official harness's chain (sandboxes.patching), "already applied" included."""
    applied = sandbox.apply_patch(patch)
    if applied.applied:
        return RunResult(method=applied.method)
    return RunResult(status=VerdictStatus.APPLY_FAILED, note=f"the patch did not apply: {applied.log[-APPLY_LOG_CHARS:]}")


def _apply_test_patch(sandbox: Sandbox, problem: Problem, test_patch: str) -> str | None:
    """What swebench eval scripts do first: test files back to the base commit, then the test patch."""
    base = str(problem.data.get("base_commit") or "HEAD")
    for path in patched_paths(test_patch):
        sandbox.exec(["git", "checkout", base, "--", path], workdir=WORKDIR, timeout_s=120)  # new files: nothing to reset
    sandbox.write_file(TEST_PATCH_PATH, test_patch)
    applied = sandbox.exec(["git", "apply", "-v", TEST_PATCH_PATH], workdir=WORKDIR, timeout_s=120)
    return None if applied.ok else f"the test patch did not apply: {(applied.stdout + applied.stderr)[-APPLY_LOG_CHARS:]}"


def _write_log(log: Path, execution: ExecResult, timeout_s: float) -> None:
    """The whole output, as swebench's run_instance writes test_output.txt (its timeout line included)."""
    text = execution.stdout + execution.stderr
    if execution.timed_out:
        text += f"\n\nTimeout error: {int(timeout_s)} seconds exceeded."
    log.write_text(text, encoding="utf-8", errors="replace")


def _close_quietly(sandbox: Sandbox) -> None:
    try:
        sandbox.close()
    except Exception:  # noqa: BLE001, S110 - closing is best effort; DockerSandbox.close removes the container
        pass


def _safe_name(instance_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in instance_id) or "instance"
