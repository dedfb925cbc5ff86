"""The audit of a run: what could make its numbers wrong or surprising.

`audit(run_dir, replay_sample=N)` sums up replay disagreements on N random unique candidates,
flaky verdicts, model errors, verifier errors and timeouts, dedup ratios, candidates without a
verdict, and attempts whose candidate has no verdict from the current verifier version (a stale
run). The result renders as text for the terminal and as JSON (audit.json, which the HTML site
shows).
"""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.audit.replay import current_verifier, index_ranges, replay_keys
from harness.records import AttemptStatus, VerdictStatus
from harness.runview import attempt_outcomes, open_store, require_meta, stored_task
from harness.store import RunStore
from harness.verifiers.base import Verifier

AUDIT_FILE = "audit.json"
EXAMPLES = 5  # examples kept per finding


@dataclass
class Finding:
    """A count and a few examples of one kind of trouble."""

    count: int = 0
    attempts: int = 0  # attempts affected (a candidate-level finding may touch many)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, example: dict[str, Any], attempts: int = 1) -> None:
        self.count += 1
        self.attempts += attempts
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)


@dataclass
class AuditSummary:
    run_dir: str
    task: str
    verifier: str
    written: str
    problems: int
    attempts: int
    statuses: dict[str, int]
    model_errors: Finding
    verifier_errors: Finding  # unique candidates whose current verdict is ERROR
    timeouts: Finding
    no_answer: Finding
    flaky: dict[str, Any]
    dedup: dict[str, Any]
    unverified_candidates: Finding  # candidates with no verdict from the current verifier version
    attempts_without_verdict: Finding  # attempts whose candidate has none (they count as errors in reports)
    stored_versions: dict[str, int]  # "verifier version" -> verdicts stored
    replay: dict[str, Any] | None = None

    @property
    def disagreements(self) -> int:
        return len(self.replay["disagreements"]) if self.replay else 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        return render_audit(self)


def _error_findings(store: RunStore, targets: dict[str, int]) -> tuple[Finding, Finding]:
    """Model errors (the backend never answered) and attempts with no extractable answer."""
    model_errors, no_answer = Finding(), Finding()
    for pid, idx, status, error, text in store.attempts_without_candidate(text_chars=200):
        if pid not in targets or idx >= targets[pid]:
            continue
        if status is AttemptStatus.ERROR:
            model_errors.add({"problem_id": pid, "attempt": idx, "error": error})
        else:
            no_answer.add({"problem_id": pid, "attempt": idx, "output_start": text})
    return model_errors, no_answer


def _verdict_findings(store: RunStore, verifier: Verifier, used: Counter[tuple[str, str]]) -> dict[str, Any]:
    """Per unique candidate used by the run: verifier errors, timeouts, flaky grading, missing verdicts."""
    from harness.verifiers.flaky import evidence_fields  # noqa: PLC0415

    verdicts = store.verdicts_by_candidate(verifier.name, verifier.version)
    errors, timeouts, missing = Finding(), Finding(), Finding()
    majority, lenient_differs, flaky_problems = Finding(), Finding(), set()
    for (pid, key), count in sorted(used.items()):
        verdict = verdicts.get((pid, key))
        example = {"problem_id": pid, "candidate": _snippet(key), "attempts": count}
        if verdict is None:
            missing.add(example, count)
            continue
        evidence = {"evidence": verdict.evidence[:500]}
        if verdict.status is VerdictStatus.ERROR:
            errors.add(example | evidence, count)
        elif verdict.status is VerdictStatus.TIMEOUT:
            timeouts.add(example | evidence, count)
        fields = evidence_fields(verdict)
        if fields.get("flaky_instance"):
            flaky_problems.add(pid)
        if isinstance(fields.get("majority"), dict):
            majority.add(example | {"majority": fields["majority"]}, count)
        if "lenient_resolved" in fields and bool(fields["lenient_resolved"]) != verdict.passed:
            lenient_differs.add(example | {"status": verdict.status.value}, count)
    flaky = {"flaky_problems": sorted(flaky_problems), "decided_by_majority": asdict(majority),
             "lenient_differs_from_strict": asdict(lenient_differs)}
    return {"errors": errors, "timeouts": timeouts, "missing": missing, "flaky": flaky}


