"""What differs per task kind: loading, prompting, extraction, and which verifier judges."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.config import ConfigError
from harness.records import Candidate, Problem

if TYPE_CHECKING:
    from harness.config import DatasetConfig, VerifyConfig
    from harness.verifiers.base import Verifier


SettingsT = TypeVar("SettingsT", bound=BaseModel)


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


@runtime_checkable
class ConfiguresVerifier(Protocol):
    """A task whose verifier takes settings from the run config's `verify` section.

    `settings_model` is the pydantic model of the `verify.options` the task reads (unknown keys
    refused). `configure` validates the section into it (`typed_settings`: a ConfigError naming
    the field, `verify.options.flake_runs: ...`) before anything is written; the verifier the
    task makes afterwards uses them. A task that is not a ConfiguresVerifier takes no options.
    """

    def settings_model(self) -> type[BaseModel]: ...

    def configure(self, verify: VerifyConfig) -> None: ...


class NoOptions(BaseModel):
    """The settings of a task whose verifier reads no `verify.options` (the code tasks)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def typed_settings(model: type[SettingsT], options: Mapping[str, Any], **shared: Any) -> SettingsT:
    """`verify.options` as a task's settings model. `shared` gives fields the `verify` section sets
    elsewhere (swebench: containers = verify.workers), which an option of the same name overrides."""
    try:
        return model.model_validate({**shared, **options})
    except ValidationError as exc:
        raise ConfigError("; ".join(f"verify.options.{'.'.join(str(part) for part in err['loc'])}: {err['msg']}"
                                    for err in exc.errors())) from None
