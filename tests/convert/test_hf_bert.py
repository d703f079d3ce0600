"""Hugging Face BERT checkpoints in: a random-initialised `transformers` BERT (PyTorch, CPU) and
its tfssl conversion give the same hidden states and masked-LM logits; bad checkpoints fail
with a list of what is wrong."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")  # the test extra pins torch==2.13.0 (CPU)
transformers = pytest.importorskip("transformers")

from tfssl.convert.hf_bert import CheckpointError, load_hf_bert  # noqa: E402


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory, vocab_dir):
    from tests.conftest import SHARED_DATA  # noqa: F401  (keeps the conftest fixtures importable)

    vocabulary_size = sum(1 for _ in open(os.path.join(vocab_dir, "vocab.txt"), encoding="utf-8"))
    config = transformers.BertConfig(vocab_size=vocabulary_size, hidden_size=64, num_hidden_layers=2,
                                     num_attention_heads=4, intermediate_size=128, max_position_embeddings=64,
                                     hidden_act="gelu")
    torch.manual_seed(0)
    model = transformers.BertForMaskedLM(config).eval()
    with torch.no_grad():  # BERT initialises biases and LayerNorms trivially; make every tensor count
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    directory = tmp_path_factory.mktemp("hf-bert")
    model.save_pretrained(directory)
    shutil.copy(os.path.join(vocab_dir, "vocab.txt"), directory / "vocab.txt")
    return directory, model


def test_hidden_states_and_masked_lm_logits_equal_transformers(hf_dir, tokenizer):
    directory, model = hf_dir
    pretrainer, converted_tokenizer = load_hf_bert(str(directory))
    assert converted_tokenizer.vocabulary == tokenizer.vocabulary
    rng = np.random.default_rng(0)
    ids = rng.integers(5, tokenizer.vocabulary_size, (3, 20)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, 12:] = 0
    segments = np.zeros_like(ids)
    segments[2, 10:] = 1
    with torch.no_grad():
        out = model(input_ids=torch.tensor(ids, dtype=torch.long), attention_mask=torch.tensor(mask),
                    token_type_ids=torch.tensor(segments, dtype=torch.long), output_hidden_states=True)
    features = {"token_ids": tf.constant(ids), "padding_mask": tf.constant(mask), "segment_ids": tf.constant(segments)}
    hidden = pretrainer.backbone(features)["sequence_output"].numpy()
    expected = out.hidden_states[-1].numpy()
    real = mask.astype(bool)
    assert np.abs(hidden[real] - expected[real]).max() < 1e-4
    positions = np.tile(np.arange(4, dtype="int32"), (3, 1))
    logits = pretrainer(dict(features, mask_positions=tf.constant(positions))).numpy()
    assert np.abs(logits - out.logits.numpy()[:, :4]).max() < 1e-4


def _copy(directory, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(directory, target)
    return target


def test_bad_checkpoints_are_refused_with_the_reason(hf_dir, tmp_path):
    from safetensors.numpy import load_file, save_file

    directory, _ = hf_dir
    with pytest.raises(CheckpointError, match="no config.json"):
        load_hf_bert(str(tmp_path))
    target = _copy(directory, tmp_path)
    config = json.loads((target / "config.json").read_text())
    (target / "config.json").write_text(json.dumps(dict(config, model_type="xlnet")))
    with pytest.raises(CheckpointError, match="'xlnet' is not supported"):
        load_hf_bert(str(target))
    (target / "config.json").write_text(json.dumps(dict(config, intermediate_size=96)))
    with pytest.raises(CheckpointError, match="mis-shaped.*intermediate_dense"):
        load_hf_bert(str(target))
    (target / "config.json").write_text(json.dumps(config))
    weights = load_file(str(target / "model.safetensors"))
    del weights["bert.encoder.layer.1.output.dense.weight"]
    save_file(weights, str(target / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing \['encoder.layer.1.output.dense.weight'\]"):
        load_hf_bert(str(target))
    shutil.copy(directory / "model.safetensors", target / "model.safetensors")
    with open(target / "vocab.txt", "a", encoding="utf-8") as f:
        f.write("zz_not_a_token_zz\n")
    with pytest.raises(CheckpointError, match="does not belong to this checkpoint"):
        load_hf_bert(str(target))
