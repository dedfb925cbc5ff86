from pathlib import Path

import pytest

from harness.config import ConfigError, check_inputs_exist, load_config, parse_override

BASE = """
name: t1
task: toy
dataset: {path: data.jsonl}
model: {backend: simulated}
sampling: {samples_per_problem: 8, n_per_request: 4}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_paths_resolve_against_the_config_folder(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert config.dataset.path == tmp_path / "data.jsonl"


def test_override_paths_resolve_against_the_config_folder_too(tmp_path, monkeypatch):
    # documented: `--set dataset.path=data/demo_gsm8k.jsonl` means the file beside the config, from any directory
    (tmp_path / "configs").mkdir()
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    path = tmp_path / "configs" / "c.yaml"
    path.write_text(BASE)
    config = load_config(path, ["dataset.path=mine.jsonl", "model.model=org/model-7b"])
    assert config.dataset.path == tmp_path / "configs" / "mine.jsonl"
    assert config.model.model == "org/model-7b"  # not a path field: left as typed


def test_overrides_are_typed_yaml_values(tmp_path):
    config = load_config(write(tmp_path, BASE), ["sampling.samples_per_problem=200", "sampling.stop=['x', 'y']"])
    assert config.sampling.samples_per_problem == 200
    assert config.sampling.stop == ["x", "y"]


def test_override_can_switch_backend(tmp_path):
    config = load_config(write(tmp_path, BASE), ["model.backend=openai", "model.model=m", "model.concurrency=3"])
    assert config.model.backend == "openai" and config.model.concurrency == 3


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("sampling.samples_per_problem=0", "sampling.samples_per_problem"),
        ("sampling.temperature=hot", "sampling.temperature"),
        ("model.backend=gpt", "model"),
        ("sampling.sedd=3", "sampling.sedd"),
        ("name=has space", "name"),
    ],
)
def test_bad_fields_are_named(tmp_path, override, field):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, BASE), [override])
    assert field in str(err.value)


def test_unknown_top_level_field_is_named(tmp_path):
    with pytest.raises(ConfigError, match="samplng"):
        load_config(write(tmp_path, BASE + "samplng: {}\n"))


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "name: [unclosed"))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_override_syntax_errors():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("sampling.seed")
    with pytest.raises(ConfigError, match="empty key"):
        parse_override("=3")


def test_missing_dataset_is_named_before_anything_runs(tmp_path):
    config = load_config(write(tmp_path, BASE))
    with pytest.raises(ConfigError, match=r"dataset.path: file not found: .*data.jsonl"):
        check_inputs_exist(config)


def test_identity_ignores_sample_count_but_not_seed(tmp_path):
    path = write(tmp_path, BASE)
    base = load_config(path).identity()
    assert load_config(path, ["sampling.samples_per_problem=99"]).identity() == base
    assert load_config(path, ["sampling.seed=1"]).identity() != base
    assert load_config(path, ["sampling.n_per_request=2"]).identity() != base
    # A subset of the dataset may be widened on resume (monkeys run --instances), as limit may.
    assert load_config(path, ["dataset.ids=[0]"]).identity() == base
    assert load_config(path, ["dataset.split=train"]).identity() != base


def test_numeric_ids_are_read_as_strings(tmp_path):
    config = load_config(write(tmp_path, BASE), ["dataset.ids=[0, 5]"])
    assert config.dataset.ids == ["0", "5"]
