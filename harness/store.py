"""The run store: one SQLite file (WAL) per run directory, the single source of truth.

A unit of work is (problem, attempt index). The attempts of one request are written in
one transaction together with their candidates, so after a crash a unit is either fully
stored or absent, and resuming redoes exactly the absent ones. Verdicts are stored per
unique candidate and verifier version; every attempt reads its verdict through its key.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

from harness.pricing import CostInputs
from harness.records import Attempt, AttemptStatus, Candidate, Problem, Verdict, VerdictStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS problems (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    problem_id TEXT NOT NULL, idx INTEGER NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL,
    text TEXT NOT NULL, finish_reason TEXT, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, error TEXT, candidate_key TEXT, latency_s REAL NOT NULL,
    score REAL,
    PRIMARY KEY (problem_id, idx));
CREATE TABLE IF NOT EXISTS candidates (
    problem_id TEXT NOT NULL, key TEXT NOT NULL, content TEXT NOT NULL,
    PRIMARY KEY (problem_id, key));
CREATE TABLE IF NOT EXISTS verdicts (
    problem_id TEXT NOT NULL, candidate_key TEXT NOT NULL, verifier TEXT NOT NULL,
    version TEXT NOT NULL, status TEXT NOT NULL, evidence TEXT NOT NULL, duration_s REAL NOT NULL,
    PRIMARY KEY (problem_id, candidate_key, verifier, version));
"""

# Named, not `*`: the row layout must not depend on whether the table was made fresh or migrated.
_ATTEMPT_COLUMNS = ("problem_id, idx, seed, status, text, finish_reason, prompt_tokens, completion_tokens, "
                    "error, candidate_key, latency_s, score")

STORE_FILE = "run.sqlite"
RUN_META_KEY = "run"  # the meta row holding RunMeta as JSON
# Older stores kept run meta as one untyped string per key; opening one moves them into RunMeta.
_OLD_META_KEYS = ("identity", "name", "task", "model", "backend", "simulated", "tokens_estimated", "targets",
                  "sampling_wall_s", "cost")


class AttemptHead(NamedTuple):
    """An attempt without a candidate (a model error or no answer), with the start of its output."""

    problem_id: str
    index: int
    status: AttemptStatus
    error: str | None
    text_start: str


class RunMeta(BaseModel):
    """What the store says about its run: written by `monkeys run`, read by reports, audit and replay."""

    identity: str  # RunConfig.identity(): what may not change when the run is resumed
    name: str
    task: str
    model: str
    backend: str
    simulated: bool = False
    tokens_estimated: bool = False  # imported samples without token counts: completions estimated
    targets: dict[str, int]  # problem id -> attempts the latest invocation wants
    # Seconds spent sampling summed over invocations, Ctrl-C'd ones included; None: never measured (replayed samples).
    sampling_wall_s: float | None = None
    cost: CostInputs | None = None  # the config's cost section with its files read: a report prices from the store alone
    # What the model server turned out to do and how it was handled (note key -> sentence), over every invocation.
    backend_notes: dict[str, str] = Field(default_factory=dict)
    # Problems whose sampling stopped once they had sampling.stop_after_solutions verified solutions
    # (problem id -> attempts stored when it stopped): pass@k beyond that count is not measured for them.
    stopped_early: dict[str, int] = Field(default_factory=dict)


