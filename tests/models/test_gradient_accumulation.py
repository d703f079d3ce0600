"""Gradient accumulation: a masked-LM step over k micro-batches equals one step over the k-times
larger batch (losses and weights to 1e-5), on one device and under MirroredStrategy on 2 logical
CPU devices (a fresh process: logical devices are set before TensorFlow starts). The micro-batches
hold different numbers of masked tokens, so a per-micro-batch mean would not match."""

import json
import os
import subprocess
import sys

from tests.helpers import FRESH_ENV

SCRIPT = r"""
import json
import numpy as np, tensorflow as tf, keras
from tests.synthetic_mlm import masked_lm_examples, two_logical_cpus
two_logical_cpus()
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
from tfssl.training.strategy import choose_strategy

x, y, w = masked_lm_examples(weight_rate=0.6)  # micro-batches hold different masked-token counts
out = {}
for name in ("one_device", "mirrored"):
    strategy = choose_strategy(name)  # one per process: two MirroredStrategy objects' collectives collide
    for steps in (1, 4):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = MaskedLMPretrainer(EncoderBackbone(60, 2, 2, 32, 64, sequence_length=16, dropout=0.0))
            model.build()
            model.compile(learning_rate=1e-2, warmup_steps=2, total_steps=12, jit_compile=False,
                          gradient_accumulation_steps=steps)
        batches = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(16)
        first = model.fit(batches.take(1), epochs=1, verbose=0).history  # one optimizer step
        one_step = np.concatenate([v.numpy().ravel() for v in model.weights]).tolist()
        history = model.fit(batches, epochs=3, verbose=0).history  # then 12 more
        out[f"{name}-{steps}"] = {"first_loss": first["loss"], "one_step": one_step, "loss": history["loss"],
                                  "accuracy": history["masked_accuracy"],
                                  "iterations": int(model.optimizer.iterations.numpy()),
                                  "weights": np.concatenate([v.numpy().ravel() for v in model.weights]).tolist()}
print(json.dumps(out))
"""


def test_accumulated_micro_batches_equal_the_large_batch_on_one_device_and_mirrored():
    import numpy as np

    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=FRESH_ENV, timeout=600,
                          cwd=os.path.join(os.path.dirname(__file__), "..", ".."))
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in ("one_device", "mirrored"):
        large, accumulated = runs[f"{name}-1"], runs[f"{name}-4"]
        assert large["iterations"] == accumulated["iterations"] == 13  # one optimizer step per batch
        # One step: the same loss and the same updated weights.
        np.testing.assert_allclose(accumulated["first_loss"], large["first_loss"], atol=1e-5)
        np.testing.assert_allclose(accumulated["one_step"], large["one_step"], atol=1e-5)
        # 12 steps more: summation order differs in the last bits, which Adam's normalised steps
        # carry into the weights; a wrong normalisation (a per-micro-batch mean) is off by ~1e-2.
        np.testing.assert_allclose(accumulated["loss"], large["loss"], atol=1e-3)
        np.testing.assert_allclose(accumulated["accuracy"], large["accuracy"], atol=1e-3)
        assert large["loss"][-1] < large["loss"][0]
