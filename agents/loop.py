"""The agent loop: ask the model, parse one action, run the tool, record the step; until finish or a limit.

An attempt is a pure function of (problem, environment, spec, model responses): the
trajectory file holds every response, so a resumed attempt rebuilds its state by replaying
the saved steps (edits re-applied to a fresh overlay, saved observations reused) and asks the
model only for the steps that were never saved.
"""

from __future__ import annotations

import time

from agents.config import AgentConfig
from agents.context import file_context
from agents.conversation import Dialogue, Parsed
from agents.model import ModelClient
from agents.pacing import Pacer
from agents.prompts import observation_message
from agents.resume import restore
from agents.state import AttemptResult, AttemptSpec, EndStatus, _State, new_state  # noqa: F401 - re-exported
from agents.tools import Environment, Workspace, run_tool
from agents.trajectory import (
    EndRecord,
    ModelCall,
    StepRecord,
    Totals,
    TrajectoryFile,
)
from harness.records import GenerationRequest, GenerationResult, ModelErrorKind, Problem, SamplingParams


def _limit(state: _State, config: AgentConfig) -> tuple[EndStatus, str] | None:
    budgets, totals = config.budgets, state.totals
    if totals.format_errors > budgets.max_format_errors:
        return EndStatus.FORMAT_ERRORS, f"{totals.format_errors} malformed responses (at most {budgets.max_format_errors})"
    checks = [(totals.steps >= budgets.max_steps, EndStatus.STEP_LIMIT, f"{totals.steps} steps"),
              (totals.tokens >= budgets.max_tokens, EndStatus.TOKEN_LIMIT, f"{totals.tokens} tokens"),
              (totals.cost >= budgets.max_cost, EndStatus.COST_LIMIT, f"cost {totals.cost:.4f}")]
    return next(((status, why) for hit, status, why in checks if hit), None)


def _fit_context(state: _State, dialogue: Dialogue, config: AgentConfig) -> tuple[EndStatus, str] | None:
    """Refresh the file context, then elide the oldest observations until the next prompt fits the budget."""
    if config.context.file_context:
        state.context = file_context(state.workspace, config.context.file_context_max_lines)
    trim_at = config.context.trim_at * config.budgets.max_context_tokens
    keep_from = len(state.turns) - config.context.keep_recent
    while state.estimate(dialogue, config) > trim_at and state.elided < keep_from:
        state.elide_to(state.elided + 1)
    if (estimate := state.estimate(dialogue, config)) > config.budgets.max_context_tokens:
        return EndStatus.CONTEXT_LIMIT, f"about {estimate} tokens of context with {state.elided} observations elided"
    return None


def _request(spec: AttemptSpec, state: _State, dialogue: Dialogue, config: AgentConfig) -> GenerationRequest:
    params = SamplingParams(temperature=spec.temperature, top_p=spec.top_p, max_tokens=config.max_tokens_per_call,
                            stop=dialogue.stop)
    # The attempt's seed on every call: the prompt differs per step, and a simulated model keys its
    # per-attempt behaviour on (problem, seed) exactly as for single-turn attempts.
    return GenerationRequest(problem_id=spec.problem_id, first_index=spec.index, n=1, seed=spec.seed, params=params,
                             **dialogue.payload(state.messages()))


def _act(workspace: Workspace, parsed: Parsed) -> tuple[str, str, tuple[str, ...], float]:
    """(outcome, observation, changed files, tool seconds) for one parsed response."""
    if parsed.action is None:
        return "format_error", parsed.error, (), 0.0
    started = time.perf_counter()
    out = run_tool(workspace, parsed.action)
    outcome = "finished" if out.done else ("ok" if out.ok else "rejected")
    return outcome, out.observation, out.changed, time.perf_counter() - started


def take_step(state: _State, spec: AttemptSpec, result: GenerationResult, dialogue: Dialogue, config: AgentConfig,
              context_changed: bool = False) -> StepRecord:
    completion = result.completions[0]
    parsed = dialogue.parse(completion, state.totals.steps)
    call = ModelCall(seed=spec.seed, temperature=spec.temperature, response=dialogue.response_text(completion),
                     tool_calls=list(parsed.calls), finish_reason=completion.finish_reason, prompt_tokens=completion.prompt_tokens,
                     completion_tokens=completion.completion_tokens, latency_s=result.latency_s)
    outcome, observation, changed, tool_s = _act(state.workspace, parsed)
    before = state.totals
    totals = Totals(steps=before.steps + 1, prompt_tokens=before.prompt_tokens + call.prompt_tokens,
                    completion_tokens=before.completion_tokens + call.completion_tokens,
                    cost=before.cost + config.prices.cost(call.prompt_tokens, call.completion_tokens),
                    format_errors=before.format_errors + (outcome == "format_error"),
                    rejected=before.rejected + (outcome == "rejected"))
    shown = observation if parsed.calls else observation_message(observation)  # a tool result needs no label
    return StepRecord(step=before.steps, call=call, action=parsed.action.to_json() if parsed.action else None,
                      outcome=outcome, observation="" if outcome == "finished" else shown, changed=list(changed),
                      tool_s=tool_s, totals=totals, elided=state.elided, context=state.context if context_changed else None)


def _finish(state: _State, spec: AttemptSpec, status: EndStatus, reason: str, config: AgentConfig,
            trajectory: TrajectoryFile, resumed: int) -> AttemptResult:
    submit = status is EndStatus.FINISHED or (config.submit_on_limit and status is not EndStatus.MODEL_ERROR)
    patch = state.workspace.overlay.diff() if submit else ""
    spans = [f"{s.path}:{s.start}-{s.end}" for s in state.workspace.identified]
    trajectory.append(EndRecord(status=status.value, reason=reason, patch=patch, identified=spans, totals=state.totals))
    return AttemptResult(spec=spec, status=status, reason=reason, patch=patch, totals=state.totals,
                         identified=spans, resumed_steps=resumed)


async def run_attempt(problem: Problem, env: Environment, spec: AttemptSpec, client: ModelClient, config: AgentConfig,
                      trajectory: TrajectoryFile, pacer: Pacer | None = None, chat: bool = True) -> AttemptResult:
    """One attempt from its first (or first unsaved) step to its end, every step saved as it ends.

    chat=False: the model is a base model behind a completions API (one transcript prompt per call).
    """
    dialogue = dialogue_for(config, chat)
    state, done, resumed = restore(problem, env, spec, config, trajectory)
    if done is not None:
        return done
    while True:
        shown = state.context
        if (hit := _limit(state, config) or _fit_context(state, dialogue, config)) is not None:
            return _finish(state, spec, hit[0], hit[1], config, trajectory, resumed)
        result = await client.complete(_request(spec, state, dialogue, config))
        if result.error_kind is ModelErrorKind.CONTEXT_LENGTH:  # the server's window, not our estimate: the same end
            return _finish(state, spec, EndStatus.CONTEXT_LIMIT, result.error or "", config, trajectory, resumed)
        if result.error is not None or not result.completions:
            return _finish(state, spec, EndStatus.MODEL_ERROR, result.error or "no completion", config, trajectory, resumed)
        if pacer is not None:
            await pacer.checkpoint()  # many attempts ready at once: let the loop poll I/O between slices of tool work
        step = take_step(state, spec, result, dialogue, config, context_changed=state.context != shown)
        trajectory.append(step)
        state.add(step)
        if step.outcome == "finished":
            return _finish(state, spec, EndStatus.FINISHED, "", config, trajectory, resumed)


def dialogue_for(config: AgentConfig, chat: bool) -> Dialogue:
    return Dialogue(tools=config.action_format == "tools", chat=chat)
