"""A run's static HTML audit site: `<run>/audit/index.html`, opened straight from disk.

Layout (every path relative, nothing fetched from the network):

    audit/index.html             the shell: loads assets/ and data/summary.js
    audit/assets/audit.js|css    the viewer (copied from harness/report/static/)
    audit/data/summary.js        the run and one light summary per problem (the list view)
    audit/data/p/00012.js        one problem: its attempts, distinct outputs, unique candidates
    audit/data/a/00012-0.js      artifacts (test log tails, trajectories) of problem 12, about 1 MB
                                 per file, loaded on the first click of one of them

Data files are JSONP-style scripts (`MONKEYS_AUDIT.deliver(key, {...})`) because Chromium
blocks fetch() and XHR on file:// pages while <script src> still works. The viewer builds
every node with textContent, so model output (hostile by assumption) is never parsed as HTML.
Identical candidates appear once, with the indices of the attempts that produced them, and
identical model outputs are stored once per problem.

The site is rendered from outcome records (`harness.outcomes`: the run, and per problem its
attempts with their verdicts and candidates), which harness.runview reads from the store;
nothing here reads the store. `harness.audit.site.write_audit_site(run_dir)` does both.

Artifacts (test logs, trajectories) are found and rendered by `harness.report.site_artifacts`.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.outcomes import AuditedProblem, OutcomeRow, RunInfo
from harness.records import Attempt, VerdictStatus
from harness.report.site_artifacts import (
    ATTEMPT_FINDERS,
    CANDIDATE_FINDERS,
    ArtifactSink,
    SiteContext,
    SiteLimits,
    evidence_json,
    write_jsonp,
)

AUDIT_DIR = "audit"
STATIC_DIR = Path(__file__).parent / "static"
ASSETS = ("audit.js", "audit.css")
SHORT_KEY_CHARS = 200  # a candidate's canonical key is shown when it differs from the content and is this short
UNVERIFIED = "unverified"  # an attempt whose candidate has no verdict from the current verifier version
# Tags the list view filters on; computed here so the viewer never re-derives a status.
ERROR_STATUSES = {VerdictStatus.ERROR.value, VerdictStatus.TIMEOUT.value, UNVERIFIED}


def _cut(text: str | None, limit: int) -> tuple[str | None, bool]:
    if text is None or len(text) <= limit:
        return text, False
    return text[:limit], True


@dataclass(frozen=True)
class Site:
    """What every page of the site is rendered with: the run and where its files are."""

    run: RunInfo
    ctx: SiteContext


# ---------------------------------------------------------------- one problem


def _status_of(row: OutcomeRow) -> str:
    if row.candidate_key is not None and row.verdict is None and row.outcome.status is VerdictStatus.ERROR:
        return UNVERIFIED
    return row.outcome.status.value


def _verdict_extras(site: Site, row: OutcomeRow) -> dict[str, Any]:
    """What a verdict adds beyond its status: flaky grading (swebench), a majority re-run."""
    verdict = row.verdict
    if verdict is None:
        return {}
    extras: dict[str, Any] = {"duration_s": round(verdict.duration_s, 3)}
    if site.run.flaky_graded:
        extras |= {"lenient": row.outcome.lenient_passed, "flaky": row.flaky_instance}
    majority = evidence_json(verdict.evidence).get("majority")
    if isinstance(majority, dict):
        extras["majority"] = f"{majority.get('resolved_runs')}/{majority.get('runs')} runs resolved"
    return extras


def _evidence_text(evidence: str, limit: int) -> tuple[str, bool]:
    fields = evidence_json(evidence)
    text = json.dumps(fields, indent=1, ensure_ascii=False) if fields else evidence
    cut_text, cut = _cut(text, limit)
    return cut_text or "", cut


def _candidates(site: Site, audited: AuditedProblem, used: dict[str, list[int]], sink: ArtifactSink,
                rows: dict[str, OutcomeRow]) -> list[dict[str, Any]]:
    """Each unique candidate once (in `used` order), with the attempts that produced it."""
    limits, problem_id, contents = site.ctx.limits, audited.problem.id, audited.contents
    out = []
    for key, indices in used.items():
        verdict = rows[key].verdict
        content, cut = _cut(contents.get(key, ""), limits.candidate_chars)
        evidence, evidence_cut = _evidence_text(verdict.evidence if verdict else "", limits.evidence_chars)
        artifacts = [a for finder in CANDIDATE_FINDERS for a in (finder(site.ctx, problem_id, verdict) if verdict else [])]
        out.append({
            "status": verdict.status.value if verdict else UNVERIFIED, "attempts": indices,
            "content": content, "content_cut": cut, "evidence": evidence, "evidence_cut": evidence_cut,
            "key": _shown_key(key, contents.get(key, "")),
            "artifacts": sink.add(artifacts),
            **_verdict_extras(site, rows[key]),
        })
    return out


def _shown_key(key: str, content: str) -> str | None:
    """The canonical key of a short answer when it differs ("7" for "7.00"); code keys only add noise."""
    return key if key != content and len(key) <= SHORT_KEY_CHARS and len(content) <= SHORT_KEY_CHARS else None


def _attempt_entry(attempt: Attempt, row: OutcomeRow, text_no: int, cand_no: int | None,
                   artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"i": attempt.index, "s": _status_of(row), "t": text_no, "seed": attempt.seed,
                             "finish": attempt.finish_reason, "pt": attempt.prompt_tokens,
                             "ct": attempt.completion_tokens, "lat": round(attempt.latency_s, 3)}
    if cand_no is not None:
        entry["c"] = cand_no
    if attempt.error:
        entry["err"] = attempt.error
    if row.outcome.lenient_passed is not None and row.outcome.lenient_passed != row.outcome.passed:
        entry["lenient"] = row.outcome.lenient_passed
    if artifacts:
        entry["artifacts"] = artifacts
    return entry


def _dedup(attempts: list[tuple[Attempt, OutcomeRow]]) -> tuple[dict[str, int], dict[str, list[int]], dict[str, OutcomeRow]]:
    """Distinct outputs (text -> number), candidates (key -> attempt indices, most produced first), and
    per candidate a row of one of its attempts (they all share its verdict)."""
    texts: dict[str, int] = {}
    used: dict[str, list[int]] = {}
    rows: dict[str, OutcomeRow] = {}
    for attempt, row in attempts:
        texts.setdefault(attempt.text, len(texts))
        if attempt.candidate_key is not None:
            used.setdefault(attempt.candidate_key, []).append(attempt.index)
            rows[attempt.candidate_key] = row
    used = dict(sorted(used.items(), key=lambda kv: (-len(kv[1]), kv[1][0])))
    return texts, used, rows


def problem_payload(site: Site, audited: AuditedProblem, out: Path) -> dict[str, Any]:
    """A problem's data file: attempts (within the run's targets), distinct outputs, unique candidates."""
    limits, pos, problem = site.ctx.limits, audited.position, audited.problem
    sink = ArtifactSink(pos, site.ctx, out)
    texts, used, rows = _dedup(audited.attempts)
    candidates = _candidates(site, audited, used, sink, rows)
    cand_no = {key: n for n, key in enumerate(used)}
    entries = [_attempt_entry(a, row, texts[a.text],
                              cand_no.get(a.candidate_key) if a.candidate_key else None,
                              sink.add(a2 for finder in ATTEMPT_FINDERS for a2 in finder(site.ctx, a)))
               for a, row in audited.attempts]
    sink.flush()
    question, question_cut = _cut(problem.question, limits.question_chars)
    cut_texts = [_cut(text, limits.output_chars) for text in texts]
    return {"id": problem.id, "pos": pos, "question": question, "question_cut": question_cut, "answer": problem.answer,
            "texts": [t for t, _ in cut_texts], "texts_cut": [n for n, (_, c) in enumerate(cut_texts) if c],
            "limits": {"output_chars": limits.output_chars, "candidate_chars": limits.candidate_chars},
            "attempts": entries, "candidates": candidates}


def problem_summary(payload: dict[str, Any], snippet_chars: int) -> dict[str, Any]:
    """The list view's row: counts, tags for the filters, the start of the question for search."""
    counts: dict[str, int] = {}
    for entry in payload["attempts"]:
        counts[entry["s"]] = counts.get(entry["s"], 0) + 1
    n, passed = len(payload["attempts"]), counts.get(VerdictStatus.PASSED.value, 0)
    # Flaky: the verifier says the instance has flaky tests, or a verdict needed a majority of re-runs.
    flaky = any("majority" in c or c.get("flaky") for c in payload["candidates"])
    tags = ["solved" if passed else "unsolved"] if n else ["empty"]
    tags += ["flaky"] if flaky else []
    tags += ["errors"] if any(counts.get(s) for s in ERROR_STATUSES) else []
    tags += ["model_errors"] if counts.get(VerdictStatus.MODEL_ERROR.value) else []
    tags += ["no_answer"] if counts.get(VerdictStatus.NO_ANSWER.value) else []
    return {"pos": payload["pos"], "id": payload["id"], "n": n, "passed": passed,
            "unique": len(payload["candidates"]), "counts": counts, "tags": tags,
            "q": payload["question"][:snippet_chars]}


