"""The run directory: one owner of the layout, loading any kind of run, and the errors that say what to do."""

import json
import os
import shutil

import numpy as np
import pytest

from tfssl.config import ConfigError
from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
from tfssl.run_directory import RunDirectory, RunDirectoryError


@pytest.fixture
def run_dir(tmp_path, vocab_dir, tokenizer):
    pretrainer = MaskedLMPretrainer(EncoderBackbone(tokenizer.vocabulary_size, 1, 2, 32, 64, max_sequence_length=64))
    pretrainer.build()
    pretrainer.save(str(tmp_path / RunDirectory.MODEL))
    shutil.copytree(vocab_dir, tmp_path / RunDirectory.TOKENIZER)
    with open(tmp_path / RunDirectory.CONFIG, "w", encoding="utf-8") as f:
        json.dump({"name": "tiny-run", "sequence_length": 32}, f)
    return tmp_path


def test_a_run_gives_its_backbone_and_tokenizer_and_a_scratch_twin(run_dir, tokenizer):
    run = RunDirectory(run_dir)
    backbone, loaded_tokenizer = run.encoder()
    scratch, _ = run.encoder(from_scratch=True)
    assert loaded_tokenizer.vocabulary == tokenizer.vocabulary
    assert scratch.get_config() == {**backbone.get_config(), "name": scratch.name}
    assert not np.allclose(backbone.token_embedding.embeddings.numpy(), scratch.token_embedding.embeddings.numpy())


def test_a_keras_file_names_its_folder_as_the_run(run_dir):
    run = RunDirectory(str(run_dir / RunDirectory.MODEL))
    assert os.path.samefile(run.path, run_dir) and run.has_model
    assert isinstance(run.masked_lm(), MaskedLMPretrainer)


def test_kind_checks_and_sizes(run_dir, tokenizer):
    run = RunDirectory(run_dir)
    with pytest.raises(RunDirectoryError, match="not a CausalLMPretrainer"):
        run.causal_lm()
    with pytest.raises(ConfigError, match="beyond the position table"):
        run.masked_lm(tokenizer, sequence_length=65)
    embedder = run.sentence_embedder()
    assert embedder.pooling == "mean" and embedder.sequence_length == 32  # the run's config, else 64
    assert isinstance(run.load_model((MaskedLMPretrainer, CausalLMPretrainer)), MaskedLMPretrainer)


def test_lowercase_comes_from_the_config_else_the_tokenizer_settings(run_dir):
    run = RunDirectory(run_dir)
    assert run.lowercase() is True
    with open(run_dir / "tokenizer" / "tfssl_tokenizer.json", "w", encoding="utf-8") as f:
        json.dump({"lowercase": False}, f)  # a fine-tuning run: no `lowercase` in its config
    assert run.lowercase() is False
    with open(run_dir / RunDirectory.CONFIG, "w", encoding="utf-8") as f:
        json.dump({"lowercase": True}, f)
    assert run.lowercase() is True


def test_export_assets_are_the_wordpiece_files_and_the_config(run_dir):
    names = [os.path.basename(p) for p in RunDirectory(run_dir).export_assets()]
    assert names[-1] == RunDirectory.CONFIG and "vocab.txt" in names


def test_errors_name_the_problem(run_dir, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(FileNotFoundError, match="tfssl pretrain"):
        RunDirectory(empty).encoder()
    os.makedirs(empty / "1")
    with pytest.raises(FileNotFoundError, match="SavedModel export"):
        RunDirectory(empty).encoder()
    with open(run_dir / "tokenizer" / "vocab.txt", "a", encoding="utf-8") as f:
        f.write("extra_token\n")
    with pytest.raises(ConfigError, match="does not match the checkpoint"):
        RunDirectory(run_dir).encoder()


def test_a_damaged_model_file_is_called_damaged_not_missing(run_dir):
    model_file = run_dir / RunDirectory.MODEL
    data = model_file.read_bytes()
    model_file.write_bytes(data[: len(data) // 2])  # a copy cut short
    with pytest.raises(RunDirectoryError, match="is damaged.*Rerun the command that wrote it"):
        RunDirectory(run_dir).load_model()
    with open(run_dir / RunDirectory.CONFIG, "w", encoding="utf-8") as f:
        f.write("{\"name\": ")
    with pytest.raises(RunDirectoryError, match="config.json is damaged"):
        RunDirectory(run_dir).config()
