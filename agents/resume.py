"""Rebuilding an attempt's state from its trajectory file (saved responses are replayed, never re-asked)."""

from __future__ import annotations

import logging

from agents.actions import Action
from agents.config import AgentConfig
from agents.state import AttemptResult, AttemptSpec, EndStatus, _State, new_state
from agents.tools import Environment, run_tool
from agents.trajectory import EndRecord, StartRecord, Trajectory, TrajectoryFile
from harness.records import Problem

logger = logging.getLogger(__name__)
STATEFUL = ("edit", "identify")  # the tools whose effect on the workspace must be replayed


def _start_record(problem: Problem, spec: AttemptSpec, config: AgentConfig, state: _State) -> StartRecord:
    return StartRecord(attempt_id=f"{spec.problem_id}/{spec.index}", problem_id=spec.problem_id, index=spec.index,
                       seed=spec.seed, temperature=spec.temperature, top_p=spec.top_p, config_digest=config.digest(), messages=state.start)


def _matches(saved: Trajectory, spec: AttemptSpec, config: AgentConfig, state: _State) -> bool:
    start = saved.start
    return (start is not None and start.seed == spec.seed and start.temperature == spec.temperature and start.top_p == spec.top_p
            and start.config_digest == config.digest() and start.messages == state.start)


def _replay(state: _State, saved: Trajectory) -> None:
    """Re-applies edits and marks to a fresh workspace; messages and totals come from the file."""
    for step in saved.steps:
        if step.action is not None and step.action["name"] in STATEFUL and step.outcome == "ok":
            outcome = run_tool(state.workspace, Action.from_json(step.action))
            if list(outcome.changed) != step.changed:
                raise RuntimeError(f"step {step.step} replays differently ({outcome.changed} != {step.changed}): "
                                   "the repository snapshot changed since the trajectory was written")
        state.add(step)


def _result(spec: AttemptSpec, end: EndRecord, resumed: int) -> AttemptResult:
    return AttemptResult(spec=spec, status=EndStatus(end.status), reason=end.reason, patch=end.patch,
                         totals=end.totals, identified=end.identified, resumed_steps=resumed)


def restore(problem: Problem, env: Environment, spec: AttemptSpec, config: AgentConfig,
            trajectory: TrajectoryFile) -> tuple[_State, AttemptResult | None, int]:
    """(state to continue from, the stored result if the attempt had ended, steps replayed)."""
    state = new_state(problem, env, config)
    saved = trajectory.load()
    if saved.start is not None and not _matches(saved, spec, config, state):
        stale = trajectory.path.with_suffix(".stale.jsonl")
        logger.warning("%s was made with other settings; kept as %s and started again", trajectory.path, stale)
        trajectory.path.replace(stale)
        saved = Trajectory()
    if saved.start is None:
        trajectory.append(_start_record(problem, spec, config, state))
        return state, None, 0
    if saved.end is not None and saved.end.status != EndStatus.MODEL_ERROR:
        return state, _result(spec, saved.end, len(saved.steps)), len(saved.steps)
    if saved.end is not None:  # a model error is not final: drop the end line and go on from the last step
        _rewrite_without_end(trajectory, saved)
    _replay(state, saved)
    return state, None, len(saved.steps)


def _rewrite_without_end(trajectory: TrajectoryFile, saved: Trajectory) -> None:
    temporary = trajectory.path.with_suffix(".rewrite")
    temporary.unlink(missing_ok=True)
    writer = TrajectoryFile(temporary, trajectory.fsync)
    for record in [saved.start, *saved.steps]:
        if record is not None:
            writer.append(record)
    temporary.replace(trajectory.path)
