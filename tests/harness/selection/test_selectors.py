import pytest
from pydantic import ValidationError

from harness.selection.records import CandidatePatch, Pool, PublicInstance
from harness.selection.selectors import MajorityVote, RandomPick, RewardScore, SelectionConfig, Selector
from tests.harness.selection.test_normalize import diff

FIX = diff("m.py", ["    return a"], ["    return a + 1"])
FIX_REFORMATTED = diff("m.py", ["    return a"], ["    return (a+1)  # fixed"], start=9)
WRONG = diff("m.py", ["    return a"], ["    return a - 1"])
OTHER = diff("m.py", ["    return a"], ["    return 0"])


def pool(*patches: str, scores: list[float | None] | None = None, iid: str = "r__r-1") -> Pool:
    scores = scores or [None] * len(patches)
    return Pool(instance=PublicInstance(instance_id=iid),
                candidates=tuple(CandidatePatch(index=i, patch=p, score=s) for i, (p, s) in enumerate(zip(patches, scores))))


def test_public_instance_cannot_hold_hidden_fields():
    row = {"instance_id": "a__b-1", "repo": "a/b", "problem_statement": "bug", "FAIL_TO_PASS": "[]",
           "PASS_TO_PASS": "[]", "test_patch": "diff", "patch": "gold"}
    instance = PublicInstance.of_row(row)
    assert not {"FAIL_TO_PASS", "PASS_TO_PASS", "test_patch", "patch"} & set(instance.model_dump())
    with pytest.raises(ValidationError):
        PublicInstance(instance_id="x", test_patch="diff")


def test_majority_vote_counts_normalized_patches():
    # WRONG appears twice verbatim, the fix three times in two spellings: the fix wins
    p = pool(WRONG, FIX, WRONG, FIX_REFORMATTED, FIX, "")
    record, _ = MajorityVote().apply(p, [0, 1, 2, 3, 4, 5])
    assert record.kept[0] in {1, 3, 4}
    assert Selector(SelectionConfig(choose="majority_vote")).select(p).selected in {1, 3, 4}


def test_ties_are_broken_at_random_but_reproducibly():
    picks = {Selector(SelectionConfig(choose="majority_vote", seed=s)).select(pool(FIX, WRONG, OTHER, iid=f"i-{s}")).selected
             for s in range(30)}
    assert picks == {0, 1, 2}
    again = Selector(SelectionConfig(choose="majority_vote", seed=3)).select(pool(FIX, WRONG, OTHER, iid="i-3"))
    assert again.selected == Selector(SelectionConfig(choose="majority_vote", seed=3)).select(
        pool(FIX, WRONG, OTHER, iid="i-3")).selected


def test_reward_score_picks_the_highest_score_and_falls_back_to_vote():
    assert RewardScore().apply(pool(FIX, WRONG, OTHER, scores=[0.1, 0.9, None]), [0, 1, 2])[0].kept == [1]
    record, _ = RewardScore().apply(pool(WRONG, FIX, FIX), [0, 1, 2])
    assert record.kept[0] in {1, 2} and "no attempt carries a reward score" in record.notes[0]


def test_no_candidate_selects_nothing():
    for choose in ("majority_vote", "reward_score", "random", "first"):
        assert Selector(SelectionConfig(choose=choose)).select(pool("", "  ")).selected is None
    assert RandomPick().apply(pool("", FIX), [0, 1])[0].kept == [1]


def test_steps_needing_containers_or_a_model_must_be_given():
    with pytest.raises(ValueError, match="regression_filter"):
        Selector(SelectionConfig(filters=["regression_filter"]))
    with pytest.raises(ValidationError):
        SelectionConfig(choose="best_guess")


def test_the_submitted_member_of_a_class_is_its_most_frequent_text():
    # three votes for the fix: one spelling once (first), the other twice; the twice-seen text is submitted
    p = pool(WRONG, FIX_REFORMATTED, FIX, WRONG, FIX)
    assert Selector(SelectionConfig(choose="majority_vote")).select(p).selected == 2


def test_patches_that_only_add_scratch_scripts_vote_only_when_nothing_else_does():
    script = ("diff --git a/reproduce.py b/reproduce.py\nnew file mode 100644\n--- /dev/null\n+++ b/reproduce.py\n"
              "@@ -0,0 +1,1 @@\n+print({n})\n")
    scratch = [script.format(n=n) for n in range(3)]  # three agents that wrote a script and no fix
    assert Selector(SelectionConfig(choose="majority_vote")).select(pool(*scratch, WRONG, FIX)).selected in (3, 4)
    assert Selector(SelectionConfig(choose="majority_vote")).select(pool(*scratch, "")).selected in (0, 1, 2)
