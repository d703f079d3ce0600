"""Where a fine-tuning run gets its encoder: run directories, the scratch twin, and the errors."""

import json
import os
import shutil

import numpy as np
import pytest

from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
from tfssl.training.encoder_loading import EncoderSourceError, load_encoder, tokenizer_lowercase


@pytest.fixture
def run_dir(tmp_path, vocab_dir, tokenizer):
    pretrainer = MaskedLMPretrainer(EncoderBackbone(tokenizer.vocabulary_size, 1, 2, 32, 64, sequence_length=64))
    pretrainer.build()
    pretrainer.save(str(tmp_path / "model.keras"))
    shutil.copytree(vocab_dir, tmp_path / "tokenizer")
    return tmp_path


def test_a_run_gives_its_backbone_and_tokenizer_and_a_scratch_twin(run_dir, tokenizer):
    backbone, loaded_tokenizer = load_encoder(str(run_dir))
    scratch, _ = load_encoder(str(run_dir), from_scratch=True)
    assert loaded_tokenizer.vocabulary == tokenizer.vocabulary
    assert scratch.get_config() == {**backbone.get_config(), "name": scratch.name}
    assert not np.allclose(backbone.token_embedding.embeddings.numpy(), scratch.token_embedding.embeddings.numpy())


def test_lowercase_comes_from_the_config_else_the_tokenizer_settings(run_dir):
    assert tokenizer_lowercase(str(run_dir)) is True
    with open(run_dir / "tokenizer" / "tfssl_tokenizer.json", "w", encoding="utf-8") as f:
        json.dump({"lowercase": False}, f)  # a fine-tuning run: no `lowercase` in its config
    assert tokenizer_lowercase(str(run_dir)) is False
    with open(run_dir / "config.json", "w", encoding="utf-8") as f:
        json.dump({"lowercase": True}, f)
    assert tokenizer_lowercase(str(run_dir)) is True


def test_errors_name_the_problem(run_dir, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(EncoderSourceError, match="tfssl pretrain mlm"):
        load_encoder(str(empty))
    os.makedirs(empty / "1")
    with pytest.raises(EncoderSourceError, match="SavedModel export"):
        load_encoder(str(empty))
    with open(run_dir / "tokenizer" / "vocab.txt", "a", encoding="utf-8") as f:
        f.write("extra_token\n")
    with pytest.raises(EncoderSourceError, match="does not belong to this checkpoint"):
        load_encoder(str(run_dir))
