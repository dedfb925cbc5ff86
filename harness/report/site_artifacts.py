"""What the audit site shows beside run text: artifacts (test logs, trajectories) found per attempt
or per unique candidate, rendered into chunked data files the viewer loads on demand.

Artifacts are pluggable: `ATTEMPT_FINDERS` (per attempt, e.g. an agent's trajectory file) and
`CANDIDATE_FINDERS` (per unique candidate, e.g. the test log named in swebench evidence) say
where files are; `RENDERERS` turn a file into what the viewer shows. `write_jsonp` writes every
data file of the site.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.records import Attempt, Verdict

CHUNK_CHARS = 1_000_000  # artifacts (logs, trajectories) per data file: a few files per problem, each quick to load


@dataclass(frozen=True)
class SiteLimits:
    """Caps on what one page holds; every cut is said in the page."""

    output_chars: int = 100_000  # per distinct model output
    candidate_chars: int = 200_000  # per unique candidate
    evidence_chars: int = 20_000
    question_chars: int = 50_000
    artifact_chars: int = 64_000  # per artifact data file: a log keeps its tail (the link opens all of it)
    field_chars: int = 40_000  # per field of a trajectory record
    snippet_chars: int = 200  # of the question, in the list view (searched)


@dataclass(frozen=True)
class Artifact:
    kind: str  # a key of RENDERERS; unknown kinds are shown as text
    label: str
    path: Path


@dataclass
class SiteContext:
    """What finders and renderers may look at; `cache` is theirs, to keep directory listings and the like."""

    run_dir: Path
    task: str
    limits: SiteLimits = field(default_factory=SiteLimits)
    cache: dict[str, Any] = field(default_factory=dict)


AttemptFinder = Callable[[SiteContext, Attempt], list[Artifact]]
CandidateFinder = Callable[[SiteContext, str, Verdict], list[Artifact]]
Renderer = Callable[[SiteContext, Path], dict[str, Any]]


# ---------------------------------------------------------------- artifacts


def _safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text)


def agent_trajectory(ctx: SiteContext, attempt: Attempt) -> list[Artifact]:
    """The agents' layout: <run>/trajectories/<problem>/<index:05d>.jsonl."""
    listed = ctx.cache.setdefault("trajectories", {})
    names = listed.get(attempt.problem_id)
    if names is None:  # one listing per problem, not one stat per attempt
        folder = ctx.run_dir / "trajectories" / _safe_name(attempt.problem_id)
        names = listed[attempt.problem_id] = set(os.listdir(folder)) if folder.is_dir() else set()
    name = f"{attempt.index:05d}.jsonl"
    if name not in names:
        return []
    return [Artifact("trajectory", "trajectory", ctx.run_dir / "trajectories" / _safe_name(attempt.problem_id) / name)]


def evidence_files(ctx: SiteContext, problem_id: str, verdict: Verdict) -> list[Artifact]:
    """Files named in JSON evidence: `log` (swebench's test log), `trajectory` where a verifier records one."""
    fields = evidence_json(verdict.evidence)
    found: list[Artifact] = []
    for key, kind, label in (("log", "test_log", "test log"), ("trajectory", "trajectory", "trajectory")):
        value = fields.get(key)
        if isinstance(value, str) and value:
            path = Path(value) if Path(value).is_absolute() else ctx.run_dir / value
            found.append(Artifact(kind, label, path))
    return found


ATTEMPT_FINDERS: list[AttemptFinder] = [agent_trajectory]
CANDIDATE_FINDERS: list[CandidateFinder] = [evidence_files]


