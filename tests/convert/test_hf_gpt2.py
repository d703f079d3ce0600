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


def random_gpt2(vocabulary_size, positions):
    """A tiny random `GPT2LMHeadModel`, every parameter perturbed so that none is trivial."""
    config = transformers.GPT2Config(vocab_size=vocabulary_size, n_embd=64, n_layer=2, n_head=4, n_positions=positions,
                                     bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model.eval()


@pytest.fixture(scope="module")
def hf_gpt2(tmp_path_factory):
    model = random_gpt2(VOCABULARY, 48)
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
    backbone = DecoderBackbone(VOCABULARY, 2, 4, 64, 256, max_sequence_length=48, rotary=False)
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

    pretrainer = CausalLMPretrainer(DecoderBackbone(VOCABULARY, 1, 2, 32, 64, max_sequence_length=16, rotary=True))
    pretrainer.build()
    pretrainer.save(str(tmp_path / "model.keras"))
    with pytest.raises(CheckpointError, match="rotary positions"):
        export_to_hf(tmp_path / "model.keras", tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


_SERVE = """
import json, sys
from tfssl.export.saved_model_loading import generate, score
texts = json.load(open(sys.argv[2], encoding="utf-8"))
print(json.dumps({"score": score(sys.argv[1], texts), "generate": generate(sys.argv[1], texts, max_new_tokens=8)}))
"""


def test_converted_gpt2_serves_raw_strings_like_transformers(tmp_path, small_texts):
    """Byte-level BPE in the graph: `tfssl convert from-hf` + `tfssl export` give a SavedModel
    whose `score` and greedy `generate` on raw strings, in a fresh process, equal transformers'."""
    import json
    import subprocess
    import sys

    tokenizers = pytest.importorskip("tokenizers")
    from tests.helpers import FRESH_ENV, tfssl_cli

    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator(small_texts[:20], vocab_size=1000, special_tokens=["<|endoftext|>"], show_progress=False)
    model = random_gpt2(bpe.get_vocab_size(), 64)
    model.save_pretrained(tmp_path / "hf")
    bpe.save(str(tmp_path / "hf" / "tokenizer.json"))
    for command in (("convert", "from-hf", str(tmp_path / "hf"), "--name", "gpt2", "--output-dir", str(tmp_path / "runs")),
                    ("export", str(tmp_path / "runs" / "gpt2"), "--export-dir", str(tmp_path / "saved_models"))):
        done = tfssl_cli(*command)
        assert done.returncode == 0, done.stderr[-3000:]

    texts = ["The Congress of the United States", "Our economy is  growing, and 1,000 jobs"]
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    done = subprocess.run([sys.executable, "-c", _SERVE, str(tmp_path / "saved_models" / "gpt2"),
                           str(tmp_path / "texts.json")], capture_output=True, text=True, env=FRESH_ENV, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    served = json.loads(done.stdout.strip().splitlines()[-1])
    reference = tokenizers.Tokenizer.from_file(str(tmp_path / "hf" / "tokenizer.json"))
    for text, scored, completion in zip(texts, served["score"], served["generate"]):
        ids = torch.tensor([[0] + reference.encode(text).ids])  # end of text first, as tfssl scores and prompts
        with torch.no_grad():
            log_probs = torch.log_softmax(model(input_ids=ids).logits[0, :-1], -1)
            expected = float(log_probs.gather(1, ids[0, 1:, None]).sum())
            greedy = model.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=0)[0, ids.shape[1]:]
        assert scored["num_tokens"] == ids.shape[1] - 1
        assert abs(scored["log_likelihood"] - expected) < 1e-3 * max(1.0, abs(expected))
        greedy = greedy.tolist()
        greedy = greedy[:greedy.index(0)] if 0 in greedy else greedy  # generation stops at end of text
        assert completion == reference.decode(greedy, skip_special_tokens=True)
