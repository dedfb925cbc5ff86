"""Fail closed (issue 12): without a working bubblewrap generated code does not run unless the
user opts in by a flag whose name says unsafe; in every mode that runs, verdicts are right,
also when Python lives under a directory other users cannot read (as root without a mount
namespace, jobs run as an unprivileged uid). Real sandboxes and the real CLI; bubblewrap is
hidden the way a machine without it looks (no `bwrap` on PATH)."""

import json
import os
import stat
from pathlib import Path

import pytest

from harness.cli import main
from sandboxes import isolation
from sandboxes.base import SandboxUnavailable
from harness.verifiers.code import HumanEvalVerifier
from harness.problems.datasets import SourceRow
from harness.problems.humaneval import problem_from_row
from harness.records import Candidate, VerdictStatus

ROWS = [
    {"task_id": "Iso/0", "prompt": "def add(a: int, b: int) -> int:\n    \"\"\" Sum. \"\"\"\n",
     "canonical_solution": "    return a + b\n", "entry_point": "add",
     "test": "\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n"},
    {"task_id": "Iso/162", "prompt": "def string_to_md5(text):\n    \"\"\" md5 hex digest, None for ''. \"\"\"\n",
     "canonical_solution": "    import hashlib\n    return hashlib.md5(text.encode('ascii')).hexdigest() if text else None\n",
     "entry_point": "string_to_md5",
     "test": "\n\ndef check(candidate):\n    assert candidate('Hello world') == '3e25960a79dbc69b674cd4ec67a72c62'\n"
             "    assert candidate('') is None\n"},
]
# modules no worker preloads: found on disk by the job itself
IMPORTS = ("json", "hashlib", "decimal", "fractions", "statistics", "datetime", "email.utils", "xml.dom.minidom")


def hide_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation, "find_tool", lambda name: None)


@pytest.fixture()
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    dataset, samples = tmp_path / "problems.jsonl", tmp_path / "samples.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    lines = [{"task_id": r["task_id"], "completion": r["canonical_solution"]} for r in ROWS]
    lines.append({"task_id": "Iso/0", "completion": "    return a - b\nimport sys\nsys.exit(0)\n"})
    samples.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return dataset, samples


def verify(inputs: tuple[Path, Path], out: Path, *extra: str) -> int:
    return main(["verify", "--task", "humaneval", "--dataset", str(inputs[0]), "--samples", str(inputs[1]),
                 "--out", str(out), "--no-progress", *extra])


def test_without_bubblewrap_the_run_stops_before_writing_anything(inputs, tmp_path, monkeypatch, capsys) -> None:
    hide_bwrap(monkeypatch)
    out = tmp_path / "run"
    assert verify(inputs, out) == 2
    err = capsys.readouterr().err
    assert "apt-get install -y bubblewrap" in err and "--unsafe-no-isolation" in err
    assert not out.exists()


def test_the_unsafe_opt_in_runs_with_right_verdicts(inputs, tmp_path, monkeypatch) -> None:
    hide_bwrap(monkeypatch)
    out = tmp_path / "run"
    assert verify(inputs, out, "--unsafe-no-isolation") == 0
    verdicts = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    by_sample = {(v["problem_id"], v["sample_index"]): v for v in verdicts}
    assert by_sample[("Iso/0", 0)]["passed"] and by_sample[("Iso/162", 0)]["passed"], verdicts
    assert not by_sample[("Iso/0", 1)]["passed"] and "SystemExit(0)" in by_sample[("Iso/0", 1)]["evidence"]


def python_is_unreadable_to_others() -> bool:
    import sys

    parts = os.path.realpath(sys.base_prefix).split("/")
    return any(os.stat("/".join(parts[:i]) or "/").st_mode & stat.S_IXOTH == 0 for i in range(2, len(parts) + 1))


@pytest.mark.parametrize("mode", ["bwrap", "unshare", "none"])
def test_canonical_solutions_and_imports_in_every_mode(mode: str) -> None:
    """HumanEval/162's shape (`import hashlib`) and modules no worker preloads, in each mode.
    Where this Python lives under a directory others cannot read (here: /root, 0700) and the
    harness runs as root, the fallback modes run jobs as an unprivileged uid: the case that
    once failed."""
    problems = [problem_from_row(SourceRow("p.jsonl", i + 1, i, row)) for i, row in enumerate(ROWS)]
    importer = problems[0].model_copy(update={"id": "Iso/imports"})
    body = "".join(f"    import {name}\n" for name in IMPORTS) + "    return a + b\n"
    items = [(p, Candidate(problem_id=p.id, key="c", content=p.data["prompt"] + p.data["canonical_solution"]))
             for p in problems]
    items.append((importer, Candidate(problem_id=importer.id, key="i", content=ROWS[0]["prompt"] + body)))
    verifier = HumanEvalVerifier(workers=1, isolation=mode, unsafe_no_isolation=mode != "bwrap")
    try:
        verdicts = list(verifier.verify_many(items))
    finally:
        verifier.close()
    assert [v.status for v in verdicts] == [VerdictStatus.PASSED] * 3, [v.evidence for v in verdicts]


def test_the_verifier_checks_isolation_before_anything_runs(monkeypatch) -> None:
    hide_bwrap(monkeypatch)
    with pytest.raises(SandboxUnavailable, match="apt-get install -y bubblewrap"):
        HumanEvalVerifier(workers=1).check_isolation()
    HumanEvalVerifier(workers=1, unsafe_no_isolation=True).check_isolation()


def test_monkeys_run_fails_closed_and_the_flag_opts_in(tmp_path, monkeypatch, capsys) -> None:
    hide_bwrap(monkeypatch)
    config = Path(__file__).resolve().parents[3] / "configs" / "demo_code.yaml"
    args = ["run", str(config), "--set", "sampling.samples_per_problem=4", "--set", "sampling.n_per_request=4",
            "--no-progress"]
    refused, allowed = tmp_path / "refused", tmp_path / "allowed"
    assert main([*args, "--out", str(refused)]) == 2
    assert "apt-get install -y bubblewrap" in capsys.readouterr().err and not refused.exists()
    assert main([*args, "--out", str(allowed), "--unsafe-no-isolation"]) == 0
    report = json.loads((allowed / "report.json").read_text())
    assert report["pass_at_k"]["1"] > 0
