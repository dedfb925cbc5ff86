#!/usr/bin/env python3
"""Every canonical solution must pass: HumanEval (164) and MBPP+ (378), in each isolation mode.

    python scripts/check_canonical.py                       # bwrap, unshare and none (the last two: unsafe opt-in)
    python scripts/check_canonical.py --modes bwrap --humaneval PATH --mbpp PATH

A check by hand (the data is not in the repository: ../shared/data by default). As root, the
unshare and none modes run jobs as an unprivileged uid with the host's filesystem: where this
Python lives under a directory other users cannot read (/root, 0700), they exercise the
case in which HumanEval/162 (`import hashlib`) once failed. Prints the failures and a
summary line per dataset and mode; exit 1 if any canonical solution did not pass.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.problems import humaneval, mbpp  # noqa: E402
from harness.problems.datasets import read_file_rows  # noqa: E402
from harness.records import Candidate, VerdictStatus  # noqa: E402
from harness.verifiers.code import HumanEvalVerifier, MBPPVerifier  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def items(kind: str, path: Path) -> list:
    out = []
    for row in read_file_rows(path):
        if kind == "humaneval":
            problem = humaneval.problem_from_row(row)
            code = problem.data["prompt"] + problem.data["canonical_solution"]
        else:
            problem = mbpp.problem_from_row(row)
            code = mbpp.mbpp_spec(problem.data).reference
        out.append((problem, Candidate(problem_id=problem.id, key=code, content=code)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--humaneval", type=Path, default=DATA / "humaneval" / "HumanEval.jsonl.gz")
    parser.add_argument("--mbpp", type=Path, default=DATA / "mbpp_plus" / "MbppPlus.jsonl.gz")
    parser.add_argument("--modes", nargs="+", default=["bwrap", "unshare", "none"])
    args = parser.parse_args()
    failed = 0
    for kind, path, verifier_class in (("humaneval", args.humaneval, HumanEvalVerifier), ("mbpp", args.mbpp, MBPPVerifier)):
        batch = items(kind, path)
        for mode in args.modes:
            verifier = verifier_class(isolation=mode, unsafe_no_isolation=mode != "bwrap")
            start = time.perf_counter()
            verdicts = list(verifier.verify_many(batch))
            seconds = time.perf_counter() - start
            isolation = verifier.pool().isolation
            verifier.close()
            bad = [(p.id, v) for (p, _), v in zip(batch, verdicts, strict=True) if v.status is not VerdictStatus.PASSED]
            for problem_id, verdict in bad:
                print(f"  {kind} {mode} {problem_id}: {verdict.status.value}: {verdict.evidence[:300]}")
            print(f"{kind} {mode}: {len(batch) - len(bad)}/{len(batch)} canonical solutions passed in {seconds:.1f} s "
                  f"({isolation})")
            failed += len(bad)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
