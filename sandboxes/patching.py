"""The patch-apply chain of both sandboxes: the official SWE-bench harness's, step for step.

swebench 5.0.2 (`swebench.harness.run_evaluation.GIT_APPLY_CMDS` and `run_instance`) tries, in
the working directory, in this order:

    git apply --verbose PATCH
    git apply --verbose --3way PATCH
    git apply --verbose --reject PATCH
    patch --batch --forward --fuzz=5 -p1 -i PATCH

and before every try but the first runs `git checkout -- . ; git clean -fd` (a failed try, notably
`--reject`, leaves hunks applied and `.rej` files behind: the next starts from the index's tree,
without untracked files). The first try that exits 0 wins. When none does, the tree is left as the
last try left it and `git apply --check --reverse PATCH` decides: the patch is there already
(counted as applied) or it failed. The chain here runs those same commands in the same order with
the same reset; `CHAIN_SCRIPT` is the one implementation, a bash script run through the sandbox's
own `exec` (DockerSandbox in its container, LocalSandbox in its isolated worker).

What it adds, none of which changes which patches apply:
- a patch that surely fails every step (blank, NUL bytes, only binary parts, not a diff; see
  `harness.problems.patches.patch_problem`) is refused without running anything (`refusal`). A
  patch of zero bytes is not refused: the official chain's last step, `patch`, reads empty input
  as nothing to do and exits 0, so the official harness runs the tests on the unchanged tree;
  the chain here does the same (a blank patch of spaces or newlines fails every step there too);
- a patch whose last line lacks its newline gets one (git calls it corrupt otherwise); kept from
  the earlier chains, whose tests require it — the official harness fails such a patch;
- a `--3way` result is left unstaged (`git reset -q`), like every other step's;
- `.orig` backups that `patch` makes of fuzzed files are removed (the official tree keeps them);
- outside a git work tree (a code task's directory), the reset between tries restores the files
  the patch names from a backup instead; a failed chain restores them too, in git trees as well,
  so a refused patch leaves the tree as it was;
- `refresh_index`: LocalSandbox's tree is a copy (new inodes, owners), whose index's stat data
  would make `--3way` take every file for modified; it is refreshed first. An image's index is
  left as built, as the official harness leaves it.
"""

from __future__ import annotations

import re
from typing import Protocol

from harness.problems.patches import patch_problem, touched_paths
from sandboxes.base import ExecResult, PatchResult

# (method as reported, the official command without its patch file argument)
APPLY_STEPS: tuple[tuple[str, str], ...] = (
    ("git apply", "git apply --verbose"),
    ("git apply --3way", "git apply --verbose --3way"),
    ("git apply --reject", "git apply --verbose --reject"),
    ("patch --fuzz", "patch --batch --forward --fuzz=5 -p1 -i"),
)
ALREADY_APPLIED = "already applied (git apply --check --reverse)"
RESET_BETWEEN_TRIES = "git checkout -- . ; git clean -fd"
APPLIED_MARK = "@@monkeys-applied: "
CHAIN_TIMEOUT_S = 600.0

_STEPS_SH = "\n".join(f'try_step "{method}" {command} "$patch_file"' for method, command in APPLY_STEPS)

