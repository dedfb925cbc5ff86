"""What a run is priced against: price tables, frontier baselines, and a run config's `cost:`
section with its files read (`CostInputs`, kept in the run store).

- Prices (`configs/prices.yaml`): hosted APIs per million input and output tokens; local GPUs
  per GPU-hour, charged for measured GPU time or for tokens over measured throughput.
- Baselines (`configs/baselines.yaml`): single-attempt systems, each a per-instance `resolved`
  list in the SWE-bench experiments format plus a cost per instance, each with its source.

Errors name the YAML file and field, like run configs do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.config import ConfigError, CostConfig, read_yaml_mapping


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- prices


class ApiPrice(_Strict):
    input_usd_per_mtok: float = Field(ge=0)
    output_usd_per_mtok: float = Field(ge=0)
    source: str = Field(min_length=1)
    as_of: str = Field(min_length=1)


class GpuPrice(_Strict):
    usd_per_gpu_hour: float = Field(gt=0)
    source: str = Field(min_length=1)
    as_of: str | None = None


class PriceTable(_Strict):
    apis: dict[str, ApiPrice] = Field(default_factory=dict)
    gpus: dict[str, GpuPrice] = Field(default_factory=dict)


class ApiBasis(_Strict):
    """Charge the run's prompt and completion tokens at a hosted API's list price."""

    api: str


class GpuHoursBasis(_Strict):
    """Charge measured GPU time (GPU-hours summed over GPUs) at an hourly rate."""

    gpu: str
    gpu_hours: float = Field(gt=0)


class GpuThroughputBasis(_Strict):
    """Charge the GPU time the completion tokens take at a measured throughput.

    tokens_per_second: completion tokens per second for the whole deployment of n_gpus
    (prefill of the shared prompt is cheap next to decoding many samples, so it is not counted).
    """

    gpu: str
    tokens_per_second: float = Field(gt=0)
    n_gpus: int = Field(default=1, ge=1)


CostBasis = ApiBasis | GpuHoursBasis | GpuThroughputBasis


def _validation_message(exc: ValidationError, source: str, what: str) -> str:
    lines = [f"{source}: invalid {what}"]
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"])
        lines.append(f"  {loc or '(top level)'}: {err['msg']}")
    return "\n".join(lines)


def prices_from_dict(data: dict[str, Any], source: str = "prices") -> PriceTable:
    try:
        return PriceTable.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, source, "price table")) from None


def load_prices(path: Path) -> PriceTable:
    """Read a price table; a bad value raises ConfigError naming e.g. `apis.gpt-4o.input_usd_per_mtok`."""
    return prices_from_dict(read_yaml_mapping(Path(path)), str(path))


def basis_from_dict(data: dict[str, Any], source: str = "cost") -> CostBasis:
    """`{api: NAME}`, `{gpu: NAME, gpu_hours: H}` or `{gpu: NAME, tokens_per_second: T[, n_gpus: G]}`."""
    kinds: list[type[BaseModel]] = [ApiBasis, GpuHoursBasis, GpuThroughputBasis]
    kind = ApiBasis if "api" in data else GpuHoursBasis if "gpu_hours" in data else GpuThroughputBasis
    if "api" in data and "gpu" in data:
        raise ConfigError(f"{source}: give either `api` or `gpu`, not both")
    try:
        return kind.model_validate(data)  # type: ignore[return-value]
    except ValidationError as exc:
        names = ", ".join(k.__name__ for k in kinds)
        raise ConfigError(_validation_message(exc, source, f"cost basis (one of {names})")) from None


def find_price(table: dict[str, Any], name: str, section: str) -> Any:
    """The entry `name` of a price table section; ConfigError listing the known names when absent."""
    if name not in table:
        known = ", ".join(sorted(table)) or "none"
        raise ConfigError(f"{section}: no price for {name!r} (known: {known})")
    return table[name]


# ---------------------------------------------------------------- frontier baselines


class Baseline(_Strict):
    name: str = Field(min_length=1)
    resolved: Path  # per-instance results; relative paths resolve against the YAML's folder
    cost_per_instance_usd: float | None = Field(default=None, ge=0)
    source: str = Field(min_length=1)  # where the resolved list came from
    cost_source: str | None = None  # where the cost came from


class BaselineTable(_Strict):
    baselines: dict[str, Baseline]


def load_resolved(path: Path) -> frozenset[str]:
    """Instance ids a system resolved: SWE-bench experiments results ({"resolved": [...]}) or a bare list."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"resolved list not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    ids = data.get("resolved") if isinstance(data, dict) else data
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ConfigError(f"{path}: `resolved` must be a list of instance ids")
    return frozenset(ids)


def load_baselines(path: Path) -> dict[str, Baseline]:
    """Baselines by key, their `resolved` paths made absolute (not read yet: see load_resolved)."""
    path = Path(path)
    try:
        table = BaselineTable.model_validate(read_yaml_mapping(path))
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, str(path), "baselines file")) from None
    base = path.parent.resolve()
    return {key: b.model_copy(update={"resolved": (base / b.resolved).resolve()})
            for key, b in table.baselines.items()}


# ---------------------------------------------------------------- what a run stores


class ResolvedBaseline(_Strict):
    """A baseline with its resolved list read, as a run stores it."""

    key: str
    name: str
    source: str
    cost_per_instance_usd: float | None = None
    cost_source: str | None = None
    resolved_file: str
    resolved: list[str]


class CostInputs(_Strict):
    """A run's cost section with its files read. The run store keeps it (meta `cost`), so
    `monkeys report` prices the run from the store alone, whatever happened to the files since."""

    prices_file: str
    api: str | None = None
    gpu: str | None = None
    price: ApiPrice | GpuPrice  # the one entry of the price table the run is charged at
    n_gpus: int = 1
    gpu_hours: float | None = None
    tokens_per_second: float | None = None
    baselines: list[ResolvedBaseline] = Field(default_factory=list)
    table_attempts: list[int] = Field(default_factory=list)


def read_cost_inputs(config: CostConfig) -> CostInputs:
    """Read the price entry and the baselines a cost section names; ConfigError names what is wrong."""
    prices = load_prices(config.prices)
    if config.api is not None:
        price: ApiPrice | GpuPrice = find_price(prices.apis, config.api, f"cost.api ({config.prices})")
    else:
        price = find_price(prices.gpus, config.gpu or "", f"cost.gpu ({config.prices})")
    baselines = {} if config.baselines is None else load_baselines(config.baselines)
    return CostInputs(
        prices_file=str(config.prices), api=config.api, gpu=config.gpu, price=price, n_gpus=config.n_gpus,
        gpu_hours=config.gpu_hours, tokens_per_second=config.tokens_per_second,
        baselines=[ResolvedBaseline(key=key, name=b.name, source=b.source, cost_per_instance_usd=b.cost_per_instance_usd,
                                    cost_source=b.cost_source, resolved_file=str(b.resolved),
                                    resolved=sorted(load_resolved(b.resolved)))
                   for key, b in baselines.items()],
        table_attempts=config.table_attempts,
    )
