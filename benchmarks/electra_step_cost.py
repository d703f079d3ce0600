"""ELECTRA's train step against the masked LM's, and what its replacement sampler costs.

Prints one JSON object: seconds per train step (median of interleaved rounds) of `MaskedLMPretrainer` and
`ElectraPretrainer` on the same encoder and batches, ELECTRA with tfssl's `softmax_sample` (two-level inverse
CDF) and with `tf.random.stateless_categorical`, and the ratios. The ELECTRA/masked-LM ratio is what gives
ELECTRA the masked LM's training time: `tfssl pretrain electra` steps = masked-LM steps / ratio.

    python benchmarks/electra_step_cost.py [--preset tiny] [--vocabulary-size 8192] [--rounds 4] [--steps 30]
"""

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mlm_throughput import synthetic_batches, time_steps  # noqa: E402


def categorical_sample(self, generator_logits):
    """ElectraPretrainer.sample with `tf.random.stateless_categorical` (Keras' categorical), for comparison."""
    import keras
    import tensorflow as tf

    logits = tf.stop_gradient(tf.cast(generator_logits, tf.float32))
    shape = tf.shape(logits)
    draws = keras.random.categorical(tf.reshape(logits, [-1, shape[-1]]), 1, seed=self.seed_generator, dtype="int32")
    return tf.reshape(draws, shape[:2])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--vocabulary-size", type=int, default=8192)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args(argv)

    from tfssl.models.electra_pretrainer import ElectraPretrainer
    from tfssl.models.encoder_backbone import EncoderBackbone
    from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer

    class CategoricalElectra(ElectraPretrainer):
        sample = categorical_sample

    batches = synthetic_batches(args.vocabulary_size, args.sequence_length, args.batch_size, 8)
    makers = {"mlm": MaskedLMPretrainer, "electra": ElectraPretrainer, "electra_categorical": CategoricalElectra}
    models = {}
    for name, cls in makers.items():
        model = cls(EncoderBackbone.from_preset(args.preset, vocabulary_size=args.vocabulary_size))
        model.compile(learning_rate=1e-3, warmup_steps=10, total_steps=10_000)
        time_steps(model, batches, 3)  # compile
        models[name] = model
    seconds = {name: [] for name in models}
    for _ in range(args.rounds):  # interleaved: machine noise hits every model alike
        for name, model in models.items():
            seconds[name].append(time_steps(model, batches, args.steps) / args.steps)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(json.dumps({
        "benchmark": "electra_step_cost", "preset": args.preset, "vocabulary_size": args.vocabulary_size,
        "sequence_length": args.sequence_length, "batch_size": args.batch_size, "rounds": args.rounds,
        "steps": args.steps, "seconds_per_step": {k: round(v, 4) for k, v in median.items()},
        "electra_over_mlm": round(median["electra"] / median["mlm"], 3),
        "categorical_over_softmax_sample": round(median["electra_categorical"] / median["electra"], 3),
    }, indent=2))


if __name__ == "__main__":
    main()
