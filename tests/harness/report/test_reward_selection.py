"""Reward-model selection end to end: scored samples imported with `monkeys verify`, through the
store, into report.json and report.md. The expected numbers are worked out by hand below."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

GSM8K_ROWS = [
    {"question": "Ann has 3 apples and buys 4. How many?", "answer": "3+4=7\n#### 7"},
    {"question": "A box holds 1,200 pins; 200 are used. How many remain?", "answer": "1200-200\n#### 1,000"},
]
# Problem 0: one right answer scored 0.9, three copies of the wrong 8 scored 0.4 each.
# Problem 1: two right answers scored 0.3, a wrong 5 scored 0.9, a wrong 6 scored 0.1.
SCORED = [("0", "#### 7", 0.9), ("0", "#### 8", 0.4), ("0", "#### 8", 0.4), ("0", "#### 8", 0.4),
          ("1", "#### 1000", 0.3), ("1", "#### 1,000", 0.3), ("1", "#### 5", 0.9), ("1", "#### 6", 0.1)]


def verify(tmp_path: Path, samples: list[tuple[str, str, float | None]]) -> tuple[dict, str]:
    data = tmp_path / "gsm8k.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in GSM8K_ROWS))
    rows = [{"problem_id": pid, "completion": text} | ({} if score is None else {"score": score})
            for pid, text, score in samples]
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    assert main(["verify", "--task", "gsm8k", "--dataset", str(data), "--samples", str(path),
                 "--out", str(out), "--no-progress"]) == 0
    return json.loads((out / "report.json").read_text()), (out / "report.md").read_text()


def test_best_of_k_and_weighted_vote_match_the_hand_computation(tmp_path: Path) -> None:
    report, markdown = verify(tmp_path, SCORED)
    sel = report["statistics"]["selection"]
    assert sel["ks"] == [1, 2, 4] and sel["scored_attempts"] == 8 and sel["scores_note"] is None
    # best of k, exact. Problem 0: the 0.9 answer is in a random k-subset with chance k/4.
    # Problem 1: the top pick is the wrong 0.9 when it is drawn (chance k/4); otherwise a right
    # 0.3 beats the 0.1, except at k=1 where the lone draw is right with chance 2/3.
    #   k=1: (1/4 + 2/4) / 2;  k=2: (2/4 + (1 - 2/4)) / 2;  k=4: (1 + 0) / 2
    assert sel["best_of_k"] == pytest.approx([0.375, 0.5, 0.5], abs=1e-12)
    # Votes are averaged over random subsets, so only k=4, the whole set, is free of sampling noise. Majority: 8 beats 7 (3 to 1); the right
    # answer beats 5 and 6 (2 to 1 to 1). Weighted: 8 scores 1.2 > 0.9; 5 scores 0.9 > 0.6.
    assert sel["majority_vote"][2] == pytest.approx(0.5) and sel["weighted_vote"][2] == pytest.approx(0.0)
    assert sel["coverage"][2] == pytest.approx(1.0)
    assert "| k | coverage | majority vote | best of k (RM) | weighted vote (RM) |" in markdown
    assert "| 4 | 1.0000 | 0.5000 | 0.5000 | 0.0000 |" in markdown


def test_negative_scores_keep_best_of_k_and_leave_out_the_weighted_vote(tmp_path: Path) -> None:
    logits = [(pid, text, score - 1.0) for pid, text, score in SCORED]  # same order, some below 0
    report, markdown = verify(tmp_path, logits)
    sel = report["statistics"]["selection"]
    assert sel["best_of_k"] == pytest.approx([0.375, 0.5, 0.5], abs=1e-12)  # a shift keeps the ranking
    assert sel["weighted_vote"] is None and "below 0" in sel["scores_note"]
    assert "weighted vote (RM)" not in markdown and "below 0" in markdown


def test_partly_scored_samples_report_no_reward_model_columns_and_say_why(tmp_path: Path) -> None:
    partial = [(pid, text, None if i == 2 else score) for i, (pid, text, score) in enumerate(SCORED)]
    report, markdown = verify(tmp_path, partial)
    sel = report["statistics"]["selection"]
    assert sel["best_of_k"] is None and sel["weighted_vote"] is None
    assert sel["scored_attempts"] == 7 and "no reward-model score" in sel["scores_note"]
    assert "Reward-model scores on 7 of 8 attempts" in markdown


def test_unscored_samples_have_no_note(tmp_path: Path) -> None:
    report, markdown = verify(tmp_path, [(pid, text, None) for pid, text, _ in SCORED])
    sel = report["statistics"]["selection"]
    assert sel["scored_attempts"] == 0 and sel["scores_note"] is None and sel["best_of_k"] is None
    assert "Reward-model" not in markdown
