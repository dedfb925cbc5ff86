"""Run configuration: YAML files in configs/, overridable from the command line.

Relative paths in a config file are resolved against the file's own folder, so a config
works from any working directory. A relative path given with `--set` is read the same way (as
if written in the file), so the commands in the configs' comments work from anywhere. Every error names the field or file at fault.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, Self, runtime_checkable

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator



class ConfigError(ValueError):
    """A config is unusable. The CLI prints it and exits with status 2."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetConfig(_Strict):
    path: Path | None = None  # local JSON / JSONL (optionally .gz) in the dataset's native format, or a swebench 5 task repo directory
    hub: str | None = None  # a Hugging Face dataset name, used when path is not given
    hub_config: str | None = None
    split: str = "test"
    limit: int | None = Field(None, ge=1)  # the first N problems
    ids: list[str] | None = None  # only these problem ids
    ids_file: Path | None = None  # only the ids in this file, one a line (e.g. SWE-bench Lite's, out of SWE-bench)
    fewshot_path: Path | None = None  # rows of the training split for few-shot prompts
    fewshot_k: int = Field(4, ge=0)

    @field_validator("ids", mode="before")
    @classmethod
    def _ids_as_strings(cls, value: Any) -> Any:
        # Ids that are line numbers are written as numbers in YAML (ids: [0, 5]).
        return [str(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        if self.path is None and self.hub is None:
            raise ValueError("give dataset.path (a local file) or dataset.hub (a Hugging Face dataset name)")
        return self


class SimulatedModelConfig(_Strict):
    backend: Literal["simulated"]
    model: str = "simulated"
    # Per-problem success probability ~ Beta(alpha, beta): a long low tail, like real models.
    alpha: float = Field(0.35, gt=0)
    beta: float = Field(1.2, gt=0)
    no_answer_rate: float = Field(0.03, ge=0, le=1)
    # Paced like a served model: each request takes this long, one at a time (benchmarks: scripts/bench_pipeline.py).
    seconds_per_request: float = Field(0.0, ge=0)


class OpenAIModelConfig(_Strict):
    backend: Literal["openai"]
    model: str
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str | None = "OPENAI_API_KEY"  # name of the variable holding the key, never the key
    api: Literal["chat", "completions"] = "chat"
    concurrency: int = Field(32, ge=1)
    timeout_s: float = Field(600.0, gt=0)
    max_retries: int = Field(6, ge=0)
    retry_base_s: float = Field(1.0, gt=0)  # backoff: base * 2^attempt plus jitter, capped at retry_max_s
    retry_max_s: float = Field(60.0, gt=0)
    send_seed: bool = True


class VLLMModelConfig(_Strict):
    backend: Literal["vllm"]
    model: str  # a local path or a model name the engine can load
    api: Literal["chat", "completions"] = "completions"
    batch_size: int = Field(1024, ge=1)  # requests per LLM.generate call
    engine_kwargs: dict[str, Any] = Field(default_factory=dict)


class ReplayModelConfig(_Strict):
    backend: Literal["replay"]
    model: str = "replay"
    path: Path  # JSONL lines {"problem_id": ..., "completion": ...}


ModelConfig = Annotated[
    SimulatedModelConfig | OpenAIModelConfig | VLLMModelConfig | ReplayModelConfig,
    Field(discriminator="backend"),
]


class SamplingConfig(_Strict):
    samples_per_problem: int = Field(10, ge=1)
    n_per_request: int = Field(1, ge=1)  # samples per request (vLLM/OpenAI `n`); shares the prompt prefix
    temperature: float = Field(0.6, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(512, ge=1)
    stop: list[str] | None = None  # None: the task's default stop sequences
    seed: int = 0
    # Stop sampling a problem once this many of its attempts are verified correct (for solutions rather than
    # curves; needs verify.streaming). Not part of identity(): like samples_per_problem, it may change on resume.
    stop_after_solutions: int | None = Field(None, ge=1)


class VerifyConfig(_Strict):
    workers: int = Field(2, ge=1)
    # True: a candidate is verified as soon as it is stored, while sampling goes on. False: verify after sampling.
    streaming: bool = True
    # The task's verifier settings (swebench: eval_timeout_s, flake_runs, ...), as written. Typed by the task's own
    # model (harness.problems.base.ConfiguresVerifier.settings_model; validated by registry.configured_task before
    # anything is written); this layer cannot know the task's model, so nothing reads them from here untyped.
    options: dict[str, Any] = Field(default_factory=dict)
    # code tasks: run generated code without bubblewrap (weaker isolation, or none). Off: without
    # a working bubblewrap a run stops before it writes anything (exit 2) and says what to install
    unsafe_no_isolation: bool = False


class ExecutorConfig(_Strict):
    """Where sampling and verification run (harness/executors/, docs/ray.md).

    Not part of identity(): a run sampled on one executor may be resumed on the other.
    """

    kind: Literal["local", "ray"] = "local"
    address: str | None = None  # ray: None starts a Ray in this process; "auto" or "ray://head:10001" joins a cluster
    replicas: int | None = Field(None, ge=1)  # model replicas (Ray actors); None: one per GPU slot (vllm), per CPU (simulated), 1 (openai)
    gpus_per_replica: float = Field(1.0, gt=0)  # vllm replicas
    cpus_per_replica: float = Field(1.0, ge=0)
    chunk_size: int = Field(64, ge=1)  # requests per replica call
    verify_chunk: int = Field(256, ge=1)  # the most candidates per verification task (SWE-bench: one instance per task)
    max_retries: int = Field(3, ge=0)  # a task, or a replica's call, whose worker died is run again this often
    docker_resource: str = "docker"  # the custom resource of nodes with Docker (and the SWE-bench images)
    num_cpus: int | None = Field(None, ge=1)  # a Ray started here: CPUs it may use (None: all)
    object_store_mb: int | None = Field(None, ge=64)  # a Ray started here: its object store (None: Ray's default)
    resources: dict[str, float] = Field(default_factory=dict)  # a Ray started here: custom resources, e.g. {docker: 4}
    runtime_env: dict[str, Any] | None = None  # passed to ray.init, e.g. {"working_dir": "."} when nodes lack the code


class CostConfig(_Strict):
    """How reports price a run (harness/report/cost.py). Not part of identity(): prices change."""

    prices: Path  # a price table such as configs/prices.yaml
    api: str | None = None  # charge prompt and completion tokens at this hosted API's list price
    gpu: str | None = None  # or charge GPU time at this GPU's hourly rate: by default the measured sampling wall time x n_gpus
    n_gpus: int = Field(1, ge=1)  # GPUs serving the model during sampling
    gpu_hours: float | None = Field(None, gt=0)  # GPU-hours in all, instead of the measured time (imported samples)
    tokens_per_second: float | None = Field(None, gt=0)  # or completion tokens over this measured throughput (all n_gpus)
    baselines: Path | None = None  # frontier single-attempt systems, such as configs/baselines.yaml
    table_attempts: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)  # attempts per problem shown in the cost table

    @model_validator(mode="after")
    def _one_basis(self) -> CostConfig:
        if (self.api is None) == (self.gpu is None):
            raise ValueError("give exactly one of cost.api (a hosted API's price) and cost.gpu (a GPU's hourly rate)")
        if self.api is not None and (self.gpu_hours or self.tokens_per_second or self.n_gpus != 1):
            raise ValueError("cost.gpu_hours, cost.tokens_per_second and cost.n_gpus go with cost.gpu, not cost.api")
        if self.gpu_hours is not None and self.tokens_per_second is not None:
            raise ValueError("give cost.gpu_hours or cost.tokens_per_second, not both")
        return self


# The agent's settings class, found by name: harness does not import agents (the agent is an attempt
# source registered by name in harness.registry; its settings are the `agent:` section).
AGENT_SETTINGS = "agents.config:AgentConfig"


@runtime_checkable
class AttemptSourceSettings(Protocol):
    """What the harness needs of an attempt source's settings section (`agent:`)."""

    def digest(self) -> str:
        """What a resumed run must have been made with."""
        ...

    def input_files(self) -> dict[str, Path]:
        """Config field -> a file that must exist before anything is written."""
        ...

    def resolved(self, base: Path) -> Self:
        """With relative paths made relative to `base` (the config file's folder)."""
        ...


def _agent_settings(value: Any) -> AttemptSourceSettings | None:
    if value is None or isinstance(value, AttemptSourceSettings):
        return value
    module, _, name = AGENT_SETTINGS.partition(":")
    settings_class = getattr(importlib.import_module(module), name)
    try:
        return settings_class.model_validate(value)
    except ValidationError as exc:
        raise ValueError("; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())) from None


class RunConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    task: str
    dataset: DatasetConfig
    model: ModelConfig
    sampling: SamplingConfig = SamplingConfig()
    verify: VerifyConfig = VerifyConfig()
    # set: every attempt is a repair-agent trajectory (agents/, agents.config.AgentConfig), not one completion
    agent: Any = None
    cost: CostConfig | None = None  # set: reports price the run and set it against frontier baselines
    executor: ExecutorConfig = ExecutorConfig()  # local (default) or ray

    @field_validator("agent", mode="before")
    @classmethod
    def _agent_section(cls, value: Any) -> AttemptSourceSettings | None:
        return _agent_settings(value)

    def chat(self) -> bool:
        """Whether prompts go to a chat API: the model's `api` when it has one; otherwise chat for the agent
        (the simulated model plays it in messages) and completions for single samples. Decided here only."""
        if isinstance(self.model, OpenAIModelConfig | VLLMModelConfig):
            return self.model.api == "chat"
        return self.agent is not None

    @model_validator(mode="after")
    def _stop_needs_streaming(self) -> RunConfig:
        if self.sampling.stop_after_solutions is not None and not self.verify.streaming:
            raise ValueError("sampling.stop_after_solutions needs verify.streaming: true (solutions are counted while sampling)")
        return self

    def identity(self) -> str:
        """What must not change when a run directory is resumed.

        Sample counts, speed knobs, where the model is served (base_url) and which problems
        of the dataset are run (ids, limit: a subset may be widened later) may change.
        """
        fields = {
            "task": self.task,
            "dataset": self.dataset.model_dump(mode="json", exclude={"limit", "ids", "ids_file"}),
            "model": self.model.model_dump(mode="json", exclude={"seconds_per_request", "concurrency", "timeout_s", "max_retries", "retry_base_s", "retry_max_s", "batch_size", "base_url", "api_key_env"}),
            "sampling": self.sampling.model_dump(mode="json", exclude={"samples_per_problem", "stop_after_solutions"}),
        }
        if self.agent is not None:  # only when set: the identities of existing runs stay as they are
            fields["agent"] = self.agent.digest()
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def parse_override(text: str) -> tuple[list[str], Any]:
    """'sampling.samples_per_problem=200' -> (['sampling', 'samples_per_problem'], 200)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not KEY=VALUE (for example sampling.seed=3)")
    key, raw = text.split("=", 1)
    path = [part for part in key.strip().split(".") if part]
    if not path:
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: value is not valid YAML: {exc}") from exc
    return path, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part!r} is not a section")
            node = child
        node[path[-1]] = value
    return data


def _resolved(p: Path | None, base: Path) -> Path | None:
    return p if p is None or p.is_absolute() else (base / p).resolve()


def _resolve_paths(config: RunConfig, base: Path) -> RunConfig:
    def fix(p: Path | None) -> Path | None:
        return _resolved(p, base)

    dataset = config.dataset.model_copy(update={"path": fix(config.dataset.path), "fewshot_path": fix(config.dataset.fewshot_path),
                                                "ids_file": fix(config.dataset.ids_file)})
    model = config.model
    if isinstance(model, ReplayModelConfig):
        model = model.model_copy(update={"path": fix(model.path)})
    agent = config.agent.resolved(base) if config.agent is not None else None
    cost = config.cost
    if cost is not None:
        cost = resolve_cost_paths(cost, base)
    return config.model_copy(update={"dataset": dataset, "model": model, "agent": agent, "cost": cost})


def resolve_cost_paths(cost: CostConfig, base: Path) -> CostConfig:
    """The cost section's files, relative to `base` (the folder of the file that named them)."""
    return cost.model_copy(update={"prices": _resolved(cost.prices, base), "baselines": _resolved(cost.baselines, base)})


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid config"]
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"] if not str(part).startswith("function-after"))
        lines.append(f"  {loc or '(top level)'}: {err['msg']}")
    return "\n".join(lines)


def config_from_dict(data: dict[str, Any], source: str = "config", base: Path | None = None) -> RunConfig:
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    return _resolve_paths(config, base or Path.cwd())


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of fields")
    return data


def load_config(path: Path, overrides: list[str] | None = None) -> RunConfig:
    data = read_yaml_mapping(path)
    return config_from_dict(apply_overrides(data, overrides or []), str(path), path.parent.resolve())


def check_inputs_exist(config: RunConfig) -> None:
    """Fail before anything is written when an input file is missing."""
    named = {"dataset.fewshot_path": config.dataset.fewshot_path, "dataset.ids_file": config.dataset.ids_file}
    if config.dataset.path is not None and not config.dataset.path.exists():
        raise ConfigError(f"dataset.path: file not found: {config.dataset.path} (nor a task repo directory)")
    if isinstance(config.model, ReplayModelConfig):
        named["model.path"] = config.model.path
    if config.cost is not None:
        named |= {"cost.prices": config.cost.prices, "cost.baselines": config.cost.baselines}
    if config.agent is not None:
        named |= config.agent.input_files()
    for field, path in named.items():
        if path is not None and not path.is_file():
            raise ConfigError(f"{field}: file not found: {path}")


def load_cost_config(path: Path) -> CostConfig:
    """A cost section on its own (`monkeys report --cost FILE`); its paths resolve against FILE."""
    try:
        cost = CostConfig.model_validate(read_yaml_mapping(path))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
    return resolve_cost_paths(cost, path.parent.resolve())


def read_suite(path: Path) -> list[Path] | None:
    """The run configs a suite file lists (relative to it), or None when the file is a plain run config."""
    data = read_yaml_mapping(path)
    if "suite" not in data:
        return None
    entries = data["suite"]
    if set(data) != {"suite"} or not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise ConfigError(f"{path}: a suite file holds only `suite:`, a list of run config paths")
    return [(path.parent / entry).resolve() for entry in entries]
