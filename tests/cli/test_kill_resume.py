"""`monkeys run` killed with SIGKILL half way, then resumed, ends where an uninterrupted run does."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
name: killme
task: gsm8k
dataset: {{path: {data}}}
model: {{backend: simulated}}
sampling: {{samples_per_problem: 3000, n_per_request: 3, seed: 11}}
verify: {{workers: 2}}
"""


def _sigint_default() -> None:
    # a suite started in the background by a non-interactive shell inherits SIGINT ignored, and
    # the child would keep ignoring the Ctrl-C these tests send
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def monkeys(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *args, "--no-progress"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_default)


def stored_attempts(run_dir: Path) -> int:
    return stored_rows(run_dir, "attempts")


def stored_rows(run_dir: Path, table: str) -> int:
    try:
        with sqlite3.connect(run_dir / "run.sqlite", timeout=1) as db:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        return 0


def start_and_wait_for_attempts(config: Path, run_dir: Path, count: int) -> subprocess.Popen:
    """Start `monkeys run` and return once at least `count` attempts are stored (it is still running)."""
    proc = monkeys("run", str(config), "--out", str(run_dir))
    deadline = time.monotonic() + 120
    while stored_attempts(run_dir) < count and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be stopped; make it longer"
    return proc


def write_config(tmp_path: Path) -> Path:
    data = tmp_path / "problems.jsonl"
    data.write_text("".join(json.dumps({"question": f"What is {i} + {i}?", "answer": f"{i}+{i}\n#### {2 * i}"}) + "\n"
                            for i in range(20)))
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG.format(data=data))
    return config


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    config = write_config(tmp_path)
    killed = tmp_path / "killed"
    proc = start_and_wait_for_attempts(config, killed, 4000)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = stored_attempts(killed)
    assert 0 < at_kill < 20 * 3000

    resumed = monkeys("run", str(config), "--out", str(killed))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    whole = monkeys("run", str(config), "--out", str(tmp_path / "whole"))
    out, err = whole.communicate(timeout=300)
    assert whole.returncode == 0, err

    got = (killed / "verdicts.jsonl").read_text().splitlines()
    assert len(got) == 20 * 3000
    assert got == (tmp_path / "whole" / "verdicts.jsonl").read_text().splitlines()
    report = json.loads((killed / "report.json").read_text())
    assert report["pass_at_k"] == json.loads((tmp_path / "whole" / "report.json").read_text())["pass_at_k"]


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path):
    config = write_config(tmp_path)
    run_dir = tmp_path / "interrupted"
    proc = start_and_wait_for_attempts(config, run_dir, 4000)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Run the same command again to resume" in err
    assert 0 < stored_attempts(run_dir) < 20 * 3000

    resumed = monkeys("run", str(config), "--out", str(run_dir))
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert len((run_dir / "verdicts.jsonl").read_text().splitlines()) == 20 * 3000


def test_sigkill_while_sampling_and_verifying_then_resume_equals_uninterrupted(tmp_path):
    """Streaming: killed once verdicts are stored and sampling is still going, then resumed; and the
    same run in the sequential order (verify.streaming: false) gives the same verdicts."""
    check_kill_resume_equals_sequential(tmp_path, write_config(tmp_path), verdicts_first=20, total=20 * 3000)


CODE_CONFIG = """
name: killcode
task: humaneval
dataset: {{path: {data}}}
model: {{backend: simulated, seconds_per_request: 0.02}}
sampling: {{samples_per_problem: 200, n_per_request: 5, seed: 4}}
verify: {{workers: 2}}
"""


def test_sigkill_while_a_batch_verifier_streams_then_resume_equals_uninterrupted(tmp_path):
    """Streaming with a batch verifier (programs in the sandbox pool, several calls at once): killed once
    verdicts are stored and sampling goes on, resumed, and compared with the sequential order."""
    config = tmp_path / "code.yaml"
    config.write_text(CODE_CONFIG.format(data=ROOT / "configs/data/demo_code.jsonl"))
    check_kill_resume_equals_sequential(tmp_path, config, verdicts_first=10, total=8 * 200)


def check_kill_resume_equals_sequential(tmp_path: Path, config: Path, verdicts_first: int, total: int) -> None:
    """SIGKILL once `verdicts_first` verdicts are stored while sampling goes on, resume, and compare the
    verdicts line for line with the same run in the sequential order (verify.streaming: false)."""
    killed = tmp_path / "killed"
    proc = monkeys("run", str(config), "--out", str(killed))
    deadline = time.monotonic() + 120
    while stored_rows(killed, "verdicts") < verdicts_first and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be stopped; make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert stored_rows(killed, "verdicts") >= verdicts_first and stored_attempts(killed) < total

    resumed = monkeys("run", str(config), "--out", str(killed))
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    sequential = monkeys("run", str(config), "--out", str(tmp_path / "sequential"), "--set", "verify.streaming=false")
    _, err = sequential.communicate(timeout=300)
    assert sequential.returncode == 0, err
    got = (killed / "verdicts.jsonl").read_text().splitlines()
    assert len(got) == total
    assert got == (tmp_path / "sequential" / "verdicts.jsonl").read_text().splitlines()