# ---------------------------------------------------------------- writing


def _run_files(run_dir: Path) -> list[dict[str, str]]:
    names = ("report.md", "report.json", "verdicts.jsonl", "coverage.png", "coverage_fits.png", "selection.png",
             "cost_coverage.png", "flaky.png", "audit.json")
    return [{"name": name, "link": f"../{name}"} for name in names if (run_dir / name).is_file()]


def _audit_findings(run_dir: Path) -> dict[str, Any] | None:
    """The headline of audit.json (written by `monkeys audit`), when there is one."""
    path = run_dir / "audit.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    replay = data.get("replay") or {}
    return {"written": data.get("written", ""), "replayed": replay.get("replayed", 0),
            "disagreements": [{"problem_id": d.get("problem_id"), "attempts": d.get("attempts", []),
                               "stored": d.get("stored_status"), "replayed": d.get("replayed_status")}
                              for d in replay.get("disagreements", [])][:200]}


def _index_html(title: str) -> str:
    from html import escape  # noqa: PLC0415

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="assets/audit.css">
</head><body data-ready="0">
<noscript>This audit site needs JavaScript (it runs from disk; nothing is fetched from the network).</noscript>
<div id="app">Loading&hellip;</div>
<script src="assets/audit.js"></script>
<script src="data/summary.js" onerror="document.getElementById('app').textContent='Could not load data/summary.js: is the audit directory complete?'"></script>
</body></html>
"""


def _write_problem(site: Site, audited: AuditedProblem, out: Path) -> dict[str, Any]:
    payload = problem_payload(site, audited, out)
    key = f"p/{payload['pos']:05d}"
    write_jsonp(out / "data" / f"{key}.js", key, payload)
    return problem_summary(payload, site.ctx.limits.snippet_chars)


def build_site(run_dir: Path, run: RunInfo, problems: Iterable[AuditedProblem], out: Path, limits: SiteLimits) -> None:
    """Write the whole site into `out` (an empty directory)."""
    site = Site(run, SiteContext(run_dir, run.task, limits))
    summaries = sorted((_write_problem(site, audited, out) for audited in problems), key=lambda s: s["pos"])
    summary = {"run": run.model_dump(exclude={"flaky_graded"}), "files": _run_files(run_dir),
               "audit": _audit_findings(run_dir), "problems": summaries,
               "statuses": [s.value for s in VerdictStatus] + [UNVERIFIED]}
    write_jsonp(out / "data" / "summary.js", "summary", summary)
    (out / "assets").mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        shutil.copyfile(STATIC_DIR / name, out / "assets" / name)
    title = f"audit: {run.name}" + (" (SIMULATED model)" if run.simulated else "")
    (out / "index.html").write_text(_index_html(title), encoding="utf-8")


def render_site(run_dir: Path, run: RunInfo, problems: Iterable[AuditedProblem], limits: SiteLimits | None = None) -> Path:
    """Build `<run>/audit/` from the run's outcome records (replacing an older site whole); returns index.html."""
    run_dir = Path(run_dir)
    final = run_dir / AUDIT_DIR
    building = run_dir / f".{AUDIT_DIR}.{uuid.uuid4().hex}.tmp"
    try:
        building.mkdir()
        build_site(run_dir, run, problems, building, limits or SiteLimits())
        _swap_in(building, final)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return final / "index.html"


def _swap_in(new: Path, final: Path) -> None:
    """Replace the old site by the new one with renames, so a reader never sees a half-written site."""
    old = final.with_name(f".{final.name}.{uuid.uuid4().hex}.old")
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)
