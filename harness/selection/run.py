"""`monkeys select`: pools -> selections -> predictions.jsonl and selection.json (what each step
kept and why). Grading the picks is the report's business (`harness.report.selection_eval`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.selection.pools import write_predictions
from harness.selection.records import Pool, Selection
from harness.selection.selectors import Selector, SelectionConfig, StepFactory


def run_selectors(pools: Sequence[Pool], configs: Sequence[SelectionConfig],
                  extra_steps: dict[str, StepFactory] | None = None) -> dict[str, list[Selection]]:
    results: dict[str, list[Selection]] = {}
    for config in configs:
        selector = Selector(config, extra_steps)
        results[config.label()] = [selector.select(pool) for pool in pools]
    return results


def total_cost(selections: Sequence[Selection]) -> dict[str, Any]:
    cost: dict[str, Any] = {"test_executions": 0, "container_s": 0.0, "prompt_tokens": 0, "completion_tokens": 0}
    for selection in selections:
        for key, value in selection.cost.model_dump().items():
            cost[key] += value
    return cost


def write_selection(pools: Sequence[Pool], configs: Sequence[SelectionConfig], out: Path, model_name: str,
                    extra_steps: dict[str, StepFactory] | None = None) -> tuple[dict[str, list[Selection]], dict[str, Path]]:
    """Every config run; the first one's picks go to predictions.jsonl, all of them to selection.json."""
    out.mkdir(parents=True, exist_ok=True)
    results = run_selectors(pools, configs, extra_steps)
    paths = {"predictions": out / "predictions.jsonl", "selection": out / "selection.json"}
    write_predictions(results[configs[0].label()], pools, paths["predictions"], model_name)
    detail = {name: [s.model_dump(mode="json") for s in chosen] for name, chosen in results.items()}
    paths["selection"].write_text(json.dumps(detail, indent=1), encoding="utf-8")
    return results, paths
