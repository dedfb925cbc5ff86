"""SWEBenchVerifier: each candidate patch applied and tested in its instance's image, graded by swebench.

Per instance one warm container (a DockerSandbox) serves every candidate of that instance:
reset to the clean tree, apply the candidate (the official chain: git apply -> --3way -> --reject
-> patch --fuzz=5, sandboxes.patching), run the row's eval script with a timeout, save the whole
test log, and grade it with swebench's own functions: `make_test_spec` for the spec, `get_eval_report` (which runs the parser from
PARSER_REGISTRY over the log, builds the FAIL_TO_PASS / PASS_TO_PASS report and calls
`get_resolution_status`). Nothing of the grading is reimplemented here.

The eval script of a swebench >= 5 row resets the test files the test patch touches to the
base commit and applies the test patch itself, so a candidate that edits those tests is
graded against the official tests, as in the official harness. Only for a row whose script
does not do that do we reset those files and apply the test patch ourselves, the same way.

Verdicts: PASSED (resolved), FAILED (not resolved; evidence names the failing tests),
APPLY_FAILED, TIMEOUT, ERROR (our machinery broke: no image, Docker died). The evidence is
a JSON object (see `harness.verifiers.flaky.evidence_fields`).

The parts: `swebench_settings` (settings, the sandbox per image), `swebench_grading` (swebench's
grading calls), `swebench_run` (one run of a candidate and its evidence), `swebench_runner` (one
verify_many call: containers, workers, flake checks), `flaky` (flake checks and majority votes).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.records import Candidate, Problem, Verdict, VerdictStatus
from harness.verifiers.base import RayPlacement
from harness.verifiers.flaky import (
    FlakeCheck,
    FlakeStore,
    evidence_fields,
    lenient_passed,
    load_flake_checks,
    on_flaky_instance,
)
from harness.verifiers.swebench_containers import WarmContainers
from harness.verifiers.swebench_grading import (
    eval_script_applies_test_patch,
    swebench_version,
)
from harness.verifiers.swebench_runner import Batch, SharedInstance, safe_name
from harness.verifiers.swebench_settings import (
    SandboxFactory,
    SWEBenchSettings,
    docker_sandbox_factory,
)

__all__ = ["SWEBenchSettings", "SWEBenchVerifier", "docker_sandbox_factory", "eval_script_applies_test_patch",
           "swebench_version"]

# Bump when judging here changes: it invalidates cached verdicts. 2: a zero-byte patch is tested, as officially.
RULES_VERSION = "2"


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
        self.shared_containers: WarmContainers | None = None  # see warm_between_calls
        self.shared_instances: dict[str, SharedInstance] | None = None  # likewise

    def __getstate__(self) -> dict[str, Any]:  # verifiers must pickle; a custom factory does not travel
        return {"settings": self.settings, "logs_dir": self._logs_dir, "run_id": self.run_id}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]
        self._logs_dir, self.run_id = state["logs_dir"], state["run_id"]

    def bind_run_dir(self, run_dir: Path) -> None:
        """Hook for the pipeline: logs go under the run directory unless settings.logs_dir says otherwise."""
        if self.settings.logs_dir is None:
            self._logs_dir = Path(run_dir) / "swebench_logs"
        self.run_id = safe_name(Path(run_dir).resolve().name)

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
            folder = self.logs_dir / safe_name(instance_id)
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

    @contextmanager
    def warm_between_calls(self) -> Iterator[None]:
        """Within: every verify_many call shares `containers` warm containers, so the many small calls of a
        streamed run (a few candidates each) start no container per call (closed at the end), and each
        instance's prepared state (spec, image check, flake check), made once as in one sequential call."""
        factory = self.sandbox_factory or docker_sandbox_factory(self.settings, self.run_id)
        shared = self.shared_containers = WarmContainers(self.settings.containers, factory)
        self.shared_instances = {}
        try:
            yield
        finally:
            self.shared_containers, self.shared_instances = None, None
            shared.close()

    def verify_many(self, items: Sequence[tuple[Problem, Candidate]]) -> Iterator[Verdict]:
        """Verdicts in input order; each instance's candidates share one container."""
        batch = Batch(self, list(items))
        try:
            yield from batch.run()
        finally:
            batch.stop()

    def verdict(self, status: VerdictStatus, evidence: dict[str, Any], duration_s: float) -> Verdict:
        evidence.setdefault("resolved", status is VerdictStatus.PASSED)
        return Verdict(status=status, verifier=self.name, verifier_version=self.version,
                       evidence=json.dumps(evidence, ensure_ascii=False), duration_s=duration_s)
