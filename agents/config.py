"""What an agent run may do and spend: pydantic config, kept apart from the behaviour.

One `AgentConfig` is shared by every attempt of a run. Per-attempt values (seed,
temperature) live on `AttemptSpec` so a run can vary them without touching the config.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budgets(_Strict):
    """Limits per attempt; reaching one ends the attempt (see `AgentConfig.submit_on_limit`)."""

    max_steps: int = Field(30, ge=1)  # model calls, malformed ones included
    max_tokens: int = Field(400_000, ge=1)  # prompt + completion tokens summed over all calls
    max_cost: float = Field(1.0, gt=0)  # in the currency of `Prices`
    max_format_errors: int = Field(3, ge=0)  # malformed responses tolerated; one more ends the attempt
    max_context_tokens: int = Field(60_000, ge=1)  # an estimate of the next prompt; old observations are elided to stay under it


class Prices(_Strict):
    """Price per million tokens; the paper's DeepSeek-Coder-V2 figure is about $0.0072 per attempt."""

    prompt_per_million: float = Field(0.14, ge=0)
    completion_per_million: float = Field(0.28, ge=0)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt_per_million + completion_tokens * self.completion_per_million) / 1e6


class ToolConfig(_Strict):
    include_tests: bool = False  # test files are out of search scope (they are replaced when judged)
    view_max_lines: int = Field(120, ge=10)
    search_results: int = Field(8, ge=1)
    find_results: int = Field(30, ge=1)
    observation_max_chars: int = Field(6000, ge=500)
    chunk_lines: int = Field(40, ge=5)  # module-level code and long functions are cut into windows this long


class ContextConfig(_Strict):
    """What the model sees besides the conversation, and how the conversation is kept under the context budget."""

    # Past this share of budgets.max_context_tokens the oldest observations are replaced by a short
    # placeholder; the attempt ends only when even that cannot bring the prompt under the budget.
    trim_at: float = Field(0.75, gt=0, le=1)
    keep_recent: int = Field(3, ge=0)  # the observations of the last steps are never elided
    file_context: bool = True  # show the identified spans, as they read now, with every prompt
    file_context_max_lines: int = Field(200, ge=10)


PROMPTS_DIR = Path(__file__).resolve().parents[1] / "configs" / "agent" / "prompts"


class PromptFiles(_Strict):
    """The prompt templates (Jinja2; configs/agent/prompts/README.md); relative paths are relative to the run config."""

    system_text: Path = PROMPTS_DIR / "system_text.md"  # action_format text (and transcripts)
    system_tools: Path = PROMPTS_DIR / "system_tools.md"  # action_format tools
    instance: Path = PROMPTS_DIR / "instance.md"  # the first user message: the issue

    def files(self) -> dict[str, Path]:
        return {"system_text": self.system_text, "system_tools": self.system_tools, "instance": self.instance}

    def resolved(self, base: Path) -> PromptFiles:
        return PromptFiles(**{name: path if path.is_absolute() else (base / path).resolve() for name, path in self.files().items()})

    def digest(self) -> str:
        """Of the templates' text (not their paths): a changed prompt is a different run."""
        return _text_digest(tuple(sorted((name, str(path), *_stamp(path)) for name, path in self.files().items())))


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)
    return (stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _text_digest(files: tuple[tuple[str, str, int, int], ...]) -> str:
    """Memoized on (name, path, mtime, size): every attempt's start record asks for it."""
    texts = {name: Path(path).read_bytes().hex() if size >= 0 else f"missing: {path}" for name, path, _mtime, size in files}
    return hashlib.sha256(json.dumps(texts, sort_keys=True).encode()).hexdigest()[:16]


class AgentConfig(_Strict):
    """The `agent:` section of a run config."""

    budgets: Budgets = Budgets()
    prices: Prices = Prices()
    tools: ToolConfig = ToolConfig()
    context: ContextConfig = ContextConfig()
    prompts: PromptFiles = PromptFiles()
    # text: one action per response in the text format (any model, chat or completions API);
    # tools: OpenAI tool calls (a chat server with tool calling, e.g. vllm serve --enable-auto-tool-choice)
    action_format: Literal["text", "tools"] = "text"
    max_tokens_per_call: int = Field(1024, ge=16)
    submit_on_limit: bool = True  # a limit hit still yields the diff so far as the attempt's patch
    max_in_flight: int = Field(512, ge=1)  # attempts running at once in one process
    index_workers: int = Field(2, ge=1)  # processes that parse an instance's files when it is indexed (1: in this process)
    pace_slice_s: float = Field(0.02, ge=0)  # tool work between two turns of the event loop (0: no pacing)
    fsync: bool = False  # True: every step is fsync'ed (survives power loss, not only a crash)
    trajectories_dir: Path | None = None  # default: <run dir>/trajectories
    snapshots_dir: Path | None = None  # default: <run dir>/repos (one read-only tree per instance)
    repos_dir: Path | None = None  # local clones named <owner>__<name>; an instance without one is read from its image

    def resolved(self, base: Path) -> AgentConfig:
        """Relative directories and prompt files made relative to `base` (the run config's folder)."""
        def fix(path: Path | None) -> Path | None:
            return path if path is None or path.is_absolute() else (base / path).resolve()

        return self.model_copy(update={**{name: fix(getattr(self, name)) for name in ("trajectories_dir", "snapshots_dir", "repos_dir")},
                                       "prompts": self.prompts.resolved(base)})

    def input_files(self) -> dict[str, Path]:
        return {f"agent.prompts.{name}": path for name, path in self.prompts.files().items()}

    def digest(self) -> str:
        """What a resumed trajectory must have been made with (the behaviour, not the plumbing)."""
        fields = self.model_dump(mode="json", include={"budgets", "tools", "context", "action_format", "max_tokens_per_call", "submit_on_limit"})
        fields["prompts"] = self.prompts.digest()
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
