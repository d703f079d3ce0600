"""What preemption safety and gradient accumulation cost: one masked-LM pretrainer (default the
`tiny` preset at sequence 128, batch 32, vocabulary 8,192), measured on this machine. Prints
one JSON object:

* backup: seconds to write one step backup (`save_backup`: weights + optimizer state + seed
  states, staged and renamed into place) and to restore it, and its size on disk;
* fit: training steps/s through `model.fit` without backups and with `StepBackup` every
  `--save-freq` steps, and the overhead that gives (median of `--rounds`, alternating);
* accumulation: steps/s of the same global batch as 1 and as `--micro-batches` micro-batches
  (same result to 1e-5; the price of holding activations for a k-th of the batch).

Weights and batches are random: speed does not depend on them.

    python benchmarks/fault_tolerance_cost.py [--preset tiny] [--steps 40] [--save-freq 10] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np


def make_pretrainer(args, accumulation=1):
    from tfssl.models.encoder_backbone import EncoderBackbone
    from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer

    model = MaskedLMPretrainer(EncoderBackbone.from_preset(args.preset, vocabulary_size=args.vocabulary_size,
                                                           max_sequence_length=args.sequence_length))
    model.build()
    model.compile(learning_rate=1e-4, warmup_steps=10, total_steps=10_000, jit_compile=args.jit_compile,
                  gradient_accumulation_steps=accumulation)
    return model


def batches(args):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    slots = max(int(0.15 * args.sequence_length), 1)
    x = {"token_ids": rng.integers(5, args.vocabulary_size, (args.batch_size, args.sequence_length)).astype("int32"),
         "padding_mask": np.ones((args.batch_size, args.sequence_length), "int32"),
         "mask_positions": np.sort(rng.integers(1, args.sequence_length - 1, (args.batch_size, slots)), 1).astype("int32")}
    y = rng.integers(5, args.vocabulary_size, (args.batch_size, slots)).astype("int32")
    w = np.ones((args.batch_size, slots), "float32")
    return tf.data.Dataset.from_tensors((x, y, w)).repeat()


def steps_per_second(model, args, callbacks=()):
    """Every variant reads each step's loss, as the drivers' progress bar and curves do: left
    asynchronous, this 2-core machine ran the same fit at two speeds a factor 2 apart."""
    import keras

    class ReadLoss(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            float(logs["loss"])

    data = batches(args)
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # trace + compile
    started = time.perf_counter()
    model.fit(data, steps_per_epoch=args.steps, epochs=1, verbose=0, callbacks=[ReadLoss(), *callbacks])
    return args.steps / (time.perf_counter() - started)


def backup_figures(model, directory, repeats=5):
    from tfssl.training.step_backup import restore_backup, save_backup

    saves, restores = [], []
    for i in range(repeats):
        started = time.perf_counter()
        save_backup(model, directory, int(model.optimizer.iterations.numpy()))
        saves.append(time.perf_counter() - started)
        started = time.perf_counter()
        restore_backup(model, directory)
        restores.append(time.perf_counter() - started)
    size = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory) if f.startswith("backup."))
    return {"save_seconds": statistics.median(saves), "restore_seconds": statistics.median(restores),
            "megabytes": size / 2**20}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--vocabulary-size", type=int, default=8192)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--save-freq", type=int, default=10)
    parser.add_argument("--micro-batches", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jit-compile", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import keras

    from tfssl.training.step_backup import StepBackup

    keras.utils.set_random_seed(0)
    model = make_pretrainer(args)
    accumulated = make_pretrainer(args, accumulation=args.micro_batches)
    with tempfile.TemporaryDirectory() as directory:
        rounds = {"no_backup": [], "backup": [], "accumulated": []}
        for _ in range(args.rounds):
            rounds["no_backup"].append(steps_per_second(model, args))
            rounds["backup"].append(steps_per_second(model, args, [StepBackup(directory, args.save_freq)]))
            rounds["accumulated"].append(steps_per_second(accumulated, args))
        backup = backup_figures(model, os.path.join(directory, "timed"))
    median = {k: statistics.median(v) for k, v in rounds.items()}
    print(json.dumps({
        "benchmark": "fault_tolerance_cost",
        "settings": vars(args),
        "parameters": int(model.count_params()),
        "backup": backup,
        "fit_steps_per_s": {"no_backup": median["no_backup"], f"backup_every_{args.save_freq}_steps": median["backup"],
                            "overhead_percent": 100 * (median["no_backup"] / median["backup"] - 1)},
        "accumulation_steps_per_s": {"one_batch": median["no_backup"],
                                     f"{args.micro_batches}_micro_batches": median["accumulated"]},
        "rounds": rounds,
    }, indent=2))


if __name__ == "__main__":
    main()
