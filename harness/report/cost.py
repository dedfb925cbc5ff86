"""What repeated sampling costs, and what it costs to match a frontier model's single attempt.

- `run_cost_usd`, `charge_basis`: dollars for a run from its tokens or its measured GPU time,
  at the prices `harness.pricing` reads.
- `cost_table`: rows like Table 1 of Large Language Monkeys.
- `report_cost`: the cost section of report.json (harness.report.markdown renders it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.pricing import (
    ApiBasis,
    ApiPrice,
    CostBasis,
    CostInputs,
    GpuHoursBasis,
    GpuPrice,
    GpuThroughputBasis,
    PriceTable,
    ResolvedBaseline,
    find_price,
)
from harness.report.passk import Counts, k_grid, mean_pass_at_k, mean_pass_at_ks

_TOLERANCE = 1e-12  # coverage 72/300 computed as 0.23999999999999999 still reaches 0.24


# ---------------------------------------------------------------- dollars for a run


def run_cost_usd(prices: PriceTable, basis: CostBasis, prompt_tokens: int, completion_tokens: int) -> float:
    """Dollars for a whole run, from its token totals and the chosen basis."""
    if isinstance(basis, ApiBasis):
        price: ApiPrice = find_price(prices.apis, basis.api, "apis")
        return (prompt_tokens * price.input_usd_per_mtok + completion_tokens * price.output_usd_per_mtok) / 1e6
    gpu: GpuPrice = find_price(prices.gpus, basis.gpu, "gpus")
    if isinstance(basis, GpuHoursBasis):
        return basis.gpu_hours * gpu.usd_per_gpu_hour
    hours = completion_tokens / basis.tokens_per_second / 3600.0 * basis.n_gpus
    return hours * gpu.usd_per_gpu_hour


# ---------------------------------------------------------------- per attempt, per solve, to reach a baseline


def cost_summary(total_usd: float, ns: Counts, cs: Counts) -> dict[str, Any]:
    """Cost per attempt and per solved problem (solved: at least one attempt passed)."""
    attempts = int(sum(int(n) for n in ns))
    solved = sum(int(c) > 0 for c in cs)
    return {"total_usd": total_usd, "attempts": attempts,
            "per_attempt_usd": total_usd / attempts if attempts else None,
            "solved": solved, "per_solved_problem_usd": total_usd / solved if solved else None}


def attempts_to_reach(ns: Counts, cs: Counts, target: float) -> int | None:
    """Smallest k with coverage(k) >= target, k <= the smallest n; None when even that falls short.

    Coverage is nondecreasing in k, so a bisection needs about log2(n) evaluations.
    """
    lo, hi = 1, int(min(int(n) for n in ns))
    if hi < 1 or mean_pass_at_k(ns, cs, hi) < target - _TOLERANCE:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if mean_pass_at_k(ns, cs, mid) >= target - _TOLERANCE:
            hi = mid
        else:
            lo = mid + 1
    return lo


def cost_to_reach(ns: Counts, cs: Counts, target: float, cost_per_attempt: float | None) -> dict[str, Any] | None:
    """Attempts per problem, and dollars (None when the cost per attempt is unknown), for
    coverage to match a single-attempt score `target`."""
    k = attempts_to_reach(ns, cs, target)
    if k is None:
        return None
    problems = len(ns)
    per_problem = None if cost_per_attempt is None else k * cost_per_attempt
    return {"target": target, "k": k, "coverage_at_k": mean_pass_at_k(ns, cs, k), "per_problem_usd": per_problem,
            "total_usd": None if per_problem is None else per_problem * problems}


# ---------------------------------------------------------------- frontier baselines


def resolve_rate(resolved: Collection[str], instance_ids: Iterable[str]) -> float:
    """Share of the given instances a system resolved; ids outside the set are ignored."""
    instances = set(instance_ids)
    if not instances:
        raise ValueError("resolve_rate needs at least one instance id")
    return len(instances & set(resolved)) / len(instances)


# ---------------------------------------------------------------- Table 1


@dataclass(frozen=True)
class CostRow:
    system: str
    cost_per_attempt_usd: float
    attempts: int  # per instance
    solved: float  # fraction: pass@attempts, or the resolve rate of a single attempt
    n_instances: int

    @property
    def total_usd(self) -> float:
        return self.cost_per_attempt_usd * self.attempts * self.n_instances


def row_from_resolved(system: str, resolved: Collection[str], instance_ids: Sequence[str],
                      cost_per_attempt_usd: float) -> CostRow:
    """A single-attempt system: one attempt per instance, solved = its resolve rate."""
    return CostRow(system, cost_per_attempt_usd, 1, resolve_rate(resolved, instance_ids), len(set(instance_ids)))


def row_from_outcomes(system: str, ns: Counts, cs: Counts, attempts: int, cost_per_attempt_usd: float) -> CostRow:
    """A repeated-sampling system: solved = coverage (unbiased pass@attempts) over its instances."""
    return CostRow(system, cost_per_attempt_usd, attempts, mean_pass_at_k(ns, cs, attempts), len(ns))


def cost_table(rows: Iterable[CostRow]) -> list[dict[str, Any]]:
    """JSON-able rows: cost per attempt, attempts, percent solved, total cost (per attempt x attempts x instances)."""
    return [{"system": r.system, "cost_per_attempt_usd": r.cost_per_attempt_usd, "attempts": r.attempts,
             "percent_solved": 100.0 * r.solved, "n_instances": r.n_instances, "total_usd": r.total_usd}
            for r in rows]


# ---------------------------------------------------------------- what the run is charged for


def charge_basis(inputs: CostInputs, sampling_wall_s: float | None) -> CostBasis | str:
    """What the run is charged for, or why it cannot be charged (a GPU rate without a GPU time)."""
    if inputs.api is not None:
        return ApiBasis(api=inputs.api)
    gpu = inputs.gpu or ""
    if inputs.tokens_per_second is not None:
        return GpuThroughputBasis(gpu=gpu, tokens_per_second=inputs.tokens_per_second, n_gpus=inputs.n_gpus)
    if inputs.gpu_hours is not None:
        return GpuHoursBasis(gpu=gpu, gpu_hours=inputs.gpu_hours)
    if not sampling_wall_s:
        return ("no sampling time was measured (imported samples?); "
                "set cost.gpu_hours or cost.tokens_per_second to price GPU time")
    # Wall time while sampling is the time the GPUs were held, whether busy or not.
    return GpuHoursBasis(gpu=gpu, gpu_hours=inputs.n_gpus * sampling_wall_s / 3600.0)


def _price_table(inputs: CostInputs) -> PriceTable:
    if inputs.api is not None:
        return PriceTable(apis={inputs.api: inputs.price})
    return PriceTable(gpus={inputs.gpu or "": inputs.price})


def _basis_facts(inputs: CostInputs, basis: CostBasis | str, sampling_wall_s: float | None) -> dict[str, Any]:
    kind = {ApiBasis: "api", GpuHoursBasis: "gpu_hours", GpuThroughputBasis: "gpu_throughput"}
    facts: dict[str, Any] = {"kind": "unavailable" if isinstance(basis, str) else kind[type(basis)],
                             "price_name": inputs.api or inputs.gpu, "price": inputs.price.model_dump(),
                             "prices_file": inputs.prices_file}
    if inputs.gpu is not None:
        facts |= {"n_gpus": inputs.n_gpus, "sampling_wall_s": sampling_wall_s,
                  "gpu_hours_measured": inputs.gpu_hours is None and inputs.tokens_per_second is None}
    return facts | ({} if isinstance(basis, str) else basis.model_dump())


# ---------------------------------------------------------------- the report's cost section


def _baseline_entry(baseline: ResolvedBaseline, ns: Counts, cs: Counts, instance_ids: Sequence[str],
                    per_attempt: float | None) -> dict[str, Any]:
    rate = resolve_rate(baseline.resolved, instance_ids)
    own = None if baseline.cost_per_instance_usd is None else baseline.cost_per_instance_usd * len(instance_ids)
    return {"key": baseline.key, "name": baseline.name, "resolve_rate": rate,
            "resolved_in_run": len(set(baseline.resolved) & set(instance_ids)), "source": baseline.source,
            "cost_per_instance_usd": baseline.cost_per_instance_usd, "cost_source": baseline.cost_source,
            "total_usd": own, "to_reach": cost_to_reach(ns, cs, rate, per_attempt)}


def _table_ks(entries: list[dict[str, Any]], wanted: list[int], n_min: int, notes: list[str]) -> list[int]:
    """Attempts per problem at which the run appears in the table: the configured ones, else the
    fewest that match the best baseline it reaches, else all it has."""
    if wanted:
        too_many = [k for k in wanted if k > n_min]
        if too_many:
            notes.append(f"cost.table_attempts {too_many} left out: only {n_min} samples per problem")
        return [k for k in wanted if k <= n_min]
    reached = [e["to_reach"]["k"] for e in entries if e["to_reach"] is not None]
    return [max(reached) if reached else n_min]


def _section_rows(model: str, ns: Counts, cs: Counts, per_attempt: float | None, entries: list[dict[str, Any]],
                  ks: list[int], instance_ids: Sequence[str]) -> list[CostRow]:
    """Table 1 rows: this run at each of ks attempts, then each baseline's single attempt."""
    rows = [] if per_attempt is None else [row_from_outcomes(model, ns, cs, k, per_attempt) for k in ks]
    rows += [CostRow(e["name"], e["cost_per_instance_usd"], 1, e["resolve_rate"], len(instance_ids))
             for e in entries if e["cost_per_instance_usd"] is not None]
    return rows


