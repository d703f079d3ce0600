"""The causal LM learns: its loss falls far below a unigram model's, and greedy decoding
reproduces what it learned, stopping at end of text."""

import numpy as np
import tensorflow as tf

from tests.helpers import PATTERN_DOCUMENTS
from tfssl.data.causal_lm_pipeline import lm_batches, token_stream
from tfssl.metrics.causal_lm_perplexity import unigram_perplexity
from tfssl.models.text_generator import TextGenerator


def test_loss_falls_far_below_the_unigram_baseline(pattern_lm):
    pretrainer, tokenizer, history = pattern_lm
    losses = history.history["loss"]
    assert losses[-1] < losses[0] * 0.6, losses
    stream = token_stream(PATTERN_DOCUMENTS[:40], tokenizer)
    held_out = pretrainer.evaluate(lm_batches(stream, 32, 8, training=False), return_dict=True, verbose=0)
    unigram = unigram_perplexity(stream, stream, tokenizer.vocabulary_size)["perplexity"]
    # Four equally likely sentences: log(4) = 1.39 nats of choice per 13 tokens (12 characters and
    # end of text), so the best possible perplexity is ~1.11; the unigram model's is ~10.
    assert held_out["perplexity"] < 2.0 < unigram / 4, (held_out, unigram)
    assert np.isclose(np.log(held_out["perplexity"]), held_out["loss"], atol=1e-3)


def test_greedy_generation_completes_a_learned_sentence_and_stops(pattern_lm):
    pretrainer, tokenizer, _ = pattern_lm
    generator = TextGenerator(pretrainer, tokenizer)
    out = generator.generate(tf.constant(["the cat s", "a dog r"]), 20, 0.0, 0, 1.0, 0)
    assert [c.decode() for c in out["completions"].numpy()] == ["at.", "an."]
    assert out["stopped_at_end_of_text"].numpy().tolist() == [True, True]
    assert out["num_tokens"].numpy().tolist() == [3, 3]


MIRRORED_SCRIPT = r"""
import json
import numpy as np, tensorflow as tf, keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfssl.data.causal_lm_pipeline import lm_batches
from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer
from tfssl.models.decoder_backbone import DecoderBackbone
from tfssl.training.strategy import choose_strategy

stream = np.random.default_rng(0).integers(2, 50, 4000).astype("int32")
out = {}
for name in ("one_device", "mirrored"):
    strategy = choose_strategy(name)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = CausalLMPretrainer(DecoderBackbone(50, 2, 2, 32, 64, max_sequence_length=16))
        model.build()
        model.compile(learning_rate=1e-3, warmup_steps=2, total_steps=30, jit_compile=False)
    history = model.fit(lm_batches(stream, 16, 8, seed=0), steps_per_epoch=10, epochs=3, verbose=0).history
    out[name] = {"loss": history["loss"], "replicas": strategy.num_replicas_in_sync,
                 "logits": model({"token_ids": stream[None, :16]}).numpy().ravel()[::7].tolist()}
print(json.dumps(out))
"""


def test_mirrored_on_two_cpus_trains_like_one_device():
    """Global batch 8 as 2 replicas x 4 gives the one-device losses and outputs, gradient clipping
    included (a fresh process: logical devices must be set before TensorFlow starts). Outputs, not
    raw weights, and to 2e-3: summing two half-batch gradients differs from one full-batch gradient
    in the last float bits, and Adam scales near-zero gradients (the attention key bias has a zero
    true gradient) up to full-size steps. Clipping each replica's share (Keras' AdamW) is off by
    far more: see tests/optimizers/test_global_clip_adamw.py."""
    import json
    import subprocess
    import sys

    from tests.helpers import FRESH_ENV

    proc = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True, text=True, env=FRESH_ENV,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    one, mirrored = result["one_device"], result["mirrored"]
    assert (one["replicas"], mirrored["replicas"]) == (1, 2)
    np.testing.assert_allclose(one["loss"], mirrored["loss"], atol=1e-5)
    np.testing.assert_allclose(one["logits"], mirrored["logits"], atol=2e-3)
