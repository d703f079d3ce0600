"""Accelerator suite: training tokens/s and MFU of the three objectives, float32 and mixed precision, beside KerasHub.

Prints one JSON object. For each objective, each precision and each implementation, in one process with the
rounds interleaved (objective x precision x implementation, then again; the median round is reported):

* masked LM: tfssl's `MaskedLMPretrainer` on its default encoder (rotary attention) beside KerasHub's
  `BertMaskedLM` of the same size, vocabulary 30,522, 15% of the tokens predicted;
* causal LM: tfssl's `CausalLMPretrainer` beside KerasHub's `GPT2CausalLM`, GPT-2's vocabulary (50,257);
* SimCSE (unsupervised, dropout views): tfssl's `ContrastivePretrainer`. KerasHub has no contrastive task, so
  nothing stands beside it.

Every model trains with XLA (`jit_compile=True`), AdamW, dropout 0.1 and the metrics its `fit` shows by default,
on random token ids (speed does not depend on them) through `train_on_batch`. Mixed precision is
`mixed_bfloat16`, or `mixed_float16` where `precision="auto"` picks it (a GPU without bfloat16); tfssl sets it
with `compile(precision=...)`, KerasHub by building its models under the Keras global policy.

Sizes: on a GPU or TPU the `base` encoder (BERT-base, 12 x 768) and the `gpt2` decoder (GPT-2 124M), batch 64;
on a CPU the `tiny` presets, batch 32 (a test runs this, so it cannot rot). Sequence 128. Flags override all.

FLOPs per trained token (the PaLM paper's count, appendix B): 6 x the weights of every matmul the token passes
through + 12 x layers x hidden x sequence (attention scores and their weighted sum, forward and backward).
The vocabulary projection counts once per token for the causal LM and for the masked LM's predicted share of
tokens only; SimCSE runs every sentence through the encoder twice, so its count per input token is twice the
encoder's. MFU = FLOPs/s over the device's peak for that precision: the nominal dense peak of known GPUs
(`--peak-tflops` to give one; float32 matmuls use TF32 tensor cores on Ampere and newer, as TensorFlow does by
default), and, on every device, the peak a large matmul reaches in this process (`measured_matmul_tflops`).

    python benchmarks/accelerator_suite.py [--objectives mlm clm simcse] [--rounds 5] [--steps 10]
        [--encoder-preset base] [--decoder-preset gpt2] [--batch-size 64] [--no-keras-hub]
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE_KEYS = ("num_layers", "num_heads", "hidden_dim", "intermediate_dim")
VOCABULARY = {"mlm": 30522, "clm": 50257, "simcse": 30522}
# Nominal dense peaks in TFLOP/s (vendor data sheets, SXM parts); float32 means TF32 tensor cores.
NOMINAL_PEAK_TFLOPS = {
    "H200": {"bfloat16": 989.4, "float16": 989.4, "float32": 494.7},
    "H100": {"bfloat16": 989.4, "float16": 989.4, "float32": 494.7},
    "A100": {"bfloat16": 312.0, "float16": 312.0, "float32": 156.0},
    "L4": {"bfloat16": 121.0, "float16": 121.0, "float32": 60.0},
    "V100": {"float16": 125.0, "float32": 15.7},
    "T4": {"float16": 65.0, "float32": 8.1},
}


def device_description():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return "GPU", tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    if tf.config.list_logical_devices("TPU"):
        return "TPU", "TPU"
    return "CPU", f"CPU ({os.cpu_count()} logical cores)"


def mixed_policy():
    from tfssl.models.precision import resolve_precision

    auto = resolve_precision("auto")
    return auto if auto != "float32" else "mixed_bfloat16"


def flops_per_token(objective, size, vocabulary_size, sequence_length, predicted_share):
    """Training FLOPs per input token (see the module docstring)."""
    layers, hidden, intermediate = size["num_layers"], size["hidden_dim"], size["intermediate_dim"]
    per_layer = 4 * hidden * hidden + 2 * hidden * intermediate  # QKV + attention output, and the feed-forward
    body = 6 * layers * per_layer + 12 * layers * hidden * sequence_length
    if objective == "clm":
        return body + 6 * hidden * vocabulary_size
    if objective == "mlm":
        return body + predicted_share * 6 * (hidden * hidden + hidden * vocabulary_size)  # transform + projection
    return 2 * (body + 6 * hidden * hidden / sequence_length)  # two views; the CLS MLP once per sentence and view


def measured_matmul_tflops(dtype, n):
    """TFLOP/s of an n x n x n matmul in `dtype`, XLA-compiled, the best of 5 after a warm-up."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    matmul = tf.function(lambda a, b: tf.reduce_sum(tf.cast(tf.matmul(a, b)[:1], tf.float32)), jit_compile=True)
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * n ** 3 / best / 1e12


