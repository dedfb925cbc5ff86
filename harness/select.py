"""Picking one answer out of many samples, without a verifier (majority vote; patches: harness.selection).

The caller decides the classes: attempts in one class count as one answer. For math,
correct attempts share a class and wrong ones are classed by their normalized answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def majority_classes(class_keys: Sequence[str | None]) -> list[str]:
    """The most frequent classes (several on a tie), in order of first appearance; None never votes."""
    counts = Counter(key for key in class_keys if key is not None)
    if not counts:
        return []
    top = max(counts.values())
    return [key for key, count in counts.items() if count == top]


def majority_vote(class_keys: Sequence[str | None], correct_key: str | None) -> float:
    """Expected accuracy of choosing the most frequent class, ties broken uniformly at random.

    None keys (no answer, model error) never vote. A tie between the correct class and one
    wrong class scores 0.5; no votes at all score 0.
    """
    winners = majority_classes(class_keys)
    if correct_key is None or correct_key not in winners:
        return 0.0
    return 1.0 / len(winners)
