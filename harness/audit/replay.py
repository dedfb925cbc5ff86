"""Replay: is a stored verdict what the verifier says today?

`replay(run_dir, problem_id, attempt_index)` verifies the attempt's stored candidate again with
the task's current verifier and compares the new verdict with the stored one (status and
passed), evidence included. Nothing is written to the store: a replay only reports. A
verifier that keeps files (swebench's test logs) is bound to `<run>/replay/`, so the
original logs are never overwritten; by default it reuses the run's flake checks.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.config import ConfigError, VerifyConfig
from harness.executors.local import LocalExecutor
from harness.records import AttemptStatus, Candidate, Problem, Verdict
from harness.registry import configured_task
from harness.runview import open_store, stored_task
from harness.store import RunStore
from harness.verifiers.base import HasLogsDir, KeepsRunFiles, Verifier

REPLAY_DIR = "replay"
EVIDENCE_SHOWN = 1500  # characters of evidence in the text rendering


# ---------------------------------------------------------------- opening a run


def _verify_config(run_dir: Path) -> VerifyConfig:
    """The run's `verify` section (config.yaml), without logs_dir: replay logs must not land on the originals."""
    path = run_dir / "config.yaml"
    raw = yaml.safe_load(path.read_text()) if path.is_file() else None
    section = raw.get("verify") if isinstance(raw, dict) else None
    config = VerifyConfig.model_validate(section or {})
    return config.model_copy(update={"options": {k: v for k, v in config.options.items() if k != "logs_dir"}})


def current_verifier(run_dir: Path, store: RunStore) -> Verifier:
    """The task's verifier as the run configured it (verify.options), today's version."""
    return configured_task(stored_task(store), _verify_config(run_dir)).verifier()


def _original_logs_dir(run_dir: Path) -> Path:
    path = run_dir / "config.yaml"
    raw = yaml.safe_load(path.read_text()) if path.is_file() else None
    options = ((raw or {}).get("verify") or {}).get("options") or {} if isinstance(raw, dict) else {}
    return Path(options["logs_dir"]) if options.get("logs_dir") else run_dir / "swebench_logs"


def bind_for_replay(verifier: Verifier, run_dir: Path, recheck_flakes: bool = False) -> Path | None:
    """Point a file-keeping verifier at <run>/replay; reuse the run's flake checks unless asked not to."""
    if not isinstance(verifier, KeepsRunFiles):
        return None
    replay_dir = run_dir / REPLAY_DIR
    replay_dir.mkdir(parents=True, exist_ok=True)
    verifier.bind_run_dir(replay_dir)
    if not recheck_flakes and isinstance(verifier, HasLogsDir):
        logs_dir = verifier.logs_dir
        from harness.verifiers.flaky import FLAKE_FILE  # noqa: PLC0415

        stored = _original_logs_dir(run_dir) / FLAKE_FILE
        if stored.is_file():  # gold-patch re-runs are costly and judge the instance, not the candidate
            logs_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stored, logs_dir / FLAKE_FILE)
    return replay_dir


# ---------------------------------------------------------------- one replay