def batches(objective, vocabulary_size, sequence_length, batch_size, count=4, seed=0):
    """Fixed random batches: masked by tfssl's masker for the masked LM, shifted ids for the causal LM, the
    sentences alone for SimCSE. (`main` puts this folder on `sys.path` for `mlm_throughput`.)"""
    if objective == "mlm":
        from mlm_throughput import synthetic_batches

        return synthetic_batches(vocabulary_size, sequence_length, batch_size, count, seed)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        ids = rng.integers(5, vocabulary_size, size=(batch_size, sequence_length + 1)).astype("int32")
        x = {"token_ids": ids[:, :-1], "padding_mask": np.ones((batch_size, sequence_length), "int32")}
        out.append((x, ids[:, 1:] if objective == "clm" else None, None))
    return out


def tfssl_model(objective, preset, vocabulary_size, sequence_length, dropout, precision, jit_compile):
    from tfssl.models import (CausalLMPretrainer, ContrastivePretrainer, DecoderBackbone, EncoderBackbone,
                              MaskedLMPretrainer)

    if objective == "clm":
        model = CausalLMPretrainer(DecoderBackbone.from_preset(
            preset, vocabulary_size=vocabulary_size, max_sequence_length=sequence_length, dropout=dropout))
    else:
        backbone = EncoderBackbone.from_preset(preset, vocabulary_size=vocabulary_size,
                                               max_sequence_length=max(sequence_length, 128), dropout=dropout)
        model = MaskedLMPretrainer(backbone) if objective == "mlm" else ContrastivePretrainer(backbone)
    model.build()
    schedule = {} if objective == "simcse" else {"warmup_steps": 10, "total_steps": 10_000}
    model.compile(learning_rate=1e-4, precision=precision, jit_compile=jit_compile, **schedule)
    return model


