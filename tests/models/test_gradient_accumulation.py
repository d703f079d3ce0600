"""Gradient accumulation: a step over k micro-batches equals one step over the k-times larger
batch (losses and weights to 1e-5), on one device and under MirroredStrategy on 2 logical CPU
devices (a fresh process: logical devices are set before TensorFlow starts), for every model
trained with it: the masked-LM pretrainer (its micro-batches hold different numbers of masked
tokens, so a per-micro-batch mean would not match), the causal LM, and the text classifier
(with per-example class weights)."""

import itertools

from tests.helpers import json_from_fresh_process

SCRIPT = r"""
import json
import numpy as np, tensorflow as tf, keras
from tests.synthetic_mlm import masked_lm_examples, two_logical_cpus
two_logical_cpus()
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer
from tfssl.models.decoder_backbone import DecoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
from tfssl.models.text_classifier import TextClassifier
from tfssl.training.strategy import choose_strategy

rng = np.random.default_rng(1)
ids = rng.integers(5, 60, (64, 17)).astype("int32")
data = {
    "mlm": masked_lm_examples(weight_rate=0.6),  # micro-batches hold different masked-token counts
    "clm": ({"token_ids": ids[:, :-1]}, ids[:, 1:]),
    "classifier": ({"token_ids": ids[:, :16], "padding_mask": np.ones((64, 16), "int32")},
                   rng.integers(0, 3, 64).astype("int32"), rng.choice([0.5, 1.0, 2.0], 64).astype("float32")),
}
accuracy = {"mlm": "masked_accuracy", "clm": "token_accuracy", "classifier": "accuracy"}

def build(kind, steps):
    if kind == "mlm":
        model = MaskedLMPretrainer(EncoderBackbone(60, 1, 2, 32, 64, max_sequence_length=16, dropout=0.0))
    elif kind == "clm":
        model = CausalLMPretrainer(DecoderBackbone(60, 1, 2, 32, 64, max_sequence_length=16, dropout=0.0))
    else:
        model = TextClassifier(EncoderBackbone(60, 1, 2, 32, 64, max_sequence_length=16, dropout=0.0), 3, dropout=0.0)
    model.build()
    model.compile(learning_rate=1e-2, warmup_steps=2, total_steps=8, jit_compile=False,
                  gradient_accumulation_steps=steps)
    return model

out = {}
for name in ("one_device", "mirrored"):
    strategy = choose_strategy(name)  # one per process: two MirroredStrategy objects' collectives collide
    for kind, examples in data.items():
      for steps in (1, 4):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = build(kind, steps)
        batches = tf.data.Dataset.from_tensor_slices(examples).batch(16)
        first = model.fit(batches.take(1), epochs=1, verbose=0).history  # one optimizer step
        one_step = np.concatenate([v.numpy().ravel() for v in model.weights]).tolist()
        history = model.fit(batches, epochs=2, verbose=0).history  # then 8 more
        out[f"{kind}-{name}-{steps}"] = {"first_loss": first["loss"], "one_step": one_step, "loss": history["loss"],
                                  "accuracy": history[accuracy[kind]],
                                  "iterations": int(model.optimizer.iterations.numpy()),
                                  "weights": np.concatenate([v.numpy().ravel() for v in model.weights]).tolist()}
print(json.dumps(out))
"""


def test_accumulated_micro_batches_equal_the_large_batch_on_one_device_and_mirrored():
    """All three models, both strategies."""
    import numpy as np

    runs = json_from_fresh_process(SCRIPT)
    assert len(runs) == 12
    for kind, name in itertools.product(("mlm", "clm", "classifier"), ("one_device", "mirrored")):
        large, accumulated = runs[f"{kind}-{name}-1"], runs[f"{kind}-{name}-4"]
        assert large["iterations"] == accumulated["iterations"] == 9  # one optimizer step per batch
        # One step: the same loss and the same updated weights.
        np.testing.assert_allclose(accumulated["first_loss"], large["first_loss"], atol=1e-5)
        np.testing.assert_allclose(accumulated["one_step"], large["one_step"], atol=1e-5, err_msg=f"{kind} {name}")
        # 8 steps more: summation order differs in the last bits, which Adam's normalised steps
        # carry into the weights; a wrong normalisation (a per-micro-batch mean) is off by ~1e-2.
        np.testing.assert_allclose(accumulated["loss"], large["loss"], atol=1e-3, err_msg=kind)
        # Accuracy counts argmax hits: a near tie may flip for one of the 64 examples.
        np.testing.assert_allclose(accumulated["accuracy"], large["accuracy"], atol=1.5 / 64, err_msg=kind)
        assert large["loss"][-1] < large["loss"][0]
