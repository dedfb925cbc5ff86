"""Trajectories: one JSON-lines file per attempt, one line per step, appended as the step ends.

    {"type": "start", ...}   the attempt (problem, index, seed, temperature, config digest) and its first messages
    {"type": "step", ...}    one model call (response, tokens, latency) and what came of it
                             (parsed action or format error, observation, files changed, running totals)
    {"type": "end", ...}     status, reason, the patch, totals

The messages of step k's model call are `start.messages` followed, for each earlier step,
by the assistant's response (with its tool calls) and the user or tool message(s) holding its
observation, the oldest observations elided as step k's record says, and the file context
last saved up to step k appended (`agents.conversation.messages_for` rebuilds them).
Each line is written with one `write` on a file opened for appending and closed again, so a
crash loses at most the step in progress; a torn last line is cut off when the file is read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from harness.records import ToolCall

FORMAT_VERSION = 1


class Totals(BaseModel):
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    format_errors: int = 0
    rejected: int = 0  # actions a tool refused (edit did not match, bad path, ...)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ModelCall(BaseModel):
    seed: int
    temperature: float
    response: str
    tool_calls: list[ToolCall] = Field(default_factory=list)  # action_format tools: the calls, ids made unique
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0


class StartRecord(BaseModel):
    type: Literal["start"] = "start"
    version: int = FORMAT_VERSION
    attempt_id: str
    problem_id: str
    index: int
    seed: int
    temperature: float
    top_p: float = 1.0
    config_digest: str
    messages: list[dict[str, Any]]


class StepRecord(BaseModel):
    type: Literal["step"] = "step"
    step: int
    call: ModelCall
    action: dict[str, Any] | None = None  # {"name", "args", "body"}; None when the response had no usable action
    outcome: Literal["ok", "rejected", "format_error", "finished"]
    observation: str  # the text of the user message that follows (empty after finish)
    changed: list[str] = Field(default_factory=list)
    tool_s: float = 0.0  # time spent in the tool (the loop's own cost, not the model's)
    totals: Totals
    elided: int = 0  # this call's prompt showed the observations of steps before this one as placeholders
    context: str | None = None  # the file context shown with this call, when it differs from the previous call's


class EndRecord(BaseModel):
    type: Literal["end"] = "end"
    status: str  # AttemptStatus value
    reason: str = ""
    patch: str = ""
    identified: list[str] = Field(default_factory=list)  # "path:start-end" spans the agent marked relevant
    totals: Totals


class Trajectory(BaseModel):
    start: StartRecord | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    end: EndRecord | None = None


class TrajectoryFile:
    """Appends records to one attempt's file; reads it back for a resume."""

    def __init__(self, path: Path, fsync: bool = False) -> None:
        self.path, self.fsync = Path(path), fsync

    def append(self, record: BaseModel) -> None:
        line = (record.model_dump_json() + "\n").encode("utf-8", "surrogateescape")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write: the line lands whole or (on a crash) torn at the end
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def load(self) -> Trajectory:
        """Every complete record; a torn or unreadable tail is cut off the file so appends stay valid."""
        trajectory = Trajectory()
        if not self.path.exists():
            return trajectory
        data = self.path.read_bytes()
        good = 0
        for raw in data.splitlines(keepends=True):
            if not raw.endswith(b"\n") or not _add(trajectory, raw):
                break
            good += len(raw)
        if good < len(data):
            with self.path.open("r+b") as fh:
                fh.truncate(good)
        return trajectory


def _add(trajectory: Trajectory, raw: bytes) -> bool:
    """Adds one line's record; False when it is unreadable or out of order (the file is cut there)."""
    try:
        row = json.loads(raw.decode("utf-8", "surrogateescape"))
        kind = row.get("type")
        if kind == "start" and trajectory.start is None:
            trajectory.start = StartRecord.model_validate(row)
        elif kind == "step" and trajectory.start is not None and trajectory.end is None and row.get("step") == len(trajectory.steps):
            trajectory.steps.append(StepRecord.model_validate(row))
        elif kind == "end" and trajectory.start is not None:
            trajectory.end = EndRecord.model_validate(row)
        else:
            return False
    except (ValueError, AttributeError):
        return False
    return True
