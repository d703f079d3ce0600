import json

import pytest

from tfssl.config import CONFIG_KINDS, PRECISIONS, CausalLMPretrainConfig, ConfigError, MLMPretrainConfig

from tfssl.config_loading import load_config, save_config


def test_defaults_file_and_overrides_in_order(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 3\npreset: mini\nlearning_rate: 0.0005\n")
    config = load_config(MLMPretrainConfig, str(path), ["--epochs=4", "--whole-word-masking=true", "--max_train_minutes=none"])
    assert (config.epochs, config.preset, config.learning_rate, config.whole_word_masking) == (4, "mini", 5e-4, True)
    assert config.max_train_minutes is None
    save_config(config, str(tmp_path / "out.json"))
    assert json.loads((tmp_path / "out.json").read_text())["epochs"] == 4


def test_unknown_key_suggests_the_right_one(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key 'learning_rat'.*'learning_rate'"):
        load_config(MLMPretrainConfig, overrides=["--learning_rat=1"])
    path = tmp_path / "c.json"
    path.write_text('{"batchsize": 3}')
    with pytest.raises(ConfigError, match=f"{path}: unknown config key 'batchsize'"):
        load_config(MLMPretrainConfig, str(path))


@pytest.mark.parametrize("override", ["--epochs=two", "--epochs=1.5", "--whole_word_masking=maybe", "--learning_rate=fast"])
def test_wrong_types_are_named(override):
    with pytest.raises(ConfigError, match="is not a valid"):
        load_config(MLMPretrainConfig, overrides=[override])


def test_wrong_type_in_json_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"batch_size": "large"}')
    with pytest.raises(ConfigError, match="batch_size='large' is not a valid int"):
        load_config(MLMPretrainConfig, str(path))


def test_sequence_length_beyond_the_position_table():
    with pytest.raises(ConfigError, match="beyond the position table"):
        load_config(MLMPretrainConfig, overrides=["--sequence_length=1024"])


def test_bad_files_and_forms(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(MLMPretrainConfig, str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(MLMPretrainConfig, str(bad))
    with pytest.raises(ConfigError, match="--key=value"):
        load_config(MLMPretrainConfig, overrides=["--epochs"])


@pytest.mark.parametrize("override,message", [
    ("--held_out_split=random", "held_out_split must be one of documents, tail"),
    ("--eval_stride=200", "eval_stride must be in \\[1, eval_context=128\\]"),
    ("--eval_context=256", "eval_context must be in \\[1, sequence_length=128\\]"),
    ("--sample_temperature=-1", "temperature must be >= 0"),
    ("--sample_tokens=128", "sample_tokens must be in \\[1, 127\\]"),
    ("--activation=tanh", "activation must be one of"),
])
def test_causal_lm_config_checks(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(CausalLMPretrainConfig, overrides=[override])
    assert load_config(CausalLMPretrainConfig).sample_tokens == 64  # half the context by default


@pytest.mark.parametrize("kind", sorted(CONFIG_KINDS))
def test_every_driver_takes_a_precision_and_names_the_choices(kind):
    from tfssl.models.precision import PRECISIONS as MODEL_PRECISIONS

    assert PRECISIONS == MODEL_PRECISIONS
    assert load_config(CONFIG_KINDS[kind], overrides=["--precision=mixed_bfloat16"]).precision == "mixed_bfloat16"
    with pytest.raises(ConfigError, match="precision must be one of float32, mixed_bfloat16, mixed_float16, auto"):
        load_config(CONFIG_KINDS[kind], overrides=["--precision=bf16"])


def test_simcse_negatives_queue_and_temperature_defaults_by_mode():
    """Unsupervised SimCSE trains with a MoCo queue at temperature 0.05 unless told otherwise; supervised pairs and
    `symmetric` use in-batch negatives at 0.1; a queue with `symmetric` is refused before any work."""
    from tfssl.config import UNSUPERVISED_QUEUE_SIZE, ContrastivePretrainConfig

    def queue(*overrides):
        return load_config(ContrastivePretrainConfig, overrides=list(overrides)).negatives_queue_size()

    assert queue() == UNSUPERVISED_QUEUE_SIZE == 1024
    assert queue("--queue_size=0") == 0
    assert queue("--queue_size=64") == 64
    assert queue("--symmetric=true") == 0
    assert queue("--mode=supervised", "--pairs_file=pairs.csv") == 0
    assert queue("--mode=supervised", "--pairs_file=pairs.csv", "--queue_size=256") == 256

    def temperature(*overrides):
        return load_config(ContrastivePretrainConfig, overrides=list(overrides)).contrastive_temperature()

    assert temperature() == 0.05 and temperature("--queue_size=0") == 0.1  # each picked for its negatives
    assert temperature("--mode=supervised", "--pairs_file=pairs.csv") == 0.1
    assert temperature("--temperature=0.2") == temperature("--queue_size=0", "--temperature=0.2") == 0.2
    with pytest.raises(ConfigError, match="temperature must be > 0"):
        load_config(ContrastivePretrainConfig, overrides=["--temperature=0"])
    with pytest.raises(ConfigError, match="symmetric=true is not defined with a MoCo queue"):
        load_config(ContrastivePretrainConfig, overrides=["--queue_size=64", "--symmetric=true"])
    with pytest.raises(ConfigError, match="queue_size must be >= 0"):
        load_config(ContrastivePretrainConfig, overrides=["--queue_size=-1"])