def _read_tail(path: Path, limit: int) -> tuple[str, int]:
    """The last `limit` characters (roughly: bytes) of a file, and its size."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - limit))
        return fh.read().decode("utf-8", errors="replace"), size


def render_text(ctx: SiteContext, path: Path) -> dict[str, Any]:
    text, size = _read_tail(path, ctx.limits.artifact_chars)
    return {"kind": "text", "text": text, "size": size, "cut": size > ctx.limits.artifact_chars}


def _field_text(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"\n... [cut: {len(text)} characters in all]"


def _messages_text(messages: list[Any]) -> str:
    """Chat messages as 'role: content' blocks, the way people read a transcript."""
    parts = [f"[{m.get('role', '?')}]\n{m.get('content', '')}" if isinstance(m, dict) else str(m) for m in messages]
    return "\n\n".join(parts)


def _trajectory_record(line: str, number: int, limit: int) -> dict[str, Any]:
    """One JSONL line as a titled list of (field, text); any record shape is shown, known ones read better."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return {"title": f"line {number} (not JSON)", "fields": [["text", _field_text(line, limit)]]}
    if not isinstance(record, dict):
        return {"title": f"line {number}", "fields": [["value", _field_text(record, limit)]]}
    titled = [k for k in ("type", "step") if k in record and not isinstance(record[k], (dict, list))]
    title = " ".join(str(record[k]) for k in titled) or f"line {number}"
    fields = []
    for name, value in record.items():
        if name in titled:
            continue
        if name == "messages" and isinstance(value, list):
            value = _messages_text(value)
        fields.append([name, _field_text(value, limit)])
    return {"title": title, "fields": fields}


def render_trajectory(ctx: SiteContext, path: Path) -> dict[str, Any]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    records, budget = [], ctx.limits.artifact_chars * 4  # a trajectory may hold many steps
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = _trajectory_record(line, number, ctx.limits.field_chars)
        budget -= sum(len(text) for _, text in record["fields"])
        if budget < 0:
            records.append({"title": "cut", "fields": [["note", f"{len(lines) - number + 1} more lines not shown"]]})
            break
        records.append(record)
    return {"kind": "records", "records": records, "size": path.stat().st_size}


RENDERERS: dict[str, Renderer] = {"test_log": render_text, "trajectory": render_trajectory}


def evidence_json(evidence: str) -> dict[str, Any]:
    """A verdict's evidence as a JSON object (swebench writes one); {} for plain-text evidence."""
    if not evidence.startswith("{"):
        return {}
    try:
        value = json.loads(evidence)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class ArtifactSink:
    """A problem's artifacts, rendered into chunk files of about CHUNK_CHARS (few files, bounded loads).

    Each file is rendered once however many candidates or attempts name it; an artifact's
    reference is (chunk key, item number).
    """

    pos: int
    ctx: SiteContext
    out: Path
    by_path: dict[Path, tuple[str, int]] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    chars: int = 0
    chunks: int = 0

    def add(self, artifacts: Iterable[Artifact]) -> list[dict[str, Any]]:
        return [self._one(a) for a in artifacts]

    def _one(self, artifact: Artifact) -> dict[str, Any]:
        link = _relative_link(artifact.path, self.ctx.run_dir)
        if not artifact.path.is_file():
            return {"label": artifact.label, "link": link, "missing": True}
        if artifact.path not in self.by_path:
            payload = RENDERERS.get(artifact.kind, render_text)(self.ctx, artifact.path)
            self.by_path[artifact.path] = (self._key(), len(self.items))
            self.items.append(payload | {"label": artifact.label, "link": link})
            self.chars += len(json.dumps(payload, ensure_ascii=False))
            if self.chars >= CHUNK_CHARS:
                self.flush()
        key, item = self.by_path[artifact.path]
        return {"label": artifact.label, "link": link, "key": key, "item": item}

    def _key(self) -> str:
        return f"a/{self.pos:05d}-{self.chunks}"

    def flush(self) -> None:
        """Write the chunk being filled (call once more when the problem is done)."""
        if self.items:
            write_jsonp(self.out / "data" / f"{self._key()}.js", self._key(), {"items": self.items})
            self.items, self.chars, self.chunks = [], 0, self.chunks + 1


def _relative_link(path: Path, run_dir: Path) -> str:
    """A link usable from audit/index.html: relative inside the run directory, else file://."""
    absolute = Path(os.path.abspath(path))  # no resolve(): one syscall per path component, per artifact
    try:
        return "../" + absolute.relative_to(os.path.abspath(run_dir)).as_posix()
    except ValueError:
        return absolute.as_uri()


def write_jsonp(path: Path, key: str, payload: dict[str, Any]) -> None:
    """A data file the viewer loads with <script src>: ASCII-only JSON (U+2028 and friends escaped), and
    no literal '<' at all, so the file stays inert even if something ever inlines it into a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(payload, ensure_ascii=True, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    path.write_text(f"MONKEYS_AUDIT.deliver({json.dumps(key)},{body});\n", encoding="ascii")
