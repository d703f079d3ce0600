"""Checkpoints that cannot be converted fail before anything is written, with the file, every
problem tensor and the fix in the message; sharded checkpoints convert like single files."""

import json
import os
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from safetensors.numpy import load_file, save_file  # noqa: E402

from tfssl.convert import CheckpointError, convert_to_run_directory, export_to_hf, load_hf_model  # noqa: E402


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory, vocab_dir):
    vocabulary_size = sum(1 for _ in open(os.path.join(vocab_dir, "vocab.txt"), encoding="utf-8"))
    config = transformers.BertConfig(vocab_size=vocabulary_size, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=32)
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("hf-bert")
    transformers.BertForMaskedLM(config).save_pretrained(directory)
    shutil.copy(os.path.join(vocab_dir, "vocab.txt"), directory / "vocab.txt")
    return directory


@pytest.fixture
def copy(bert_dir, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(bert_dir, target)
    return target


def test_directory_without_config(tmp_path):
    with pytest.raises(CheckpointError, match=f"{tmp_path} has no config.json"):
        load_hf_model(tmp_path)


def test_unsupported_architecture(copy):
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps(dict(config, model_type="xlnet")))
    with pytest.raises(CheckpointError,
                       match="'xlnet' is not supported; tfssl converts bert, distilbert, electra, gpt2, roberta"):
        load_hf_model(copy)


def test_missing_tensor_is_named(copy):
    weights = load_file(str(copy / "model.safetensors"))
    del weights["bert.encoder.layer.1.output.dense.weight"]
    save_file(weights, str(copy / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing \['encoder.layer.1.output.dense.weight'\]"):
        load_hf_model(copy)


def test_unexpected_tensor_is_named(copy):
    weights = load_file(str(copy / "model.safetensors"))
    weights["bert.encoder.layer.0.adapter.weight"] = np.zeros((2, 2), "float32")
    save_file(weights, str(copy / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"unexpected \['encoder.layer.0.adapter.weight'\]"):
        load_hf_model(copy)


def test_shape_mismatch_names_both_shapes(copy):
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps(dict(config, intermediate_size=48)))
    with pytest.raises(CheckpointError, match=r"mis-shaped .*intermediate.dense.weight \(32, 64\) vs "
                                              r"backbone.blocks.0.intermediate_dense \(32, 48\)"):
        load_hf_model(copy)


def test_vocabulary_that_does_not_match_the_embedding_table(copy):
    with open(copy / "vocab.txt", "a", encoding="utf-8") as f:
        f.write("zz_not_a_token_zz\n")
    with pytest.raises(CheckpointError, match="The tokenizer in .* has .* tokens but the embedding table has .* rows"):
        load_hf_model(copy)


def test_untied_output_layer_is_refused(copy):
    weights = load_file(str(copy / "model.safetensors"))
    weights["cls.predictions.decoder.weight"] = weights["bert.embeddings.word_embeddings.weight"] + 1.0
    save_file(weights, str(copy / "model.safetensors"))
    with pytest.raises(CheckpointError, match="untied output layer"):
        load_hf_model(copy)


def test_pickle_only_checkpoint_says_how_to_resave(copy):
    os.rename(copy / "model.safetensors", copy / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="only pytorch_model.bin .* Re-save it as safetensors"):
        load_hf_model(copy)


def test_sharded_checkpoint_converts_like_one_file(bert_dir, copy):
    weights = load_file(str(copy / "model.safetensors"))
    names = sorted(weights)
    halves = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    for file, members in halves.items():
        save_file({n: weights[n] for n in members}, str(copy / file))
    (copy / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {n: f for f, members in halves.items() for n in members}}))
    os.remove(copy / "model.safetensors")
    sharded, _, _ = load_hf_model(copy)
    single, _, _ = load_hf_model(bert_dir)
    for a, b in zip(sharded.weights, single.weights):
        if "/pooler/" not in a.path:  # absent from *ForMaskedLM checkpoints: freshly initialised in both
            assert np.array_equal(a.numpy(), b.numpy())


def test_run_directory_and_export_never_overwrite(bert_dir, tmp_path):
    run = convert_to_run_directory(bert_dir, tmp_path / "runs" / "bert")
    assert sorted(os.listdir(run)) == ["config.json", "hf_config.json", "model.keras", "tokenizer"]
    with pytest.raises(CheckpointError, match="already exists and is not empty"):
        convert_to_run_directory(bert_dir, tmp_path / "runs" / "bert")
    export_to_hf(run, tmp_path / "out")
    before = (tmp_path / "out" / "model.safetensors").read_bytes()
    with pytest.raises(CheckpointError, match="already exists and is not empty"):
        export_to_hf(run, tmp_path / "out")
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == before
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tmp")] == []
