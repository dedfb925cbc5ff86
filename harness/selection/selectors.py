"""Selectors: filters, then one vote or choice, named in a config.

A step sees a `Pool` (no hidden field: see `records`) and the indices still alive, and returns
a `StepRecord`. Filters narrow the alive set; a filter that would drop every candidate keeps
them all and says so (a selector must still submit something). The last step picks one.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from harness.select import majority_classes
from harness.selection.normalize import NO_OP_KEY, vote_key
from harness.selection.records import Pool, Selection, SelectionCost, StepRecord

FILTERS = ("regression_filter", "reproduction_rank")
CHOICES = ("majority_vote", "reward_score", "model_choice", "random", "first")


class SelectionConfig(BaseModel):
    """`filters` run in order; `choose` picks one of what is left."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    filters: list[Literal["regression_filter", "reproduction_rank"]] = Field(default_factory=list)
    choose: Literal["majority_vote", "reward_score", "model_choice", "random", "first"] = "majority_vote"
    top_k: int = Field(3, ge=1)  # model_choice: how many of the ranked candidates the model sees
    seed: int = 0

    def label(self) -> str:
        return self.name or "+".join([*self.filters, self.choose])


@runtime_checkable
class Step(Protocol):
    name: str

    def apply(self, pool: Pool, alive: list[int]) -> tuple[StepRecord, SelectionCost]: ...


@runtime_checkable
class UsesEarlierSteps(Protocol):
    """A step that reads what the earlier steps recorded (model choice reads test results)."""

    def see(self, records: list[StepRecord]) -> None: ...


def _tie_rng(pool: Pool, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{pool.instance.instance_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def voting_classes(pool: Pool, alive: Sequence[int]) -> dict[str, list[int]]:
    """Vote key -> alive candidate indices in that class. Empty patches never vote; patches that change
    nothing but scratch files at the root vote only when no other patch does."""
    by_index = {c.index: c for c in pool.candidates}
    classes: dict[str, list[int]] = {}
    for index in alive:
        key = vote_key(by_index[index].patch)
        if key is not None:
            classes.setdefault(key, []).append(index)
    if len(classes) > 1:
        classes.pop(NO_OP_KEY, None)
    return classes


def representative(pool: Pool, members: Sequence[int]) -> int:
    """The member of a vote class to submit: its most frequent exact text, the earliest on a tie
    (the class's members may differ in context lines or blob ids, which decide whether it applies)."""
    by_index = {c.index: c.patch for c in pool.candidates}
    counts = Counter(by_index[i] for i in members)
    return max(members, key=lambda i: (counts[by_index[i]], -i))


class MajorityVote:
    """The largest class of normalized patches; ties broken at random (seeded per instance)."""

    name = "majority_vote"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def apply(self, pool: Pool, alive: list[int]) -> tuple[StepRecord, SelectionCost]:
        classes = voting_classes(pool, alive)
        if not classes:
            return StepRecord(step=self.name, kept=[], notes=["no candidate votes"]), SelectionCost()
        keys = [key for key, members in classes.items() for _ in members]
        winners = [classes[key] for key in majority_classes(keys)]
        top = len(winners[0])
        chosen = _tie_rng(pool, self.seed).choice(winners)
        notes = [f"{len(classes)} classes; top class {top} of {sum(map(len, classes.values()))} votes"]
        if len(winners) > 1:
            notes.append(f"tie between {len(winners)} classes, broken at random")
        scores = {i: float(len(m)) for m in classes.values() for i in m}
        return StepRecord(step=self.name, kept=[representative(pool, chosen)], scores=scores, notes=notes), SelectionCost()


class RewardScore:
    """The candidate with the highest reward-model score; unscored candidates rank last."""

    name = "reward_score"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def apply(self, pool: Pool, alive: list[int]) -> tuple[StepRecord, SelectionCost]:
        scored = {c.index: c.score for c in pool.candidates if c.index in alive and c.score is not None
                  and c.patch.strip()}
        if not scored:
            record, cost = MajorityVote(self.seed).apply(pool, alive)
            record.notes.insert(0, "no attempt carries a reward score: majority vote instead")
            record.step = self.name
            return record, cost
        best = max(scored.values())
        tied = sorted(i for i, s in scored.items() if s == best)
        chosen = _tie_rng(pool, self.seed).choice(tied)
        return StepRecord(step=self.name, kept=[chosen], scores=dict(scored)), SelectionCost()


class RandomPick:
    """A uniformly random non-empty candidate (the baseline every selector is measured against)."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def apply(self, pool: Pool, alive: list[int]) -> tuple[StepRecord, SelectionCost]:
        nonempty = [c.index for c in pool.candidates if c.index in alive and c.patch.strip()]
        kept = [_tie_rng(pool, self.seed).choice(nonempty)] if nonempty else []
        return StepRecord(step=self.name, kept=kept), SelectionCost()


class FirstCandidate:
    name = "first"

    def apply(self, pool: Pool, alive: list[int]) -> tuple[StepRecord, SelectionCost]:
        nonempty = [c.index for c in pool.candidates if c.index in alive and c.patch.strip()]
        return StepRecord(step=self.name, kept=nonempty[:1]), SelectionCost()


StepFactory = Callable[[SelectionConfig], Step]


class Selector:
    """Runs a config's steps over pools. Steps needing containers or a model come as factories."""

    def __init__(self, config: SelectionConfig, extra_steps: dict[str, StepFactory] | None = None) -> None:
        self.config = config
        factories: dict[str, StepFactory] = {
            "majority_vote": lambda c: MajorityVote(c.seed), "reward_score": lambda c: RewardScore(c.seed),
            "random": lambda c: RandomPick(c.seed), "first": lambda c: FirstCandidate(),
            **(extra_steps or {}),
        }
        names = [*config.filters, config.choose]
        missing = [name for name in names if name not in factories]
        if missing:
            raise ValueError(f"selection steps {', '.join(missing)} need a test runner or a model "
                             "that this selector was not given")
        self.steps = [factories[name](config) for name in names]

    def select(self, pool: Pool) -> Selection:
        alive = [c.index for c in pool.candidates if c.patch.strip()]
        records: list[StepRecord] = []
        cost = SelectionCost()
        for step in self.steps:
            if not alive:
                break
            if isinstance(step, UsesEarlierSteps):
                step.see(records)
            record, step_cost = step.apply(pool, alive)
            cost = cost.add(step_cost)
            if not record.kept and step.name in FILTERS:
                record.notes.append("the filter dropped every candidate: all kept")
                record.kept = list(alive)
            records.append(record)
            alive = [i for i in alive if i in set(record.kept)]
        selected = alive[0] if alive else None
        return Selection(instance_id=pool.instance.instance_id, selected=selected, steps=records, cost=cost)


def vote_counts(pool: Pool) -> Counter[str]:
    return Counter({key: len(m) for key, m in voting_classes(pool, [c.index for c in pool.candidates]).items()})
