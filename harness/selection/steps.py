"""The steps that need containers or a model, as factories for `Selector(extra_steps=...)`."""

from __future__ import annotations

from collections.abc import Callable

from harness.selection.choice import Chooser, ModelChoice
from harness.selection.containers import WarmMatrix
from harness.selection.regression import RegressionFilter
from harness.selection.reproduction import ReproductionRank, TestWriter
from harness.selection.selectors import SelectionConfig, StepFactory


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