def _snippet(text: str) -> str:
    """Head and tail of a candidate: code candidates often share the prompt as their head."""
    return text if len(text) <= 120 else f"{text[:50]} ... {text[-60:]}"


def _dedup(used: Counter[tuple[str, str]], targets: dict[str, int]) -> dict[str, Any]:
    """Attempts per unique candidate, over the run and per problem (min / median / max)."""
    per_problem: dict[str, list[int]] = {}
    for (pid, _), count in used.items():
        per_problem.setdefault(pid, []).append(count)
    ratios = {pid: sum(counts) / len(counts) for pid, counts in per_problem.items()}
    total = sum(used.values())
    out: dict[str, Any] = {"attempts_with_candidate": total, "unique_candidates": len(used),
                           "ratio": total / len(used) if used else None,
                           "problems_without_candidates": sorted(set(targets) - set(per_problem))[:EXAMPLES]}
    if ratios:
        lowest, highest = min(ratios, key=ratios.__getitem__), max(ratios, key=ratios.__getitem__)
        out["per_problem"] = {"min": ratios[lowest], "min_problem": lowest, "median": statistics.median(ratios.values()),
                              "max": ratios[highest], "max_problem": highest}
    return out


def _used_candidates(store: RunStore, targets: dict[str, int]) -> Counter[tuple[str, str]]:
    used: Counter[tuple[str, str]] = Counter()
    for pid, idx, key in store.candidate_uses():
        if pid in targets and idx < targets[pid]:
            used[(pid, key)] += 1
    return used


def _statuses(store: RunStore, verifier: Verifier, targets: dict[str, int]) -> dict[str, int]:
    counts = Counter(row.outcome.status.value for rows in attempt_outcomes(store, verifier, targets).values() for row in rows)
    return {status.value: counts.get(status.value, 0) for status in VerdictStatus}


def _unverified(store: RunStore, verifier: Verifier) -> Finding:
    finding = Finding()
    for candidate in store.unverified_candidates(verifier.name, verifier.version):
        finding.add({"problem_id": candidate.problem_id, "candidate": _snippet(candidate.key)}, 0)
    return finding


def _stored_versions(store: RunStore) -> dict[str, int]:
    return {f"{name} {version}": count for (name, version), count in store.verdict_counts().items()}


def _replay_sample(run_dir: Path, store: RunStore, verifier: Verifier, used: Counter[tuple[str, str]],
                   sample: int, seed: int, workers: int) -> dict[str, Any]:
    """Replay `sample` random unique candidates that have a stored verdict; keep the disagreements.

    A candidate judged only by an older verifier version is compared with that verdict (and says so):
    it shows what re-verifying a stale run would change.
    """
    judged = store.judged_candidates()
    pool = sorted(key for key in used if key in judged)
    picked = random.Random(seed).sample(pool, min(sample, len(pool)))
    results = replay_keys(run_dir, store, verifier, picked, workers) if picked else []
    disagreements = [r.to_json() for r in results if r.agrees is False]
    return {"asked": sample, "replayed": len(results), "seed": seed, "agreed": sum(r.agrees is True for r in results),
            "against_older_versions": sum(bool(r.note) for r in results),
            "disagreements": disagreements, "attempts_affected": sum(len(d["attempts"]) for d in disagreements)}


def audit(run_dir: Path, replay_sample: int = 0, seed: int = 0, workers: int = 2) -> AuditSummary:
    """Everything that could make this run's numbers wrong or surprising; replays `replay_sample` candidates."""
    run_dir = Path(run_dir)
    with open_store(run_dir) as store:
        verifier = current_verifier(run_dir, store)
        targets = require_meta(store).targets
        used = _used_candidates(store, targets)
        model_errors, no_answer = _error_findings(store, targets)
        found = _verdict_findings(store, verifier, used)
        statuses = _statuses(store, verifier, targets)
        summary = AuditSummary(
            run_dir=str(run_dir), task=stored_task(store), verifier=f"{verifier.name} {verifier.version}",
            written=datetime.now(UTC).isoformat(timespec="seconds"), problems=len(targets),
            attempts=sum(statuses.values()), statuses=statuses,
            model_errors=model_errors, verifier_errors=found["errors"], timeouts=found["timeouts"],
            no_answer=no_answer, flaky=found["flaky"], dedup=_dedup(used, targets),
            unverified_candidates=_unverified(store, verifier), attempts_without_verdict=found["missing"],
            stored_versions=_stored_versions(store))
        if replay_sample > 0:
            summary.replay = _replay_sample(run_dir, store, verifier, used, replay_sample, seed, workers)
    return summary