class RunStore:
    def __init__(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / STORE_FILE
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
        self.db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Bring stores made by older versions up to SCHEMA (columns added since, all nullable; typed meta)."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(attempts)")}
        if "score" not in columns:
            self.db.execute("ALTER TABLE attempts ADD COLUMN score REAL")
        if self.db.execute("SELECT 1 FROM meta WHERE key = 'targets'").fetchone() is None:
            return  # typed meta already, or no run recorded: nothing to lock for
        with self._tx():  # a run recorded by a version before RunMeta (read again: another process may have moved it)
            old = dict(self.db.execute("SELECT key, value FROM meta"))
            if RUN_META_KEY not in old and "targets" in old:
                self._write_meta(_meta_from_old_keys(old))
                self.db.executemany("DELETE FROM meta WHERE key = ?", [(key,) for key in _OLD_META_KEYS])

    def close(self) -> None:
        self.db.close()

    # -- meta -------------------------------------------------------------------------

    def meta(self) -> RunMeta | None:
        """The run's meta; None in a store no run has been recorded in yet."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (RUN_META_KEY,)).fetchone()
        return None if row is None else RunMeta.model_validate_json(row[0])

    def write_meta(self, meta: RunMeta) -> None:
        with self._tx():
            self._write_meta(meta)

    def set_cost(self, cost: CostInputs) -> None:
        """Price the run this way from now on (`monkeys report --cost`)."""
        with self._tx():
            self._write_meta(self._meta_for_update().model_copy(update={"cost": cost}))

    def add_sampling_time(self, seconds: float) -> float:
        """Add to the measured sampling time (from 0 when never measured), read and written in one transaction."""
        with self._tx():
            meta = self._meta_for_update()
            total = (meta.sampling_wall_s or 0.0) + seconds
            self._write_meta(meta.model_copy(update={"sampling_wall_s": total}))
        return total

    def add_backend_notes(self, notes: dict[str, str]) -> None:
        """Keep what the backend learned about its server (one request per sample, say), merged with earlier invocations'."""
        with self._tx():
            meta = self._meta_for_update()
            self._write_meta(meta.model_copy(update={"backend_notes": meta.backend_notes | notes}))

    def add_stopped_early(self, stopped: dict[str, int]) -> None:
        """Record problems whose sampling stopped early (merged with earlier invocations')."""
        with self._tx():
            meta = self._meta_for_update()
            self._write_meta(meta.model_copy(update={"stopped_early": meta.stopped_early | stopped}))

    def _meta_for_update(self) -> RunMeta:
        meta = self.meta()
        if meta is None:
            raise ValueError(f"{self.path}: no run recorded in this store yet")
        return meta

    def _write_meta(self, meta: RunMeta) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (RUN_META_KEY, meta.model_dump_json()))

    # -- problems ---------------------------------------------------------------------

    def put_problems(self, problems: list[Problem]) -> None:
        """Store the problems not stored yet, placed after those that are (a later invocation may add some)."""
        with self._tx():
            stored = {pid for (pid,) in self.db.execute("SELECT id FROM problems")}
            start = self.db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM problems").fetchone()[0]
            new: dict[str, Problem] = {}
            for problem in problems:
                if problem.id not in stored:
                    new.setdefault(problem.id, problem)  # the first of an id wins, as before
            rows = [(pid, start + i, p.model_dump_json()) for i, (pid, p) in enumerate(new.items())]
            self.db.executemany("INSERT INTO problems VALUES (?, ?, ?)", rows)

    def problems(self) -> list[Problem]:
        rows = self.db.execute("SELECT body FROM problems ORDER BY position")
        return [Problem.model_validate_json(body) for (body,) in rows]

    def problem(self, problem_id: str) -> Problem | None:
        row = self.db.execute("SELECT body FROM problems WHERE id = ?", (problem_id,)).fetchone()
        return None if row is None else Problem.model_validate_json(row[0])

    def problem_positions(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT id, position FROM problems"))

    # -- attempts ---------------------------------------------------------------------

    def done_indices(self) -> dict[str, set[int]]:
        done: dict[str, set[int]] = {}
        for problem_id, idx in self.db.execute("SELECT problem_id, idx FROM attempts"):
            done.setdefault(problem_id, set()).add(idx)
        return done

    def add_attempts(self, attempts: Iterable[Attempt], candidates: Iterable[Candidate]) -> None:
        """One transaction: all of these attempts become durable together, or none does."""
        attempt_rows = [
            (a.problem_id, a.index, a.seed, a.status.value, a.text, a.finish_reason, a.prompt_tokens,
             a.completion_tokens, a.error, a.candidate_key, a.latency_s, a.score)
            for a in attempts
        ]
        smallest: dict[tuple[str, str], str] = {}
        for c in candidates:
            here = smallest.get((c.problem_id, c.key))
            smallest[(c.problem_id, c.key)] = c.content if here is None else min(here, c.content)
        candidate_rows = [(p, k, content) for (p, k), content in smallest.items()]
        with self._tx():
            # Spellings that share a key are one candidate; it keeps the smallest spelling, so what is
            # stored (and judged) does not depend on the order attempts arrive in (Ray, concurrent calls).
            # A smaller spelling replaces the row (a new rowid, so a streaming verifier sees it as new)
            # and drops verdicts given to the larger one while sampling went on.
            self.db.executemany("DELETE FROM verdicts WHERE problem_id = ? AND candidate_key = ? AND EXISTS "
                                "(SELECT 1 FROM candidates WHERE problem_id = ? AND key = ? AND content > ?)",
                                [(p, k, p, k, c) for p, k, c in candidate_rows])
            self.db.executemany("UPDATE candidates SET content = ?, rowid = (SELECT MAX(rowid) + 1 FROM candidates) "
                                "WHERE problem_id = ? AND key = ? AND content > ?", [(c, p, k, c) for p, k, c in candidate_rows])
            self.db.executemany("INSERT OR IGNORE INTO candidates VALUES (?, ?, ?)", candidate_rows)
            self.db.executemany(f"INSERT INTO attempts ({_ATTEMPT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", attempt_rows)

    def delete_error_attempts(self) -> int:
        """Forget attempts the backend failed on, so that a resumed run samples them again."""
        with self._tx():
            return self.db.execute("DELETE FROM attempts WHERE status = ?", (AttemptStatus.ERROR.value,)).rowcount

    def attempts(self) -> Iterator[Attempt]:
        rows = self.db.execute(f"SELECT {_ATTEMPT_COLUMNS} FROM attempts ORDER BY problem_id, idx")
        yield from (_attempt(row) for row in rows)

    def attempt(self, problem_id: str, index: int) -> Attempt | None:
        row = self.db.execute(f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE problem_id = ? AND idx = ?",
                              (problem_id, index)).fetchone()
        return None if row is None else _attempt(row)

    def attempt_indices(self, problem_id: str, candidate_key: str) -> list[int]:
        """The attempts of a problem that produced this candidate."""
        rows = self.db.execute("SELECT idx FROM attempts WHERE problem_id = ? AND candidate_key = ? ORDER BY idx",
                               (problem_id, candidate_key))
        return [idx for (idx,) in rows]

    def candidate_uses(self) -> Iterator[tuple[str, int, str]]:
        """(problem id, attempt index, candidate key) of every attempt with a candidate."""
        yield from self.db.execute("SELECT problem_id, idx, candidate_key FROM attempts WHERE candidate_key IS NOT NULL")

    def attempts_without_candidate(self, text_chars: int) -> Iterator[AttemptHead]:
        """Model errors and attempts with no answer, in (problem, index) order; output cut to text_chars."""
        rows = self.db.execute("SELECT problem_id, idx, status, error, substr(text, 1, ?) FROM attempts "
                               "WHERE status = ? OR candidate_key IS NULL ORDER BY problem_id, idx",
                               (text_chars, AttemptStatus.ERROR.value))
        yield from (AttemptHead(pid, idx, AttemptStatus(status), error, text) for pid, idx, status, error, text in rows)

    def count_attempts(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]

    # -- candidates and verdicts ------------------------------------------------------

    def unverified_candidates(self, verifier: str, version: str) -> list[Candidate]:
        rows = self.db.execute(
            """SELECT c.problem_id, c.key, c.content FROM candidates c
               WHERE NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.problem_id = c.problem_id
                 AND v.candidate_key = c.key AND v.verifier = ? AND v.version = ?)
               ORDER BY c.problem_id, c.key""",
            (verifier, version),
        )
        return [Candidate(problem_id=p, key=k, content=c) for p, k, c in rows]

    def add_verdicts(self, verdicts: Iterable[tuple[Candidate, Verdict]]) -> None:
        """Store verdicts; one judged on a spelling the store has since replaced by a smaller one is dropped."""
        rows = [
            (c.problem_id, c.key, v.verifier, v.verifier_version, v.status.value, v.evidence, v.duration_s,
             c.problem_id, c.key, c.content)
            for c, v in verdicts
        ]
        with self._tx():
            self.db.executemany("INSERT OR REPLACE INTO verdicts SELECT ?,?,?,?,?,?,? WHERE NOT EXISTS (SELECT 1 FROM "
                                "candidates WHERE problem_id = ? AND key = ? AND content <> ?)", rows)

    def last_candidate_row(self) -> int:
        """A position in the candidates table: `candidates_after` it yields what was stored (or replaced) since."""
        return self.db.execute("SELECT COALESCE(MAX(rowid), 0) FROM candidates").fetchone()[0]

    def candidates_after(self, row: int, upto: int | None = None) -> list[tuple[int, Candidate]]:
        """Candidates stored after position `row` (up to `upto`), in storing order, with their positions."""
        rows = self.db.execute("SELECT rowid, problem_id, key, content FROM candidates WHERE rowid > ? AND rowid <= ? "
                               "ORDER BY rowid", (row, upto if upto is not None else 2**62))
        return [(r, Candidate(problem_id=p, key=k, content=c)) for r, p, k, c in rows]

    def solved_attempts(self, verifier: str, version: str) -> dict[str, int]:
        """Problem id -> attempts whose candidate this verifier version judged correct."""
        rows = self.db.execute(
            "SELECT a.problem_id, COUNT(*) FROM attempts a JOIN verdicts v ON v.problem_id = a.problem_id AND "
            "v.candidate_key = a.candidate_key WHERE v.verifier = ? AND v.version = ? AND v.status = ? "
            "GROUP BY a.problem_id", (verifier, version, VerdictStatus.PASSED.value))
        return dict(rows)

    def count_candidates(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]

    def candidate(self, problem_id: str, key: str) -> Candidate | None:
        row = self.db.execute("SELECT content FROM candidates WHERE problem_id = ? AND key = ?", (problem_id, key)).fetchone()
        return None if row is None else Candidate(problem_id=problem_id, key=key, content=row[0])

    def candidate_contents(self, problem_id: str) -> dict[str, str]:
        """Candidate key -> content, for every candidate of a problem."""
        return dict(self.db.execute("SELECT key, content FROM candidates WHERE problem_id = ?", (problem_id,)))

    def verdicts_of(self, problem_id: str, candidate_key: str) -> list[Verdict]:
        """Every stored verdict of a candidate, whatever verifier or version gave it."""
        rows = self.db.execute("SELECT verifier, version, status, evidence, duration_s FROM verdicts "
                               "WHERE problem_id = ? AND candidate_key = ?", (problem_id, candidate_key))
        return [Verdict(status=VerdictStatus(s), verifier=n, verifier_version=v, evidence=e, duration_s=d)
                for n, v, s, e, d in rows]

    def judged_candidates(self) -> set[tuple[str, str]]:
        """(problem id, candidate key) of every candidate with a verdict from any verifier version."""
        return set(self.db.execute("SELECT DISTINCT problem_id, candidate_key FROM verdicts"))

    def verdict_counts(self) -> dict[tuple[str, str], int]:
        """(verifier, version) -> verdicts stored, in (verifier, version) order."""
        rows = self.db.execute("SELECT verifier, version, COUNT(*) FROM verdicts GROUP BY verifier, version "
                               "ORDER BY verifier, version")
        return {(name, version): count for name, version, count in rows}

    def verdicts_by_candidate(self, verifier: str, version: str) -> dict[tuple[str, str], Verdict]:
        rows = self.db.execute(
            "SELECT problem_id, candidate_key, status, evidence, duration_s FROM verdicts "
            "WHERE verifier = ? AND version = ?",
            (verifier, version),
        )
        return {
            (p, k): Verdict(status=VerdictStatus(s), verifier=verifier, verifier_version=version, evidence=e, duration_s=d)
            for p, k, s, e, d in rows
        }

    # -- plumbing ---------------------------------------------------------------------

    def _tx(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _attempt(row: Any) -> Attempt:
    return Attempt(problem_id=row[0], index=row[1], seed=row[2], status=AttemptStatus(row[3]), text=row[4],
                   finish_reason=row[5], prompt_tokens=row[6], completion_tokens=row[7], error=row[8],
                   candidate_key=row[9], latency_s=row[10], score=row[11])


def _meta_from_old_keys(old: dict[str, str]) -> RunMeta:
    """RunMeta from the untyped keys older versions wrote ("1"/"0" flags, JSON targets and cost, repr'd seconds)."""
    wall, cost = old.get("sampling_wall_s"), old.get("cost")
    return RunMeta(
        identity=old.get("identity", ""), name=old.get("name", ""), task=old.get("task", ""),
        model=old.get("model", ""), backend=old.get("backend", ""), simulated=old.get("simulated") == "1",
        tokens_estimated=old.get("tokens_estimated") == "1", targets=json.loads(old["targets"]),
        sampling_wall_s=None if wall is None else float(wall),
        cost=None if cost is None else CostInputs.model_validate_json(cost),
    )


def dump_jsonl(rows: Iterable[dict], path: Path) -> int:
    """Write rows as JSON lines atomically; returns the count."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    count = 0
    with tmp.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(path)
    return count
