"""The prompt the agent starts from, rendered from the templates a run config names (`agent.prompts`).

The text is data: `configs/agent/prompts/*.md` by default (Jinja2, undefined names an error),
so a user changes the prompt without touching code, and the templates' text is part of the
run's identity (`PromptFiles.digest`). Only the observation label stays here: it is wire
format (the text dialogue's stop sequence and the elision placeholders depend on it).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.config import PromptFiles

if TYPE_CHECKING:
    import jinja2

    from harness.records import Problem


class PromptError(ValueError):
    """A template that cannot be read or rendered; the message names the file."""


@dataclass(frozen=True)
class Prompts:
    system_text: jinja2.Template
    system_tools: jinja2.Template
    instance: jinja2.Template
    files: PromptFiles

    def render(self, name: str, values: dict[str, Any]) -> str:
        import jinja2  # noqa: PLC0415

        try:
            return getattr(self, name).render(**values).strip("\n")
        except jinja2.TemplateError as exc:
            raise PromptError(f"agent.prompts.{name}: {getattr(self.files, name)}: {exc}") from None


@functools.lru_cache(maxsize=16)
def _load(files: PromptFiles, digest: str) -> Prompts:  # digest: a changed file is read again
    import jinja2  # noqa: PLC0415

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)  # noqa: S701 - plain text, not HTML
    templates = {}
    for name, path in files.files().items():
        try:
            templates[name] = env.from_string(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise PromptError(f"agent.prompts.{name}: cannot read {path}: {exc.strerror or exc}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"agent.prompts.{name}: {path}, line {exc.lineno}: {exc.message}") from None
    return Prompts(files=files, **templates)


def load_prompts(files: PromptFiles) -> Prompts:
    return _load(files, files.digest())


def values_for(problem: Problem, max_steps: int) -> dict[str, Any]:
    """The names a template may use."""
    return {"repo": str(problem.data.get("repo", "?")), "commit": str(problem.data.get("base_commit", "?"))[:12],
            "instance_id": problem.id, "issue": problem.question.strip(), "max_steps": max_steps}


def initial_messages(problem: Problem, files: PromptFiles | None = None, tools: bool = False, max_steps: int = 30) -> list[dict[str, Any]]:
    prompts = load_prompts(files or PromptFiles())
    values = values_for(problem, max_steps)
    system = prompts.render("system_tools" if tools else "system_text", values)
    return [{"role": "system", "content": system}, {"role": "user", "content": prompts.render("instance", values)}]


def check_prompts(files: PromptFiles, max_steps: int = 30) -> None:
    """PromptError unless every template reads and renders (run before any attempt starts)."""
    from harness.records import Problem  # noqa: PLC0415

    sample = Problem(id="owner__name-1", task="swebench", question="An issue.", data={"repo": "owner/name", "base_commit": "0" * 40})
    for name in files.files():
        load_prompts(files).render(name, values_for(sample, max_steps))


def observation_message(observation: str) -> str:
    return f"Observation:\n{observation}"