def write_audit(summary: AuditSummary, run_dir: Path) -> Path:
    """audit.json in the run directory (the HTML site shows its replay findings)."""
    path = Path(run_dir) / AUDIT_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


# ---------------------------------------------------------------- text


def _finding_lines(title: str, finding: Finding, unit: str = "") -> list[str]:
    if not finding.count:
        return [f"{title}: none"]
    affected = f" ({finding.attempts} attempts)" if unit and finding.attempts else ""
    lines = [f"{title}: {finding.count}{unit}{affected}"]
    for example in finding.examples:
        shown = json.dumps(example, ensure_ascii=False)
        lines.append(f"    e.g. {shown if len(shown) < 300 else shown[:300] + ' ...'}")
    return lines


def _replay_lines(replay: dict[str, Any] | None) -> list[str]:
    if replay is None:
        return ["replay: not asked for (--replay N verifies N random unique candidates again)"]
    older = replay.get("against_older_versions", 0)
    lines = [(f"replay: {replay['replayed']} unique candidates verified again (seed {replay['seed']}): "
              f"{replay['agreed']} agree, {len(replay['disagreements'])} DISAGREE"
              + (f"; {older} compared with a verdict of an older verifier version" if older else ""))]
    for item in replay["disagreements"][:20]:
        lines.append(f"    {item['problem_id']} attempts {index_ranges(item['attempts'])}: stored {item['stored_status']}, "
                     f"replayed {item['replayed_status']}" + (f" ({item['note']})" if item["note"] else ""))
    return lines


def _dedup_lines(dedup: dict[str, Any]) -> list[str]:
    ratio = dedup["ratio"]
    line = (f"dedup: {dedup['attempts_with_candidate']} attempts with a candidate, {dedup['unique_candidates']} unique"
            + (f" ({ratio:.2f} attempts per unique candidate)" if ratio else ""))
    per = dedup.get("per_problem")
    if not per:
        return [line]
    spread = (f"    per problem: min {per['min']:.2f} ({per['min_problem']}), median {per['median']:.2f}, "
              f"max {per['max']:.2f} ({per['max_problem']})")
    return [line, spread]


def render_audit(summary: AuditSummary) -> str:
    flaky = summary.flaky
    lines = [f"audit of {summary.run_dir} ({summary.task}; verifier {summary.verifier})",
             f"{summary.problems} problems, {summary.attempts} attempts: "
             + ", ".join(f"{count} {status}" for status, count in summary.statuses.items() if count)]
    lines += _replay_lines(summary.replay)
    lines += _finding_lines("model errors", summary.model_errors)
    lines += _finding_lines("verifier errors", summary.verifier_errors, " unique candidates")
    lines += _finding_lines("verifier timeouts", summary.timeouts, " unique candidates")
    lines += _finding_lines("no answer extracted", summary.no_answer)
    lines.append(f"flaky: {len(flaky['flaky_problems'])} problems with flaky tests"
                 + (f" ({', '.join(flaky['flaky_problems'][:10])})" if flaky["flaky_problems"] else "")
                 + f"; {flaky['decided_by_majority']['count']} verdicts decided by a majority of re-runs; "
                 f"{flaky['lenient_differs_from_strict']['count']} where setting flaky tests aside changes the grade")
    lines += _dedup_lines(summary.dedup)
    lines += _finding_lines("candidates with no verdict from the current verifier version", summary.unverified_candidates)
    lines += _finding_lines("candidates used by attempts but not verified (counted as errors)", summary.attempts_without_verdict,
                            " unique candidates")
    if summary.attempts_without_verdict.count:
        lines.append("    (running the run's `monkeys run` command again verifies them with the current verifier)")
    lines.append("stored verdicts by verifier version: "
                 + (", ".join(f"{name}: {count}" for name, count in summary.stored_versions.items()) or "none"))
    return "\n".join(lines)