def _cost_by_k(ns: Counts, cs: Counts, per_attempt: float | None) -> list[dict[str, Any]]:
    """Coverage against dollars at each k of the grid: the cost-against-coverage curve."""
    ks = k_grid(int(min(int(n) for n in ns)))
    return [{"k": k, "coverage": coverage, "per_problem_usd": None if per_attempt is None else k * per_attempt,
             "total_usd": None if per_attempt is None else k * per_attempt * len(ns)}
            for k, coverage in zip(ks, mean_pass_at_ks(ns, cs, ks))]


def _counts_and_tokens(measured: Sequence[Any]) -> tuple[list[int], list[int], int, int]:
    """n and c per problem, prompt and completion tokens in all: one pass over the attempts
    (a large run has millions)."""
    ns, cs, prompt, completion = [], [], 0, 0
    for problem in measured:
        passed = 0
        for a in problem.attempts:
            passed += a.passed
            prompt += a.prompt_tokens
            completion += a.completion_tokens
        ns.append(len(problem.attempts))
        cs.append(passed)
    return ns, cs, prompt, completion


def report_cost(problems: Sequence[Any], model: str, inputs: CostInputs, sampling_wall_s: float | None) -> dict[str, Any]:
    """The JSON-able cost section from ProblemOutcome-like objects (`problem_id`, `attempts` with
    `passed`, `prompt_tokens`, `completion_tokens`); problem ids are the instance ids baselines
    are scored on."""
    measured = [p for p in problems if len(p.attempts) > 0]
    ns, cs, prompt, completion = _counts_and_tokens(measured)
    basis = charge_basis(inputs, sampling_wall_s)
    if isinstance(basis, str):
        summary = cost_summary(0.0, ns, cs) | {"total_usd": None, "per_attempt_usd": None, "per_solved_problem_usd": None}
    else:
        summary = cost_summary(run_cost_usd(_price_table(inputs), basis, prompt, completion), ns, cs)
    section = summary | {"basis": _basis_facts(inputs, basis, sampling_wall_s),
                         "unavailable": basis if isinstance(basis, str) else None,
                         "baselines": [], "table": [], "by_k": [], "notes": []}
    if not measured:
        return section
    ids = [p.problem_id for p in measured]
    entries = [_baseline_entry(b, ns, cs, ids, summary["per_attempt_usd"]) for b in inputs.baselines]
    section["notes"] += [f"baseline {e['name']}: none of its resolved instances is in this run (another benchmark?)"
                         for e in entries if e["resolved_in_run"] == 0]
    ks = _table_ks(entries, inputs.table_attempts, min(ns), section["notes"])
    rows = _section_rows(model, ns, cs, summary["per_attempt_usd"], entries, ks, ids)
    return section | {"baselines": entries, "table": cost_table(rows), "by_k": _cost_by_k(ns, cs, summary["per_attempt_usd"])}
