"""Causal-LM throughput: training tokens/s and generation tokens/s, with and without the
key/value cache and XLA. Prints one JSON object.

* training: `CausalLMPretrainer` `train_on_batch` on the decoder preset (default `mini`: 4
  layers, 256 wide) at sequence 128, batch 32, vocabulary 4,096, with and without XLA; rounds
  alternate between the two and the median round is reported;
* generation: greedy `TextGenerator.generate` of `--new-tokens` (default 256) tokens after a
  short prompt, batch 1 and batch 8: the uncached path (re-runs the prefix every step), the
  cached path, and the cached path with an XLA-compiled decode step. The end-of-text embedding
  is zeroed so that greedy decoding of random weights runs the full length (checked:
  `all_tokens_generated`), and the three paths' tokens are compared.

Weights are random: speed does not depend on them.

    python benchmarks/causal_lm_throughput.py [--preset mini] [--rounds 3] [--steps 20] [--new-tokens 256]
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np


def make_pretrainer(preset, vocabulary_size, sequence_length, jit_compile):
    from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer
    from tfssl.models.decoder_backbone import DecoderBackbone

    model = CausalLMPretrainer(DecoderBackbone.from_preset(preset, vocabulary_size=vocabulary_size,
                                                           max_sequence_length=sequence_length))
    model.build()
    model.compile(learning_rate=1e-4, warmup_steps=10, total_steps=1000, jit_compile=jit_compile)
    return model


def training_tokens_per_second(model, batches, steps):
    model.train_on_batch(*batches[0])  # trace + compile
    started = time.perf_counter()
    for i in range(steps):
        model.train_on_batch(*batches[i % len(batches)])
    x = batches[0][0]["token_ids"]
    return steps * x.shape[0] * x.shape[1] / (time.perf_counter() - started)


def generation_tokens_per_second(generator, batch, new_tokens, cached, repeats=2):
    import tensorflow as tf

    prompts = tf.constant(["Once upon a time"] * batch)
    function = generator.generate if cached else generator.generate_uncached
    out = function(prompts, new_tokens, 0.0, 0, 1.0, 0)  # trace
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        out = function(prompts, new_tokens, 0.0, 0, 1.0, 0)
        times.append(time.perf_counter() - started)
    produced = int(np.sum(out["num_tokens"].numpy()))
    return produced / min(times), produced == batch * new_tokens, out["token_ids"].numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mini")
    parser.add_argument("--vocabulary-size", type=int, default=4096)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--generation-batches", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import keras

    from tfssl.models.text_generator import TextGenerator
    from tfssl.tokenizers.character_tokenizer import CharacterTokenizer

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    batches = []
    for _ in range(4):
        ids = rng.integers(2, args.vocabulary_size, size=(args.batch_size, args.sequence_length + 1)).astype("int32")
        batches.append(({"token_ids": ids[:, :-1]}, ids[:, 1:]))
    models = {"xla": make_pretrainer(args.preset, args.vocabulary_size, args.sequence_length, True),
              "no_xla": make_pretrainer(args.preset, args.vocabulary_size, args.sequence_length, False)}
    rounds = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            rounds[name].append(training_tokens_per_second(model, batches, args.steps))
    training = {name: statistics.median(values) for name, values in rounds.items()}

    # Generation: a context long enough for the prompt and every new token.
    context = 1 << (args.new_tokens + 32).bit_length()
    pretrainer = make_pretrainer(args.preset, args.vocabulary_size, context, False)
    characters = [chr(c) for c in range(32, 32 + args.vocabulary_size - 2)]
    tokenizer = CharacterTokenizer(characters)
    embeddings = pretrainer.backbone.token_embedding.embeddings
    embeddings.assign(np.concatenate([embeddings.numpy()[:1], np.zeros((1, embeddings.shape[1]), "float32"),
                                      embeddings.numpy()[2:]]))  # end of text (id 1): logit 0, never the argmax here
    generation, identical = {}, True
    for batch in args.generation_batches:
        uncached, full, uncached_ids = generation_tokens_per_second(TextGenerator(pretrainer, tokenizer), batch,
                                                                    args.new_tokens, cached=False)
        cached, _, cached_ids = generation_tokens_per_second(TextGenerator(pretrainer, tokenizer), batch,
                                                             args.new_tokens, cached=True)
        xla, _, xla_ids = generation_tokens_per_second(TextGenerator(pretrainer, tokenizer, jit_compile_step=True), batch,
                                                       args.new_tokens, cached=True)
        identical &= bool((uncached_ids == cached_ids).all())
        generation[f"batch_{batch}"] = {"uncached": uncached, "cached": cached, "cached_xla_step": xla,
                                        "cache_speedup": cached / uncached, "all_tokens_generated": full,
                                        "xla_step_tokens_equal_cached": bool((xla_ids == cached_ids).all())}
    print(json.dumps({
        "benchmark": "causal_lm_throughput",
        "preset": args.preset,
        "training": {"sequence_length": args.sequence_length, "batch_size": args.batch_size,
                     "vocabulary_size": args.vocabulary_size, "tokens_per_s": training,
                     "rounds": {k: [round(v, 1) for v in vals] for k, vals in rounds.items()}},
        "generation": {"new_tokens": args.new_tokens, "context": context, "tokens_per_s": generation,
                       "cached_equals_uncached": identical},
    }, indent=2))


if __name__ == "__main__":
    main()
