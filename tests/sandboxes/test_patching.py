"""The one patch-apply chain (sandboxes.patching) in both sandboxes: the official harness's steps.

Each test runs in a LocalSandbox over a plain directory, one over a git repository, and a
DockerSandbox (the toy image, a committed file added in the container).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sandboxes.local import LocalSandbox
from sandboxes.patching import APPLY_STEPS, CHAIN_SCRIPT, RESET_BETWEEN_TRIES
from tests.sandboxes.hostile import require_bwrap

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
ORIGINAL = "".join(f"line{n}\n" for n in range(1, 41))

# Hunk 1 applies as it is; hunk 2's first and last four context lines match nothing in the
# file: GNU patch needs --fuzz=4 for it (3 is not enough), git apply refuses it.
NEEDS_FUZZ_4 = """--- a/m.txt
+++ b/m.txt
@@ -1,4 +1,4 @@
 line1
-line2
+LINE2
 line3
 line4
@@ -25,11 +25,11 @@
 XXline25
 XXline26
 XXline27
 XXline28
 line29
-line30
+LINE30
 line31
 XXline32
 XXline33
 XXline34
 XXline35
"""
ONLY_FUZZ_4 = "--- a/m.txt\n+++ b/m.txt\n@@ -25" + NEEDS_FUZZ_4.split("@@ -25", 1)[1]


@pytest.fixture(params=["local-plain", "local-git", "docker"])
def m_box(request, tmp_path: Path):
    """A sandbox whose working directory holds m.txt (40 lines), committed where it is a git tree."""
    if request.param == "docker":
        box = request.getfixturevalue("toy_box")
        box.write_file("m.txt", ORIGINAL)
        assert box.exec("git add m.txt && git -c user.name=t -c user.email=t@t commit -qm m").ok
        yield box
        return
    require_bwrap()
    (tmp_path / "m.txt").write_text(ORIGINAL)
    if request.param == "local-git":
        subprocess.run([*GIT, "init", "-q", str(tmp_path)], check=True)
        subprocess.run([*GIT, "-C", str(tmp_path), "add", "-A"], check=True)
        subprocess.run([*GIT, "-C", str(tmp_path), "commit", "-qm", "v1"], check=True)
    with LocalSandbox(tmp_path) as box:
        yield box


def _untracked_leftovers(box) -> list[str]:
    listing = box.exec(["sh", "-c", "ls -a | grep -E '\\.(rej|orig)$' || true"]).stdout
    return listing.split()


def test_steps_are_the_official_ones_in_order():
    # swebench 5.0.2 run_evaluation.GIT_APPLY_CMDS, and its reset between tries
    assert [command for _, command in APPLY_STEPS] == [
        "git apply --verbose", "git apply --verbose --3way", "git apply --verbose --reject",
        "patch --batch --forward --fuzz=5 -p1 -i"]
    assert RESET_BETWEEN_TRIES == "git checkout -- . ; git clean -fd" and RESET_BETWEEN_TRIES in CHAIN_SCRIPT


def test_a_hunk_that_needs_fuzz_4_applies_through_patch(m_box):
    result = m_box.apply_patch(ONLY_FUZZ_4)
    assert result.applied and result.method == "patch --fuzz", result.log
    text = m_box.read_file("m.txt").decode()
    assert "LINE30\n" in text and "line30\n" not in text
    assert _untracked_leftovers(m_box) == []


def test_after_reject_leaves_a_hunk_applied_the_next_try_starts_clean(m_box):
    # git apply --reject applies hunk 1, writes m.txt.rej for hunk 2 and fails. As in the
    # official harness the tree is reset before patch runs: otherwise patch --forward would
    # find hunk 1 "previously applied", skip it and fail.
    result = m_box.apply_patch(NEEDS_FUZZ_4)
    assert result.applied and result.method == "patch --fuzz", result.log
    assert ">>> git apply --reject" in result.log
    text = m_box.read_file("m.txt").decode()
    assert text.count("LINE2\n") == 1 and "LINE30\n" in text and "line2\n" not in text
    assert _untracked_leftovers(m_box) == []


def test_a_patch_no_step_applies_leaves_the_tree_as_it_was(m_box):
    hopeless = NEEDS_FUZZ_4.replace("-line30\n", "-nope30\n")  # hunk 2 removes a line the file lacks
    result = m_box.apply_patch(hopeless)
    assert not result.applied and result.method is None
    assert all(f">>> {method}" in result.log for method, _ in APPLY_STEPS), result.log
    assert m_box.read_file("m.txt").decode() == ORIGINAL  # hunk 1 was applied by --reject and patch: undone
    assert _untracked_leftovers(m_box) == []


def test_a_patch_already_in_the_tree_counts_as_applied(m_box):
    # In a git tree the reset between tries goes back to the index: "already there" means committed.
    assert m_box.apply_patch(ONLY_FUZZ_4.replace("XX", "")).applied
    m_box.exec(["sh", "-c", "git rev-parse --is-inside-work-tree 2>/dev/null && git -c user.name=t -c user.email=t@t "
                            "commit -qam fixed || true"])
    again = m_box.apply_patch(ONLY_FUZZ_4.replace("XX", ""))
    assert again.applied and again.method == "already applied (git apply --check --reverse)", again.log
