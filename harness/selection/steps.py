"""The steps that need containers or a model, as factories for `Selector(extra_steps=...)`, and the
selector configs of a YAML file."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from harness.problems.base import DatasetError
from harness.selection.choice import Chooser, ModelChooser, ModelChoice, SimulatedChooser
from harness.selection.containers import GeneratedTest, WarmMatrix
from harness.selection.regression import RegressionFilter
from harness.selection.reproduction import ModelTestWriter, ReproductionRank, SimulatedTestWriter, TestWriter
from harness.selection.selectors import SelectionConfig, StepFactory

DEFAULT_SELECTORS = [{"choose": "majority_vote"}, {"choose": "reward_score"}, {"choose": "random"}]
MODEL_STEPS = ("reproduction_rank", "model_choice")


def extra_steps(*, writer: TestWriter | None = None, chooser: Chooser | None = None, tests_per_instance: int = 5,
                regression_timeout_s: float = 300.0, test_timeout_s: float = 120.0, workers: int = 2,
                matrix: Callable[[str], WarmMatrix] | None = None) -> dict[str, StepFactory]:
    steps: dict[str, StepFactory] = {
        "regression_filter": lambda c: RegressionFilter(timeout_s=regression_timeout_s)}
    if writer is not None:
        make = matrix or (lambda image: WarmMatrix(image, workers=workers, timeout_s=test_timeout_s))
        steps["reproduction_rank"] = lambda c: ReproductionRank(writer, tests_per_instance, make)
    if chooser is not None:
        steps["model_choice"] = lambda c: ModelChoice(chooser, c.top_k)
    return steps


def needs(config: SelectionConfig) -> set[str]:
    return {name for name in [*config.filters, config.choose]
            if name in ("regression_filter", "reproduction_rank", "model_choice")}


def load_configs(path: Path | None) -> list[SelectionConfig]:
    """The selectors of a YAML file (`selectors: [{filters: [...], choose: ...}, ...]`); defaults without one."""
    import yaml  # noqa: PLC0415

    if path is None:
        return [SelectionConfig(**spec) for spec in DEFAULT_SELECTORS]
    if not path.is_file():
        raise DatasetError(f"--config: not found: {path}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DatasetError(f"--config {path}: not valid YAML ({exc})") from None
    specs = document.get("selectors") if isinstance(document, dict) else None
    if not isinstance(specs, list) or not specs:
        raise DatasetError(f"--config {path}: expected `selectors:` with a list of selectors, e.g. "
                           "`selectors: [{filters: [regression_filter], choose: majority_vote}]`")
    configs = []
    for number, spec in enumerate(specs, 1):
        try:
            configs.append(SelectionConfig(**spec) if isinstance(spec, dict) else SelectionConfig.model_validate(spec))
        except ValueError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'selector'}: {e['msg']}"
                                 for e in getattr(exc, "errors", lambda: [])()) or str(exc)
            raise DatasetError(f"--config {path}, selector {number}: {problems} (filters: regression_filter, "
                               "reproduction_rank; choose: majority_vote, reward_score, model_choice, random, first)") from None
    return configs


def read_scripted_tests(path: Path) -> dict[str, list[GeneratedTest]]:
    """--simulated-tests: JSONL {instance_id, name, source}, the simulated test writer's script."""
    if not path.is_file():
        raise DatasetError(f"--simulated-tests: not found: {path}")
    tests: dict[str, list[GeneratedTest]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
                test = GeneratedTest(name=row["name"], source=row["source"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise DatasetError(f'{path}, line {number}: expected {{"instance_id": ..., "name": ..., '
                                   '"source": "<pytest file>"}') from None
            tests.setdefault(str(row["instance_id"]), []).append(test)
    return tests


def steps_for(configs: list[SelectionConfig], *, scripted: Path | None = None, url: str | None = None,
              model: str = "default", test_timeout_s: float = 120.0, tests_per_instance: int = 5) -> dict[str, StepFactory]:
    """The container and model steps the configs need: a real model at `url`, or THE SIMULATED MODEL
    writing `scripted` tests and choosing (said on stderr). Missing both for a model step: an error."""
    wanted = {name for config in configs for name in needs(config)}
    if test_timeout_s <= 0 or tests_per_instance < 1:
        raise DatasetError("--test-timeout must be > 0 and --tests-per-instance >= 1")
    options = {"test_timeout_s": test_timeout_s, "tests_per_instance": tests_per_instance}
    if url is not None:
        from harness.selection.http_model import ChatCompletion  # noqa: PLC0415

        complete = ChatCompletion(url, model)
        return extra_steps(writer=ModelTestWriter(complete), chooser=ModelChooser(complete), **options)
    if scripted is not None:
        print("monkeys select: the SIMULATED model (not a real one) writes the reproduction tests and chooses",
              file=sys.stderr)
        return extra_steps(writer=SimulatedTestWriter(read_scripted_tests(scripted)), chooser=SimulatedChooser(),
                           **options)
    missing = sorted(wanted & set(MODEL_STEPS))
    if missing:
        raise DatasetError(f"selectors use {', '.join(missing)}, which need a model: give --selection-model-url URL "
                           "(an OpenAI-compatible server) or --simulated-tests FILE (the simulated model, for demos)")
    return extra_steps()  # the regression filter needs no model


def check_images(pools: list, configs: list[SelectionConfig]) -> None:
    """Before any step runs: the image of every instance with a candidate is on the engine, when a
    selector runs tests (a missing image would otherwise end that selector half-way)."""
    if not any(needs(config) & {"regression_filter", "reproduction_rank"} for config in configs):
        return
    from docker.errors import ImageNotFound  # noqa: PLC0415

    from sandboxes.docker import docker_client  # noqa: PLC0415

    client = docker_client()
    missing = []
    for image in sorted({p.instance.image for p in pools
                          if p.instance.image and any(c.patch.strip() for c in p.candidates)}):
        try:
            client.images.get(image)
        except ImageNotFound:
            missing.append(image)
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise DatasetError(f"{len(missing)} instance image(s) are not on the Docker engine, and the selectors run "
                           f"tests in them: {shown}. Build them first (`monkeys images build --dataset DATASET`), "
                           "or use selectors without regression_filter / reproduction_rank")
