"""Precision is a policy: `compile(precision=...)` sets it on a task and every layer in it; variables,
losses and the logits feeding them stay float32; every pretrainer follows its
float32 loss curve under `mixed_bfloat16` (with XLA); float16 loss scaling skips overflowing steps
without a NaN, with gradient accumulation and in the MoCo step, and keeps mirrored replicas in step (a
replica that skipped alone would leave the other waiting in its all-reduce)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import json_from_fresh_process
from tests.synthetic_mlm import masked_lm_examples
from tfssl.models import (CausalLMPretrainer, ContrastivePretrainer, DecoderBackbone, EncoderBackbone,
                          MaskedLMPretrainer, resolve_precision, set_precision)

STEPS = 20


def _encoder(dropout=0.0):
    return EncoderBackbone(60, 2, 2, 32, 64, max_sequence_length=16, dropout=dropout)


def _data(kind):
    """Fixed synthetic batches (16 examples) that each model can learn something from."""
    rng = np.random.default_rng(1)
    ids = rng.integers(5, 60, (16, 17)).astype("int32")
    ids[:, 1::2] = ids[:, ::2][:, :8]  # every other token repeats its left neighbour: learnable
    if kind == "mlm":
        x, y, w = masked_lm_examples()
        return {k: v[:16] for k, v in x.items()}, y[:16], w[:16]
    if kind == "clm":
        return {"token_ids": ids[:, :-1]}, ids[:, 1:], None
    return {"token_ids": ids[:, :16], "padding_mask": np.ones((16, 16), "int32")}, None, None  # SimCSE


def _model(kind):
    if kind == "mlm":
        return MaskedLMPretrainer(_encoder())
    if kind == "clm":
        return CausalLMPretrainer(DecoderBackbone(60, 2, 2, 32, 64, max_sequence_length=16))
    return ContrastivePretrainer(_encoder(dropout=0.1))


def loss_curve(kind, precision, steps=STEPS):
    keras.utils.set_random_seed(0)
    model = _model(kind)
    model.build()
    schedule = {} if kind == "simcse" else {"warmup_steps": 2, "total_steps": steps}
    # XLA for the causal LM (bfloat16 under XLA); plain graphs for the rest, which compile in a third of the time.
    model.compile(learning_rate=3e-3, precision=precision, jit_compile=kind == "clm", **schedule)
    x, y, w = _data(kind)
    losses = [float(model.train_on_batch(x, y, sample_weight=w, return_dict=True)["loss"]) for _ in range(steps)]
    return model, np.array(losses)


def test_auto_is_float32_on_a_cpu_and_names_are_checked():
    assert resolve_precision("auto") == "float32"  # no GPU or TPU here
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        resolve_precision("bf16")


def test_every_layer_takes_the_policy_and_weights_stay_float32():
    model = CausalLMPretrainer(DecoderBackbone(60, 2, 2, 32, 64, max_sequence_length=16))
    model.build()
    model.compile(learning_rate=1e-3, precision="mixed_bfloat16")
    layers = list(model._flatten_layers())
    assert len(layers) > 10 and {layer.dtype_policy.name for layer in layers} == {"mixed_bfloat16"}
    assert {w.dtype for w in model.weights if "seed" not in w.path} == {"float32"}
    ids = np.arange(32, dtype="int32").reshape(2, 16) % 60
    logits = model({"token_ids": ids})
    assert logits.dtype == tf.bfloat16
    loss = model.compute_loss(y=ids, y_pred=logits)
    assert loss.dtype == tf.float32
    set_precision(model, "float32")
    np.testing.assert_allclose(model({"token_ids": ids}).numpy(), tf.cast(logits, tf.float32).numpy(), atol=0.05)


@pytest.mark.parametrize("kind", ["mlm", "clm", "simcse"])  # fine-tuning: benchmarks/precision_curves.py
def test_bfloat16_follows_the_float32_loss_curve(kind):
    _, float32 = loss_curve(kind, "float32")
    _, bfloat16 = loss_curve(kind, "mixed_bfloat16")
    assert np.isfinite(bfloat16).all()
    assert bfloat16[-5:].mean() < 0.8 * bfloat16[:3].mean(), bfloat16  # it learns
    gap = np.max(np.abs(bfloat16 - float32) / float32[0])
    assert gap < 0.05, (kind, gap, float32, bfloat16)


FLOAT16_SCRIPT = r"""
import json
import numpy as np, tensorflow as tf, keras
from tests.synthetic_mlm import two_logical_cpus
two_logical_cpus()
from tfssl.models import CausalLMPretrainer, ContrastivePretrainer, DecoderBackbone, EncoderBackbone
from tfssl.optimizers import GlobalClipAdamW, ReplicaLossScaleOptimizer
from tfssl.training.strategy import choose_strategy

