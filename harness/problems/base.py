"""What differs per task kind: loading, prompting, extraction, and which verifier judges."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from harness.records import Candidate, Problem

if TYPE_CHECKING:
    from harness.config import DatasetConfig
    from harness.verifiers.base import Verifier


class DatasetError(ValueError):
    """A dataset file or row is unusable; the message names the file and the line."""


@runtime_checkable
class Task(Protocol):
    name: str
    default_stop: tuple[str, ...]  # stop sequences for the completion API

    def load(self, dataset: DatasetConfig) -> list[Problem]: ...

    def build_prompt(self, problem: Problem, chat: bool) -> str | list[dict[str, str]]:
        """A completion prompt (chat=False) or chat messages (chat=True)."""
        ...

    def extract(self, problem: Problem, text: str) -> Candidate | None:
        """The candidate in a model output, or None when there is none to judge."""
        ...

    def verifier(self) -> Verifier: ...


@runtime_checkable
class SkipsInstances(Protocol):
    """A task whose load may leave out unreadable instances (a task repo's broken task directory) and go on."""

    def skipped_instances(self) -> dict[str, str]:
        """Instance id -> what is wrong with it, for the last load."""
        ...


@runtime_checkable
class RunsInImages(Protocol):
    """A task whose problems are judged in per-problem Docker images (SWE-bench instances)."""

    def image_of(self, problem: Problem) -> str: ...
