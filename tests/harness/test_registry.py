"""Tasks by name with their verifier settings typed and checked (`verify.options`)."""

from pathlib import Path

import pytest

from harness.config import ConfigError, VerifyConfig, load_config, read_suite
from harness.problems.base import ConfiguresVerifier, NoOptions, typed_settings
from harness.registry import TASKS, configured_task

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def run_configs() -> list[Path]:
    paths = []
    for path in sorted(CONFIGS.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if "\ntask:" in "\n" + text and read_suite(path) is None:
            paths.append(path)
    return paths


@pytest.mark.parametrize("path", run_configs(), ids=lambda p: str(p.relative_to(CONFIGS)))
def test_every_shipped_config_has_valid_verifier_settings(path: Path) -> None:
    config = load_config(path)
    task = configured_task(config.task, config.verify)
    if config.verify.options:  # what the file sets is what the verifier gets
        settings = task.verifier().settings  # type: ignore[attr-defined]
        for key, value in config.verify.options.items():
            assert getattr(settings, key) == value


def test_swebench_errors_name_the_option() -> None:
    with pytest.raises(ConfigError) as info:
        configured_task("swebench", VerifyConfig(options={"flake_runs": -1, "eval_timeout": 5}))
    message = str(info.value)
    assert "verify.options.flake_runs: Input should be greater than or equal to 0" in message
    assert "verify.options.eval_timeout: Extra inputs are not permitted" in message


def test_swebench_containers_come_from_workers_unless_an_option_sets_them() -> None:
    task = configured_task("swebench", VerifyConfig(workers=3, options={"majority_runs": 3}))
    assert (task.verifier().settings.containers, task.verifier().settings.majority_runs) == (3, 3)  # type: ignore[attr-defined]
    task = configured_task("swebench", VerifyConfig(workers=3, options={"containers": 1}))
    assert task.verifier().settings.containers == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["humaneval", "mbpp", "code_contests"])
def test_code_tasks_take_no_options_and_read_unsafe_no_isolation(name: str) -> None:
    with pytest.raises(ConfigError, match=r"verify\.options\.timeout_s: Extra inputs"):
        configured_task(name, VerifyConfig(options={"timeout_s": 3}))
    task = configured_task(name, VerifyConfig(unsafe_no_isolation=True))
    assert task.verifier().unsafe_no_isolation is True  # type: ignore[attr-defined]
    assert configured_task(name, VerifyConfig()).verifier().unsafe_no_isolation is False  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["gsm8k", "math"])
def test_a_task_without_settings_refuses_options(name: str) -> None:
    with pytest.raises(ConfigError, match=r"verify.options: task '\w+' takes no verifier settings \(given: flake_runs\)"):
        configured_task(name, VerifyConfig(options={"flake_runs": 2}))
    assert configured_task(name, VerifyConfig()).name == name


def test_every_configuring_task_declares_a_strict_settings_model() -> None:
    for name in TASKS:
        task = configured_task(name, VerifyConfig())
        if isinstance(task, ConfiguresVerifier):
            assert task.settings_model().model_config.get("extra") == "forbid", name


def test_typed_settings_names_nested_fields() -> None:
    assert typed_settings(NoOptions, {}) == NoOptions()
    with pytest.raises(ConfigError, match=r"^verify\.options\.a: Extra inputs are not permitted; verify\.options\.b: "):
        typed_settings(NoOptions, {"a": 1, "b": 2})
