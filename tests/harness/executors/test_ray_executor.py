"""The Ray executor on a real local Ray: the same runs as the local executor, killed workers, a killed driver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.config import ConfigError, RunConfig, config_from_dict, load_config
from harness.executors.ray import executor as ray_executor
from harness.executors.ray import sampling as ray_sampling
from harness.executors.base import ExecutorFailure
from harness.pipeline import execute
from harness.records import AttemptStatus
from harness.store import RunStore
from tests.harness.executors.conftest import RAY_GPUS
from tests.harness.executors.ray_toys import KILL_SAMPLING_ENV, KILL_VERIFY_ENV, SLOW_ENV, killed_pid
from tests.harness.models import fake_vllm
from tests.swebench_toy import build_toy_instance
from tests.harness.toy_task import write_toy_dataset

ROOT = Path(__file__).resolve().parents[3]
PROBLEMS, SAMPLES = 6, 60
# Small chunks: many of them, finishing out of order on two workers.
RAY = {"kind": "ray", "chunk_size": 3, "verify_chunk": 4}


def toy_config(tmp_path: Path, executor: dict, task: str = "toy", samples: int = SAMPLES) -> RunConfig:
    write_toy_dataset(tmp_path / "toy.jsonl", count=PROBLEMS)
    return config_from_dict({
        "name": "toy", "task": task, "dataset": {"path": str(tmp_path / "toy.jsonl")},
        "model": {"backend": "simulated", "alpha": 1.0, "beta": 1.0},
        "sampling": {"samples_per_problem": samples, "n_per_request": 2},
        "verify": {"workers": 1}, "executor": executor,
    })


def assert_same_run(left: Path, right: Path) -> None:
    assert (left / "verdicts.jsonl").read_bytes() == (right / "verdicts.jsonl").read_bytes()
    reports = [json.loads((side / "report.json").read_text()) for side in (left, right)]
    assert reports[0]["pass_at_k"] == reports[1]["pass_at_k"]
    assert reports[0]["majority_vote"] == reports[1]["majority_vote"]


def assert_each_unit_once_without_errors(run_dir: Path, total: int) -> None:
    store = RunStore(run_dir)
    try:
        attempts = list(store.attempts())
        verdicts = store.db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
        candidates = store.count_candidates()
    finally:
        store.close()
    assert len({(a.problem_id, a.index) for a in attempts}) == len(attempts) == total
    assert all(a.status is AttemptStatus.OK for a in attempts), "a retried chunk must not come back as errors"
    assert verdicts == candidates > 0


def test_toy_run_on_ray_equals_the_local_run(tmp_path, ray_cluster, toy_tasks):
    execute(toy_config(tmp_path, {"kind": "local"}), tmp_path / "local", show_progress=False)
    execute(toy_config(tmp_path, RAY), tmp_path / "ray", show_progress=False)
    assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert_each_unit_once_without_errors(tmp_path / "ray", PROBLEMS * SAMPLES)


def test_math_demo_on_ray_equals_the_local_run(tmp_path, ray_cluster):
    # MATH answers in many spellings: math-verify (signal.alarm, so a main thread) in Ray workers.
    overrides = ["sampling.samples_per_problem=150"]
    config = load_config(ROOT / "configs" / "demo_math.yaml", overrides)
    execute(config, tmp_path / "local", show_progress=False)
    ray_config = load_config(ROOT / "configs" / "demo_math.yaml", [*overrides, "executor.kind=ray"])
    execute(ray_config, tmp_path / "ray", show_progress=False)
    assert_same_run(tmp_path / "local", tmp_path / "ray")


def test_code_demo_in_the_sandbox_on_ray_equals_the_local_run(tmp_path, ray_cluster):
    # HumanEval-style programs run in the bubblewrap sandbox pool inside a Ray worker.
    overrides = ["sampling.samples_per_problem=40"]
    execute(load_config(ROOT / "configs" / "demo_code.yaml", overrides), tmp_path / "local", show_progress=False)
    execute(load_config(ROOT / "configs" / "demo_code.yaml", [*overrides, "executor.kind=ray"]), tmp_path / "ray",
            show_progress=False)
    assert_same_run(tmp_path / "local", tmp_path / "ray")
    lines = (tmp_path / "ray" / "verdicts.jsonl").read_text().splitlines()
    assert {json.loads(line)["status"] for line in lines} >= {"passed", "failed"}


def test_a_sampling_worker_killed_mid_run_loses_and_duplicates_nothing(tmp_path, ray_cluster, toy_tasks, monkeypatch):
    execute(toy_config(tmp_path, {"kind": "local"}, task="toy_kill"), tmp_path / "local", show_progress=False)
    marker = tmp_path / "killed"
    monkeypatch.setenv(KILL_SAMPLING_ENV, str(marker))
    execute(toy_config(tmp_path, RAY, task="toy_kill"), tmp_path / "ray", show_progress=False)
    assert killed_pid(marker) != os.getpid()  # a Ray worker died half way through a chunk
    assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert_each_unit_once_without_errors(tmp_path / "ray", PROBLEMS * SAMPLES)


def test_a_verification_worker_killed_mid_run_loses_nothing(tmp_path, ray_cluster, toy_tasks, monkeypatch):
    execute(toy_config(tmp_path, {"kind": "local"}, task="toy_kill"), tmp_path / "local", show_progress=False)
    marker = tmp_path / "killed"
    monkeypatch.setenv(KILL_VERIFY_ENV, str(marker))
    execute(toy_config(tmp_path, RAY, task="toy_kill"), tmp_path / "ray", show_progress=False)
    assert killed_pid(marker) != os.getpid()
    assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert_each_unit_once_without_errors(tmp_path / "ray", PROBLEMS * SAMPLES)


def test_a_killed_actor_replica_is_restarted_and_its_chunk_retried(tmp_path, ray_cluster, toy_tasks, monkeypatch):
    # The actor path (vLLM, OpenAI replicas), here with the simulated model so that it runs on CPUs.
    monkeypatch.setattr(ray_sampling, "ACTOR_BACKENDS", ray_sampling.ACTOR_BACKENDS | {"simulated"})
    execute(toy_config(tmp_path, {"kind": "local"}, task="toy_kill"), tmp_path / "local", show_progress=False)
    marker = tmp_path / "killed"
    monkeypatch.setenv(KILL_SAMPLING_ENV, str(marker))
    execute(toy_config(tmp_path, RAY, task="toy_kill"), tmp_path / "ray", show_progress=False)
    assert killed_pid(marker) != os.getpid()
    assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert_each_unit_once_without_errors(tmp_path / "ray", PROBLEMS * SAMPLES)


def test_lost_verification_is_reported_and_a_rerun_verifies_it(tmp_path, ray_cluster, toy_tasks, monkeypatch):
    execute(toy_config(tmp_path, {"kind": "local"}, task="toy_kill"), tmp_path / "local", show_progress=False)
    monkeypatch.setenv(KILL_VERIFY_ENV, str(tmp_path / "killed"))
    no_retries = toy_config(tmp_path, {**RAY, "max_retries": 0}, task="toy_kill")
    with pytest.raises(ExecutorFailure, match="stay unverified"):
        execute(no_retries, tmp_path / "ray", show_progress=False)
    store = RunStore(tmp_path / "ray")
    verified = store.db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    assert store.count_attempts() == PROBLEMS * SAMPLES and 0 < verified < store.count_candidates()
    store.close()
    execute(no_retries, tmp_path / "ray", show_progress=False)  # the kill happened once; the rerun verifies the rest
    assert_same_run(tmp_path / "local", tmp_path / "ray")


def test_a_chunk_lost_for_good_is_stored_as_errors_and_retried_on_request(tmp_path, ray_cluster, toy_tasks, monkeypatch):
    execute(toy_config(tmp_path, {"kind": "local"}, task="toy_kill"), tmp_path / "local", show_progress=False)
    monkeypatch.setenv(KILL_SAMPLING_ENV, str(tmp_path / "killed"))
    no_retries = toy_config(tmp_path, {**RAY, "max_retries": 0}, task="toy_kill")
    execute(no_retries, tmp_path / "ray", show_progress=False)
    store = RunStore(tmp_path / "ray")
    errors = [a for a in store.attempts() if a.status is AttemptStatus.ERROR]
    store.close()
    assert errors and all("ray replica failed" in (a.error or "") for a in errors)  # counted, never dropped
    execute(no_retries, tmp_path / "ray", show_progress=False, retry_errors=True)
    assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert_each_unit_once_without_errors(tmp_path / "ray", PROBLEMS * SAMPLES)


DRIVER = """
import sys
from harness import registry
from harness.cli import main
registry.TASKS["toy"] = "tests.harness.executors.ray_toys:KillingToyTask"
sys.exit(main(sys.argv[1:]))
"""


def run_driver(config_path: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DRIVER, "run", str(config_path), "--out", str(out), "--no-progress"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stored_attempts(run_dir: Path) -> int:
    if not (run_dir / "run.sqlite").exists():
        return 0
    store = RunStore(run_dir)
    try:
        return store.count_attempts()
    except Exception:  # noqa: BLE001 - the driver is still creating its tables
        return 0
    finally:
        store.close()


def test_a_driver_killed_mid_run_resumes_on_ray(tmp_path, ray_cluster, toy_tasks, monkeypatch):
    samples = 200
    config = toy_config(tmp_path, {**RAY, "address": ray_cluster}, samples=samples)
    config_path = tmp_path / "toy.yaml"
    config_path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    monkeypatch.setenv(SLOW_ENV, "0.004")  # about 2.5 s of sampling on two workers: time to kill it half way
    driver = run_driver(config_path, tmp_path / "ray")
    deadline = time.monotonic() + 120
    while stored_attempts(tmp_path / "ray") == 0 and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    stored = stored_attempts(tmp_path / "ray")
    assert 0 < stored < PROBLEMS * samples, "the driver must die half way through sampling"

    resumed = run_driver(config_path, tmp_path / "ray")
    _, stderr = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, stderr
    execute(toy_config(tmp_path, {"kind": "local"}, samples=samples), tmp_path / "local", show_progress=False)
    assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert_each_unit_once_without_errors(tmp_path / "ray", PROBLEMS * samples)


def test_a_verifier_that_needs_docker_fails_before_anything_is_written(tmp_path, ray_cluster, toy_tasks, monkeypatch):
    from harness.verifiers.base import RayPlacement
    from tests.harness.toy_task import ExactVerifier

    monkeypatch.setattr(ExactVerifier, "ray_placement", RayPlacement(resources={"docker": 1}), raising=False)
    with pytest.raises(ConfigError, match="docker"):
        execute(toy_config(tmp_path, {**RAY, "docker_resource": "docker_images"}), tmp_path / "ray", show_progress=False)
    assert not (tmp_path / "ray").exists()


def test_vllm_replicas_wider_than_any_node_fail_before_anything_is_written(tmp_path, ray_cluster, toy_tasks):
    write_toy_dataset(tmp_path / "toy.jsonl", count=2)
    config = config_from_dict({"name": "toy", "task": "toy", "dataset": {"path": str(tmp_path / "toy.jsonl")},
                               "model": {"backend": "vllm", "model": "some/model"},
                               "executor": {"kind": "ray", "gpus_per_replica": RAY_GPUS + 1}})
    with pytest.raises(ConfigError, match="GPU"):
        execute(config, tmp_path / "ray", show_progress=False)
    assert not (tmp_path / "ray").exists()


def vllm_config(tmp_path: Path, executor: dict, record_to: Path) -> RunConfig:
    write_toy_dataset(tmp_path / "toy.jsonl", count=PROBLEMS)
    return config_from_dict({
        "name": "toy", "task": "toy_vllm", "dataset": {"path": str(tmp_path / "toy.jsonl")},
        "model": {"backend": "vllm", "model": "fake/model", "batch_size": 4, "engine_kwargs": {"record_to": str(record_to)}},
        "sampling": {"samples_per_problem": 40, "n_per_request": 4}, "verify": {"workers": 1}, "executor": executor,
    })


def test_vllm_replicas_take_one_gpu_each_and_run_their_engine_calls_in_turn(tmp_path, ray_cluster, toy_tasks, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", fake_vllm.module())  # for the local run; Ray workers install their own
    execute(vllm_config(tmp_path, {"kind": "local"}, tmp_path / "local_calls.jsonl"), tmp_path / "local", show_progress=False)
    execute(vllm_config(tmp_path, RAY, tmp_path / "ray_calls.jsonl"), tmp_path / "ray", show_progress=False)
    assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert_each_unit_once_without_errors(tmp_path / "ray", PROBLEMS * 40)
    calls = [json.loads(line) for line in (tmp_path / "ray_calls.jsonl").read_text().splitlines()]
    replicas: dict[int, list[dict]] = {}
    for call in calls:
        replicas.setdefault(call["pid"], []).append(call)
    assert os.getpid() not in replicas and len(replicas) == RAY_GPUS  # one engine per GPU, none in the driver
    assert sorted(calls[0]["gpus"] for calls in replicas.values()) == [str(i) for i in range(RAY_GPUS)]
    for own in replicas.values():  # an engine is not re-entrant: a replica's calls never overlap
        own.sort(key=lambda call: call["start"])
        assert all(before["end"] <= after["start"] for before, after in zip(own, own[1:]))


def with_run_dir_as(run_dir: Path, text: str) -> str:
    return text.replace(str(run_dir), "RUN_DIR")  # SWE-bench evidence names its log under the run directory


def test_swebench_agent_run_on_ray_equals_the_local_run(tmp_path, ray_cluster):
    # Agent attempts (their model calls through the Ray backend) and patches judged in Docker in Ray tasks.
    row, _ = build_toy_instance()
    data = tmp_path / "toy.jsonl"
    data.write_text(json.dumps(row) + "\n")
    overrides = [f"dataset.path={data}", "sampling.samples_per_problem=12", "verify.options.flake_runs=0"]
    demo = ROOT / "configs" / "demo_swe_agent.yaml"
    execute(load_config(demo, overrides), tmp_path / "local", show_progress=False)
    execute(load_config(demo, [*overrides, "executor.kind=ray"]), tmp_path / "ray", show_progress=False)
    local, ray = (with_run_dir_as(tmp_path / side, (tmp_path / side / "verdicts.jsonl").read_text()) for side in ("local", "ray"))
    assert local == ray and '"passed": true' in ray
    assert len(list((tmp_path / "ray" / "trajectories").rglob("*.jsonl"))) == 12


def test_swebench_logs_made_on_another_node_come_back_to_the_run_directory(tmp_path, ray_cluster, monkeypatch):
    # As if the Docker node were another machine: its task ships the instance's logs and flake check
    # and deletes its copies; the driver writes them into the run directory.
    from harness.verifiers.swebench import SWEBenchVerifier

    monkeypatch.setattr(ray_executor.RayExecutor, "driver_node", lambda self: "the-driver-is-elsewhere")
    received: list[dict] = []
    keep = SWEBenchVerifier.import_files
    monkeypatch.setattr(SWEBenchVerifier, "import_files", lambda self, shipped: (received.append(shipped), keep(self, shipped)))
    row, _ = build_toy_instance()
    data = tmp_path / "toy.jsonl"
    data.write_text(json.dumps(row) + "\n")
    overrides = [f"dataset.path={data}", "sampling.samples_per_problem=6", "verify.options.flake_runs=2",
                 "executor.kind=ray"]
    execute(load_config(ROOT / "configs" / "demo_swe_agent.yaml", overrides), tmp_path / "ray", show_progress=False)
    evidence = [json.loads(json.loads(line)["evidence"] or "{}") for line in (tmp_path / "ray" / "verdicts.jsonl").read_text().splitlines()]
    logs = {Path(e["log"]) for e in evidence if e.get("log")}
    assert logs and all(log.is_relative_to(tmp_path / "ray" / "swebench_logs") and log.stat().st_size > 0 for log in logs)
    checks = json.loads((tmp_path / "ray" / "swebench_logs" / "flake_checks.json").read_text())
    assert checks[row["instance_id"]]["runs"] == 2
    assert all(Path(log).is_file() for log in checks[row["instance_id"]]["logs"])
    shipped = {name for parcel in received for name in parcel["files"]}
    assert {str(log.relative_to(tmp_path / "ray" / "swebench_logs")) for log in logs} <= shipped


def test_shipped_files_never_land_outside_the_logs(tmp_path):
    from harness.verifiers.swebench import SWEBenchVerifier

    verifier = SWEBenchVerifier()
    verifier.bind_run_dir(tmp_path / "run")
    verifier.import_files({"files": {"../../escaped.txt": b"no", "inst/a.log": b"yes"}, "flake_checks": []})
    assert (tmp_path / "run" / "swebench_logs" / "inst" / "a.log").read_bytes() == b"yes"
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "run" / "escaped.txt").exists()


def test_monkeys_verify_on_ray_equals_local(tmp_path, ray_cluster):
    # Samples made elsewhere (the replay backend stays in the driver), verified in Ray tasks.
    from harness.cli import main

    dataset = ROOT / "configs" / "data" / "demo_gsm8k.jsonl"
    samples = tmp_path / "samples.jsonl"
    answers = ["#### 56", "The answer is 56.0", "#### 57", "no idea", "\\boxed{45}", "#### 045"]
    samples.write_text("".join(json.dumps({"problem_id": str(p), "completion": a}) + "\n" for p in range(12) for a in answers))
    common = ["verify", "--task", "gsm8k", "--dataset", str(dataset), "--samples", str(samples), "--no-progress"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--executor", "ray"]) == 0
    assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert (yaml.safe_load((tmp_path / "ray" / "config.yaml").read_text())["executor"]["kind"]) == "ray"