def keras_hub_model(objective, size, vocabulary_size, sequence_length, dropout, precision, jit_compile):
    """KerasHub's task of the same size, built under `precision` as the Keras global policy."""
    import keras
    import keras_hub

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        arguments = dict(vocabulary_size=vocabulary_size, max_sequence_length=sequence_length, dropout=dropout, **size)
        if objective == "mlm":
            model = keras_hub.models.BertMaskedLM(keras_hub.models.BertBackbone(**arguments), preprocessor=None)
        else:
            model = keras_hub.models.GPT2CausalLM(keras_hub.models.GPT2Backbone(**arguments), preprocessor=None)
        model.compile(optimizer=keras.optimizers.AdamW(1e-4, weight_decay=0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      weighted_metrics=[keras.metrics.SparseCategoricalAccuracy()], jit_compile=jit_compile)
    finally:
        keras.config.set_dtype_policy(previous)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objectives", nargs="+", default=["mlm", "clm", "simcse"], choices=["mlm", "clm", "simcse"])
    parser.add_argument("--precisions", nargs="+", default=None, help="default: float32 and the mixed policy")
    parser.add_argument("--encoder-preset", default=None)
    parser.add_argument("--decoder-preset", default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--vocabulary-size", type=int, default=None, help="default: 30,522 (encoders), 50,257 (GPT-2)")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--no-keras-hub", action="store_true")
    parser.add_argument("--no-xla", action="store_true", help="plain TensorFlow graphs (quick plumbing checks)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's peak, for MFU")
    parser.add_argument("--matmul-size", type=int, default=None, help="default: 8192 on accelerators, 2048 on CPU")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, os.path.join(HERE, ".."))
    import keras
    import tensorflow as tf

    from tfssl.models.presets import DECODER_PRESETS, ENCODER_PRESETS

    kind, device = device_description()
    accelerator = kind != "CPU"
    encoder_preset = args.encoder_preset or ("base" if accelerator else "tiny")
    decoder_preset = args.decoder_preset or ("gpt2" if accelerator else "tiny")
    batch_size = args.batch_size or (64 if accelerator else 32)
    precisions = args.precisions or ["float32", mixed_policy()]
    jit_compile = not args.no_xla
    with_hub = not args.no_keras_hub
    if with_hub:
        try:
            import keras_hub  # noqa: F401
        except ImportError:
            print("keras-hub is not installed (pip install -e .[bench]): tfssl only", file=sys.stderr)
            with_hub = False

    sys.path.insert(0, HERE)
    from mlm_throughput import time_steps  # seconds for n `train_on_batch` steps

    keras.utils.set_random_seed(0)
    runs, data, work = {}, {}, {}
    for objective in args.objectives:
        preset = decoder_preset if objective == "clm" else encoder_preset
        presets = DECODER_PRESETS if objective == "clm" else ENCODER_PRESETS
        size = {k: presets[preset][k] for k in SIZE_KEYS}
        vocabulary_size = args.vocabulary_size or VOCABULARY[objective]
        data[objective] = batches(objective, vocabulary_size, args.sequence_length, batch_size)
        predicted = data[objective][0][2].shape[1] / args.sequence_length if objective == "mlm" else 1.0
        work[objective] = {"preset": preset, **size, "vocabulary_size": vocabulary_size,
                           "flops_per_token": flops_per_token(objective, size, vocabulary_size, args.sequence_length,
                                                              predicted)}
        for precision in precisions:
            runs[(objective, precision, "tfssl")] = tfssl_model(objective, preset, vocabulary_size, args.sequence_length,
                                                                args.dropout, precision, jit_compile)
            if with_hub and objective != "simcse":
                runs[(objective, precision, "keras_hub")] = keras_hub_model(
                    objective, size, vocabulary_size, args.sequence_length, args.dropout, precision, jit_compile)
    compile_started = time.perf_counter()
    for (objective, _, _), model in runs.items():
        time_steps(model, data[objective], 2)  # trace, compile, warm up
    compile_seconds = time.perf_counter() - compile_started
    rounds = {key: [] for key in runs}
    for _ in range(args.rounds):
        for key, model in runs.items():
            rounds[key].append(time_steps(model, data[key[0]], args.steps))

    matmul_size = args.matmul_size or (8192 if accelerator else 2048)
    measured_peak = {p: measured_matmul_tflops({"float32": "float32", "mixed_bfloat16": "bfloat16",
                                                "mixed_float16": "float16"}[p], matmul_size) for p in precisions}
    nominal = next((peaks for name, peaks in NOMINAL_PEAK_TFLOPS.items() if name in device), {})
    tokens_per_step = batch_size * args.sequence_length
    results = {}
    for (objective, precision, implementation), seconds in rounds.items():
        tokens_per_s = tokens_per_step * args.steps / statistics.median(seconds)
        flops = tokens_per_s * work[objective]["flops_per_token"]
        compute = precision.replace("mixed_", "")
        peak = args.peak_tflops or nominal.get(compute)
        results.setdefault(objective, {}).setdefault(precision, {})[implementation] = {
            "tokens_per_s": round(tokens_per_s, 1),
            "round_tokens_per_s": [round(tokens_per_step * args.steps / s, 1) for s in seconds],
            "tflops": round(flops / 1e12, 4),
            "mfu_nominal_peak": round(flops / (peak * 1e12), 4) if peak else None,
            "mfu_measured_matmul": round(flops / (measured_peak[precision] * 1e12), 4),
        }
    for objective, by_precision in results.items():
        for precision, by_implementation in by_precision.items():
            if "keras_hub" in by_implementation:
                by_implementation["tfssl_over_keras_hub"] = round(
                    by_implementation["tfssl"]["tokens_per_s"] / by_implementation["keras_hub"]["tokens_per_s"], 3)
        if "float32" in by_precision:
            for precision in list(by_precision):
                if precision != "float32":
                    by_precision[f"{precision}_over_float32"] = {
                        implementation: round(value["tokens_per_s"] / by_precision["float32"][implementation]["tokens_per_s"], 3)
                        for implementation, value in by_precision[precision].items() if isinstance(value, dict)}
    print(json.dumps({
        "benchmark": "accelerator_suite",
        "device": device,
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "sequence_length": args.sequence_length, "batch_size": batch_size, "dropout": args.dropout,
        "xla": jit_compile, "rounds": args.rounds, "steps_per_round": args.steps,
        "compile_and_warmup_s": round(compile_seconds, 1),
        "models": work,
        "flop_count": "per token: 6 x matmul weights used + 12 x layers x hidden x sequence (PaLM, app. B); "
                      "masked LM: vocabulary projection at the predicted share only; SimCSE: x2 (two views)",
        "peak_tflops": {"nominal": nominal or None, "given": args.peak_tflops,
                        "measured_matmul": {p: round(v, 2) for p, v in measured_peak.items()},
                        "matmul_size": matmul_size},
        "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