# argv: scratch parent directory, refresh the index (0/1), the paths the patch names; patch on stdin.
CHAIN_SCRIPT = r"""
set -u
parent=${1:-${TMPDIR:-/tmp}}; refresh=$2; shift 2
mkdir -p "$parent" && scratch=$(mktemp -d "$parent/apply.XXXXXX") || { echo "no scratch directory in $parent"; exit 3; }
trap 'rm -rf "$scratch"' EXIT
patch_file=$scratch/candidate.diff
cat > "$patch_file"
paths=("$@")
saved=()
for p in "${paths[@]}"; do saved+=("$p" "$p.rej" "$p.orig"); done
had_orig=" "
for p in "${paths[@]}"; do [ -e "$p.orig" ] && had_orig+="$p.orig "; done
tar -cf "$scratch/files.tar" --ignore-failed-read -- "${saved[@]}" 2>/dev/null
in_git=0; index=""
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    in_git=1
    index=$(git rev-parse --git-path index 2>/dev/null) || index=""
    if [ "$refresh" = 1 ]; then git update-index -q --refresh >/dev/null 2>&1; fi
    if [ -n "$index" ] && [ -f "$index" ]; then cp "$index" "$scratch/index"; fi
fi
new_dirs=()  # directories a try may create for new files: removed again on restore
for p in "${paths[@]}"; do
    d=$(dirname -- "$p")
    while [ "$d" != . ] && [ ! -e "$d" ]; do new_dirs+=("$d"); d=$(dirname -- "$d"); done
done
restore() {
    rm -rf -- "${saved[@]}"
    tar -xf "$scratch/files.tar" 2>/dev/null
    if [ -f "$scratch/index" ]; then cp "$scratch/index" "$index"; fi
    printf '%s\n' "${new_dirs[@]}" | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2- |
        while IFS= read -r d; do [ -n "$d" ] && rmdir -- "$d" 2>/dev/null; done
    true
}
between() {
    if [ "$in_git" = 1 ]; then RESET; else restore; fi
} >/dev/null 2>&1
tries=0
try_step() {
    local method=$1; shift
    [ "$tries" -gt 0 ] && between
    tries=$((tries + 1))
    echo ">>> $method: $*"
    "$@" 2>&1 || return 0
    if [ "$method" = "git apply --3way" ]; then git reset -q >/dev/null 2>&1; fi
    for p in "${paths[@]}"; do
        case "$had_orig" in *" $p.orig "*) ;; *) rm -f -- "$p.orig";; esac
    done
    echo "APPLIED_MARK$method"; exit 0
}
STEPS
echo ">>> git apply --check --reverse"
if git apply --check --reverse "$patch_file" 2>&1; then echo "APPLIED_MARKALREADY"; exit 0; fi
between
restore
exit 1
""".replace("RESET", RESET_BETWEEN_TRIES).replace("STEPS", _STEPS_SH).replace("APPLIED_MARK", APPLIED_MARK).replace("ALREADY", ALREADY_APPLIED)


class Runs(Protocol):
    """What the chain needs of a sandbox: its exec."""

    def exec(self, command: list[str], *, timeout_s: float | None = None, stdin: str | None = None,
             workdir: str | None = None) -> ExecResult: ...


def refusal(patch: str) -> str | None:
    """Why the official chain surely fails on `patch` (then nothing runs), or None."""
    if patch == "":  # `patch` takes zero bytes as nothing to do (exit 0): applied, as in the official harness
        return None
    return patch_problem(patch)


def apply_chain(box: Runs, patch: str, *, scratch: str, refresh_index: bool = False,
                timeout_s: float = CHAIN_TIMEOUT_S) -> PatchResult:
    """Runs the chain in `box`'s working directory; says which step applied the patch, or why none did."""
    problem = refusal(patch)
    if problem is not None:
        return PatchResult(applied=False, method=None, log=f"rejected: {problem}")
    if patch and not patch.endswith("\n"):
        patch += "\n"
    argv = ["bash", "-c", CHAIN_SCRIPT, "apply-chain", scratch, "1" if refresh_index else "0", *touched_paths(patch)]
    result = box.exec(argv, stdin=patch, timeout_s=timeout_s)
    log = result.stdout + result.stderr
    found = re.search(rf"^{re.escape(APPLIED_MARK)}(.+)$", log, re.MULTILINE)
    if result.ok and found:
        return PatchResult(applied=True, method=found.group(1), log=log.replace(found.group(0) + "\n", ""))
    reason = "timed out" if result.timed_out else "no method applied it"
    return PatchResult(applied=False, method=None, log=f"{log}\nfailed: {reason}")