def _verdict_json(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {"status": verdict.status.value, "passed": verdict.passed, "verifier": verdict.verifier,
            "version": verdict.verifier_version, "duration_s": round(verdict.duration_s, 3), "evidence": verdict.evidence}


@dataclass
class ReplayResult:
    """A stored verdict next to a fresh one for the same candidate."""

    problem_id: str
    attempt_index: int | None  # the attempt asked about (None: a candidate picked by an audit sample)
    attempts: list[int]  # every attempt of the run with this candidate
    candidate_key: str | None
    stored: Verdict | None
    replayed: Verdict | None
    note: str = ""

    @property
    def status_agrees(self) -> bool | None:
        return None if self.stored is None or self.replayed is None else self.stored.status is self.replayed.status

    @property
    def passed_agrees(self) -> bool | None:
        return None if self.stored is None or self.replayed is None else self.stored.passed == self.replayed.passed

    @property
    def agrees(self) -> bool | None:
        """True/False when both verdicts exist; None when there was nothing to compare."""
        status, passed = self.status_agrees, self.passed_agrees
        return None if status is None else bool(status and passed)

    def to_json(self) -> dict[str, Any]:
        return {"problem_id": self.problem_id, "attempt_index": self.attempt_index, "attempts": self.attempts,
                "candidate_key": self.candidate_key, "agrees": self.agrees, "status_agrees": self.status_agrees,
                "passed_agrees": self.passed_agrees, "note": self.note,
                "stored_status": self.stored.status.value if self.stored else None,
                "replayed_status": self.replayed.status.value if self.replayed else None,
                "stored": _verdict_json(self.stored), "replayed": _verdict_json(self.replayed)}

    def render(self) -> str:
        where = f"attempt {self.attempt_index}" if self.attempt_index is not None else f"attempts {index_ranges(self.attempts)}"
        verdict_word = {True: "AGREES", False: "DISAGREES", None: "nothing to compare"}[self.agrees]
        lines = [f"replay of {self.problem_id}, {where}: {verdict_word}"]
        if self.note:
            lines.append(f"  note: {self.note}")
        for label, verdict in (("stored  ", self.stored), ("replayed", self.replayed)):
            lines += _verdict_lines(label, verdict)
        return "\n".join(lines)


def _verdict_lines(label: str, verdict: Verdict | None) -> list[str]:
    if verdict is None:
        return [f"  {label}: none"]
    evidence = verdict.evidence if len(verdict.evidence) <= EVIDENCE_SHOWN else verdict.evidence[:EVIDENCE_SHOWN] + " ..."
    head = (f"  {label}: {verdict.status.value} (passed={verdict.passed}; {verdict.verifier} {verdict.verifier_version}; "
            f"{verdict.duration_s:.3f}s)")
    return [head] + [f"    | {line}" for line in (evidence or "(no evidence)").splitlines()]


def index_ranges(indices: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    runs: list[list[int]] = []
    for index in sorted(indices):
        if runs and runs[-1][1] == index - 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in runs)


def _problem(store: RunStore, problem_id: str) -> Problem:
    problem = store.problem(problem_id)
    if problem is None:
        raise ConfigError(f"problem {problem_id!r} is not in this run")
    return problem


def _stored_verdict(store: RunStore, problem_id: str, key: str, verifier: Verifier) -> tuple[Verdict | None, str]:
    """The verdict of the current verifier version; else the newest-looking other one, said in a note."""
    verdicts = store.verdicts_of(problem_id, key)
    for verdict in verdicts:
        if (verdict.verifier, verdict.verifier_version) == (verifier.name, verifier.version):
            return verdict, ""
    if not verdicts:
        return None, "the candidate has no stored verdict"
    other = verdicts[-1]
    return other, (f"no stored verdict from {verifier.name} {verifier.version}; "
                   f"compared with the one from {other.verifier} {other.verifier_version}")


def _nothing_to_replay(problem_id: str, index: int, status: AttemptStatus, error: str | None) -> ReplayResult:
    note = (f"the model backend failed on this attempt ({error}): there is no candidate to verify"
            if status is AttemptStatus.ERROR else "no candidate was extracted from the output (no answer)")
    return ReplayResult(problem_id, index, [index], None, None, None, note)


def replay(run_dir: Path, problem_id: str, attempt_index: int, recheck_flakes: bool = False) -> ReplayResult:
    """Verify one attempt's stored candidate again, with today's verifier, and compare."""
    run_dir = Path(run_dir)
    with open_store(run_dir) as store:
        attempt = store.attempt(problem_id, attempt_index)
        if attempt is None:
            raise ConfigError(f"no attempt {attempt_index} of problem {problem_id!r} in {run_dir}")
        key = attempt.candidate_key
        if key is None:
            return _nothing_to_replay(problem_id, attempt_index, attempt.status, attempt.error)
        verifier = current_verifier(run_dir, store)
        results = replay_keys(run_dir, store, verifier, [(problem_id, key)], workers=1, recheck_flakes=recheck_flakes)
    result = results[0]
    result.attempt_index = attempt_index
    return result


def replay_keys(run_dir: Path, store: RunStore, verifier: Verifier, keys: list[tuple[str, str]],
                 workers: int, recheck_flakes: bool = False) -> list[ReplayResult]:
    """Verify these (problem, candidate key) pairs again in one batch; results in input order."""
    bind_for_replay(verifier, run_dir, recheck_flakes)
    problems = {pid: _problem(store, pid) for pid in {pid for pid, _ in keys}}
    candidates = [_candidate(store, pid, key) for pid, key in keys]
    fresh = dict(zip(keys, (v for _, v in LocalExecutor(workers).verify_all(verifier, problems, candidates)), strict=True))
    results = []
    for pid, key in keys:
        stored, note = _stored_verdict(store, pid, key, verifier)
        results.append(ReplayResult(pid, None, store.attempt_indices(pid, key), key, stored, fresh[(pid, key)], note))
    return results


def _candidate(store: RunStore, problem_id: str, key: str) -> Candidate:
    candidate = store.candidate(problem_id, key)
    if candidate is None:
        raise ConfigError(f"candidate {key[:60]!r} of problem {problem_id!r} is missing from the store")
    return candidate