rng = np.random.default_rng(0)
ids = rng.integers(5, 60, (32, 17)).astype("int32")
data = {"clm": ({"token_ids": ids[:, :-1]}, ids[:, 1:]),
        "moco": ({"token_ids": ids[:, :16], "padding_mask": np.ones((32, 16), "int32")}, None)}
out = {}
for name in ("one_device", "mirrored"):
    strategy = choose_strategy(name)
    for kind, accumulation in (("clm", 1), ("clm", 2), ("moco", 1)):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            if kind == "clm":
                model = CausalLMPretrainer(DecoderBackbone(60, 1, 2, 32, 64, max_sequence_length=16))
                inner = GlobalClipAdamW(learning_rate=3e-3, global_clipnorm=1.0)
            else:
                model = ContrastivePretrainer(EncoderBackbone(60, 1, 2, 32, 64, max_sequence_length=16, dropout=0.1),
                                              queue_size=32)
                inner = keras.optimizers.AdamW(learning_rate=3e-3)
            model.build()
            # A scale of 2**24 overflows float16 at once: the first steps must be skipped, not applied.
            model.compile(optimizer=ReplicaLossScaleOptimizer(inner, initial_scale=2.0 ** 24), precision="mixed_float16",
                          jit_compile=False, gradient_accumulation_steps=accumulation)
        x, y = data[kind]
        batches = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y)).batch(16).repeat()
        history = model.fit(batches, steps_per_epoch=10, epochs=3, verbose=0).history
        weights = np.concatenate([w.numpy().ravel() for w in model.weights if w.dtype == "float32"])
        out[f"{kind}-{accumulation}-{name}"] = {
            "loss": history["loss"], "weights_finite": bool(np.isfinite(weights).all()),
            "scale": float(model.optimizer.dynamic_scale.numpy()),
            "applied": int(model.optimizer.iterations.numpy()), "prediction": weights[:2000].tolist()}
print(json.dumps(out))
"""


def test_float16_loss_scaling_skips_overflowing_steps_and_keeps_replicas_in_step():
    out = json_from_fresh_process(FLOAT16_SCRIPT)
    for key, run in out.items():
        assert run["weights_finite"] and np.isfinite(run["loss"]).all(), key
        assert run["scale"] < 2.0 ** 20, key  # it came down from 2**24 ...
        assert 0 < run["applied"] < 30, key  # ... by skipping steps; then it trained
        if key.startswith("clm"):
            assert run["loss"][-1] < 0.9 * run["loss"][0], (key, run["loss"])
    for kind in ("clm-1", "clm-2"):  # no dropout: one device and two replicas compute the same model
        one, mirrored = out[f"{kind}-one_device"], out[f"{kind}-mirrored"]
        assert one["applied"] == mirrored["applied"] and one["scale"] == mirrored["scale"], kind  # the same steps skipped
        np.testing.assert_allclose(mirrored["prediction"], one["prediction"], atol=2e-2)


def test_held_out_perplexity_of_a_bfloat16_model():
    from tfssl.metrics.causal_lm_perplexity import sliding_window_perplexity

    keras.utils.set_random_seed(0)
    model = CausalLMPretrainer(DecoderBackbone(60, 1, 2, 32, 64, max_sequence_length=16))
    model.build()
    stream = np.arange(300) * 7 % 60
    float32 = sliding_window_perplexity(model, stream, 16)["perplexity"]
    set_precision(model, "mixed_bfloat16")
    bfloat16 = sliding_window_perplexity(model, stream, 16)["perplexity"]
    assert float32 > 30 and abs(bfloat16 - float32) / float32 < 0.02, (float32, bfloat16)
