"""Hugging Face encoders in and out: random-initialised `transformers` BERT, RoBERTa and
DistilBERT (PyTorch, CPU) and their tfssl conversions give the same hidden states and masked-LM
logits; a tfssl model written as a Hugging Face directory loads in `transformers` (no missing or
unexpected tensors, same logits) and converts back to exactly the same weights."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")  # the test extra pins torch==2.13.0 (CPU)
transformers = pytest.importorskip("transformers")

from tfssl.convert import export_to_hf, load_hf_model  # noqa: E402
from tfssl.models.encoder_backbone import EncoderBackbone  # noqa: E402
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer  # noqa: E402
from tfssl.models.precision import set_precision  # noqa: E402

ARCHITECTURES = ("bert", "roberta", "distilbert")


def hf_model(architecture, vocabulary_size):
    """A tiny random masked-LM of `architecture`, every parameter perturbed so that none is trivial."""
    if architecture == "bert":
        config = transformers.BertConfig(vocab_size=vocabulary_size, hidden_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, intermediate_size=128, max_position_embeddings=64)
        model = transformers.BertForMaskedLM(config)
    elif architecture == "roberta":
        config = transformers.RobertaConfig(vocab_size=vocabulary_size, hidden_size=64, num_hidden_layers=2,
                                            num_attention_heads=4, intermediate_size=128, max_position_embeddings=66,
                                            type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1)
        model = transformers.RobertaForMaskedLM(config)
    else:
        config = transformers.DistilBertConfig(vocab_size=vocabulary_size, dim=64, n_layers=2, n_heads=4,
                                               hidden_dim=128, max_position_embeddings=64)
        model = transformers.DistilBertForMaskedLM(config)
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model.eval()


@pytest.fixture(scope="module", params=ARCHITECTURES)
def hf_dir(request, tmp_path_factory, vocab_dir):
    vocabulary_size = sum(1 for _ in open(os.path.join(vocab_dir, "vocab.txt"), encoding="utf-8"))
    model = hf_model(request.param, vocabulary_size)
    directory = tmp_path_factory.mktemp(f"hf-{request.param}")
    model.save_pretrained(directory)
    if request.param != "roberta":  # RoBERTa's tokenizer is byte-level BPE: no vocab.txt
        shutil.copy(os.path.join(vocab_dir, "vocab.txt"), directory / "vocab.txt")
    return request.param, directory, model


def torch_outputs(model, architecture, ids, mask, segments):
    kwargs = {"input_ids": torch.tensor(ids, dtype=torch.long), "attention_mask": torch.tensor(mask)}
    if architecture == "bert":
        kwargs["token_type_ids"] = torch.tensor(segments, dtype=torch.long)
    with torch.no_grad():
        out = model(**kwargs, output_hidden_states=True)
    return out.hidden_states[-1].numpy(), out.logits.numpy()


def inputs(architecture, vocabulary_size):
    rng = np.random.default_rng(0)
    ids = rng.integers(5, vocabulary_size, (3, 20)).astype("int32")  # 0-4: special ids (RoBERTa's pad is 1)
    mask = np.ones_like(ids)
    mask[1, 12:] = 0
    ids[1, 12:] = 1 if architecture == "roberta" else 0  # right padding, as tfssl's pipelines pad
    segments = np.zeros_like(ids)
    if architecture == "bert":
        segments[2, 10:] = 1
    return ids, mask, segments


def tfssl_outputs(pretrainer, ids, mask, segments, positions):
    features = {"token_ids": tf.constant(ids), "padding_mask": tf.constant(mask), "segment_ids": tf.constant(segments)}
    hidden = pretrainer.backbone(features)["sequence_output"].numpy()
    logits = pretrainer(dict(features, mask_positions=tf.constant(positions))).numpy()
    return hidden, logits


def test_outputs_equal_transformers(hf_dir, tokenizer):
    architecture, directory, model = hf_dir
    pretrainer, converted_tokenizer, converted = load_hf_model(directory)
    assert converted.model_type == architecture
    if architecture == "roberta":
        assert converted_tokenizer is None
    else:
        assert converted_tokenizer.vocabulary == tokenizer.vocabulary
    ids, mask, segments = inputs(architecture, pretrainer.backbone.vocabulary_size)
    expected_hidden, expected_logits = torch_outputs(model, architecture, ids, mask, segments)
    positions = np.tile(np.arange(6, dtype="int32"), (3, 1))
    hidden, logits = tfssl_outputs(pretrainer, ids, mask, segments, positions)
    real = mask.astype(bool)
    assert np.abs(hidden[real] - expected_hidden[real]).max() < 1e-4
    assert np.abs(logits - expected_logits[:, :6]).max() < 1e-4
    assert np.abs(expected_logits).max() > 1.0  # the comparison is not between near-zero tensors


def random_tfssl_model(architecture, vocabulary_size):
    """A tfssl masked-LM pretrainer the shape of a Hugging Face architecture, all weights random."""
    backbone = EncoderBackbone(vocabulary_size, 2, 4, 64, 128, max_sequence_length=64,
                               num_segments={"bert": 2, "roberta": 1, "distilbert": 0}[architecture],
                               dropout=0.0, position_initializer="truncated_normal", rotary=False)
    pretrainer = MaskedLMPretrainer(backbone)
    pretrainer.build()
    rng = np.random.default_rng(1)
    for variable in pretrainer.weights:
        variable.assign(variable.numpy() + rng.normal(0, 0.05, variable.shape).astype("float32"))
    return pretrainer


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_tfssl_to_hf_loads_in_transformers_and_round_trips_exactly(architecture, tmp_path, vocab_dir, tokenizer):
    pretrainer = random_tfssl_model(architecture, tokenizer.vocabulary_size)
    run = tmp_path / "run"
    shutil.copytree(vocab_dir, run / "tokenizer")
    pretrainer.save(str(run / "model.keras"))
    summary = export_to_hf(run, tmp_path / "hf", model_type=architecture)
    assert summary["model_type"] == architecture and "vocab.txt" in summary["tokenizer_files"]

    model, info = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "hf", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    ids, mask, segments = inputs(architecture, tokenizer.vocabulary_size)
    expected_hidden, expected_logits = torch_outputs(model.eval(), architecture, ids, mask, segments)
    hidden, logits = tfssl_outputs(pretrainer, ids, mask, segments, np.tile(np.arange(6, dtype="int32"), (3, 1)))
    real = mask.astype(bool)
    assert np.abs(hidden[real] - expected_hidden[real]).max() < 1e-4
    assert np.abs(logits - expected_logits[:, :6]).max() < 1e-4

    back, _, _ = load_hf_model(tmp_path / "hf")
    local = lambda model: {v.path.split("/", 2)[-1]: v.numpy() for v in model.weights if "/pooler/" not in v.path}
    before, after = local(pretrainer), local(back)  # the pooler is not part of a *ForMaskedLM checkpoint
    assert sorted(before) == sorted(after) and len(before) > 30
    for name in before:
        assert np.array_equal(before[name], after[name]), name


def test_exported_tokenizer_loads_in_transformers_with_the_same_ids(tmp_path, vocab_dir, tokenizer):
    pretrainer = random_tfssl_model("bert", tokenizer.vocabulary_size)
    run = tmp_path / "run"
    shutil.copytree(vocab_dir, run / "tokenizer")
    pretrainer.save(str(run / "model.keras"))
    export_to_hf(run, tmp_path / "hf")
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    texts = ["The Congress shall have Power to lay and collect Taxes.", "Ünïcode àccents, and numbers 1790!"]
    ours = tokenizer(tf.constant(texts)).to_list()
    for text, ids in zip(texts, ours):
        assert hf_tokenizer(text)["input_ids"] == [tokenizer.cls_token_id] + ids + [tokenizer.sep_token_id]


def test_fine_tuned_classifier_exports_its_encoder_as_the_base_model(tmp_path, tokenizer):
    """A fine-tuned (or contrastive) model has no masked-LM head: its encoder goes out as
    `BertModel`, pooler included, and `transformers.AutoModel` computes the same hidden states."""
    from tfssl.models.text_classifier import TextClassifier

    backbone = random_tfssl_model("bert", tokenizer.vocabulary_size).backbone
    classifier = TextClassifier(backbone, 3, dropout=0.0)
    classifier.build()
    classifier.save(str(tmp_path / "model.keras"))
    summary = export_to_hf(tmp_path / "model.keras", tmp_path / "hf")
    assert summary["class"] == "BertModel"
    model, info = transformers.AutoModel.from_pretrained(tmp_path / "hf", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    ids, mask, segments = inputs("bert", tokenizer.vocabulary_size)
    with torch.no_grad():
        out = model.eval()(input_ids=torch.tensor(ids, dtype=torch.long), attention_mask=torch.tensor(mask),
                           token_type_ids=torch.tensor(segments, dtype=torch.long))
    features = {"token_ids": tf.constant(ids), "padding_mask": tf.constant(mask), "segment_ids": tf.constant(segments)}
    ours = backbone(features)
    real = mask.astype(bool)
    assert np.abs(ours["sequence_output"].numpy()[real] - out.last_hidden_state.numpy()[real]).max() < 1e-4
    assert np.abs(ours["pooled_output"].numpy() - out.pooler_output.numpy()).max() < 1e-4


def test_a_model_trained_in_mixed_precision_converts_with_parity(tmp_path, vocab_dir, tokenizer):
    """Variables stay float32 under `mixed_bfloat16`: the checkpoint a bfloat16 run writes converts exactly."""
    pretrainer = random_tfssl_model("bert", tokenizer.vocabulary_size)
    start = [w.numpy().copy() for w in pretrainer.weights]
    pretrainer.compile(learning_rate=1e-3, warmup_steps=1, total_steps=6, precision="mixed_bfloat16")
    ids, mask, segments = inputs("bert", tokenizer.vocabulary_size)
    positions = np.tile(np.arange(1, 7, dtype="int32"), (3, 1))
    x = {"token_ids": ids, "padding_mask": mask, "segment_ids": segments, "mask_positions": positions}
    pretrainer.fit(x, np.take_along_axis(ids, positions, axis=1), sample_weight=np.ones((3, 6), "float32"),
                   epochs=6, verbose=0)
    assert all(w.dtype == "float32" for w in pretrainer.weights if "seed" not in w.path)
    assert max(np.abs(w.numpy() - s).max() for w, s in zip(pretrainer.weights, start)) > 1e-4  # it trained
    run = tmp_path / "run"
    shutil.copytree(vocab_dir, run / "tokenizer")
    pretrainer.save(str(run / "model.keras"))
    export_to_hf(run, tmp_path / "hf", model_type="bert")

    model = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "hf")
    expected_hidden, expected_logits = torch_outputs(model.eval(), "bert", ids, mask, segments)
    set_precision(pretrainer, "float32")  # the same float32 weights, computed in float32 as transformers does
    hidden, logits = tfssl_outputs(pretrainer, ids, mask, segments, np.tile(np.arange(6, dtype="int32"), (3, 1)))
    real = mask.astype(bool)
    assert np.abs(hidden[real] - expected_hidden[real]).max() < 1e-4
    assert np.abs(logits - expected_logits[:, :6]).max() < 1e-4
