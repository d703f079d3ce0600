"""Hugging Face GPT-2 in and out: a random-initialised `transformers.GPT2LMHeadModel` and its tfssl
`CausalLMPretrainer` give the same logits (full sequence and through the key/value cache); a tfssl
decoder written out loads as `GPT2LMHeadModel` with the same logits and converts back exactly."""

import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tfssl.convert import export_to_hf, load_hf_model  # noqa: E402
from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer  # noqa: E402
from tfssl.models.decoder_backbone import DecoderBackbone  # noqa: E402

VOCABULARY = 300


@pytest.fixture(scope="module")
def hf_gpt2(tmp_path_factory):
    config = transformers.GPT2Config(vocab_size=VOCABULARY, n_embd=64, n_layer=2, n_head=4, n_positions=48,
                                     bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    model.eval()
    directory = tmp_path_factory.mktemp("hf-gpt2")
    model.save_pretrained(directory)
    return directory, model


def torch_logits(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor(ids, dtype=torch.long)).logits.numpy()


def test_gpt2_logits_equal_transformers(hf_gpt2):
    directory, model = hf_gpt2
    pretrainer, tokenizer, architecture = load_hf_model(directory)
    assert architecture.model_type == "gpt2" and tokenizer is None  # byte-level BPE: token ids in
    ids = np.random.default_rng(0).integers(0, VOCABULARY, (2, 24)).astype("int32")
    expected = torch_logits(model, ids)
    logits = pretrainer({"token_ids": tf.constant(ids)}).numpy()
    assert np.abs(logits - expected).max() < 1e-4 and np.abs(expected).max() > 1.0
    # One position at a time through the cache: the path generation uses.
    backbone = pretrainer.backbone
    cache = backbone.empty_cache(2, 24)
    step_logits = []
    for t in range(24):
        hidden, cache = backbone.call_with_cache(tf.constant(ids[:, t:t + 1]), cache, t)
        step_logits.append(backbone.token_logits(hidden).numpy()[:, 0])
    assert np.abs(np.stack(step_logits, 1) - expected).max() < 1e-4


def test_tfssl_decoder_to_hf_and_back(tmp_path):
    backbone = DecoderBackbone(VOCABULARY, 2, 4, 64, 256, sequence_length=48, rotary=False)
    pretrainer = CausalLMPretrainer(backbone)
    pretrainer.build()
    rng = np.random.default_rng(1)
    for variable in pretrainer.weights:
        variable.assign(variable.numpy() + rng.normal(0, 0.05, variable.shape).astype("float32"))
    pretrainer.save(str(tmp_path / "model.keras"))
    summary = export_to_hf(tmp_path / "model.keras", tmp_path / "hf")
    assert summary["class"] == "GPT2LMHeadModel"
    model, info = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    ids = rng.integers(0, VOCABULARY, (2, 16)).astype("int32")
    expected = torch_logits(model.eval(), ids)
    assert np.abs(pretrainer({"token_ids": tf.constant(ids)}).numpy() - expected).max() < 1e-4
    back, _, _ = load_hf_model(tmp_path / "hf")
    for before, after in zip(pretrainer.weights, back.weights):
        assert np.array_equal(before.numpy(), after.numpy()), before.path


def test_rotary_decoder_is_refused_with_the_reason(tmp_path):
    from tfssl.convert import CheckpointError

    pretrainer = CausalLMPretrainer(DecoderBackbone(VOCABULARY, 1, 2, 32, 64, sequence_length=16, rotary=True))
    pretrainer.build()
    pretrainer.save(str(tmp_path / "model.keras"))
    with pytest.raises(CheckpointError, match="rotary positions"):
        export_to_hf(tmp_path / "model.keras", tmp_path / "hf")
    assert not (tmp_path / "hf").exists()
