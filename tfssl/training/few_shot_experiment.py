"""`tfssl experiment few-shot`: does pretraining help, and by how much, with few labels?

For every N in `examples` and every seed, the same architecture and recipe are fine-tuned twice
on the same stratified sample of N training examples: once from the pretrained encoder of
`init_from`, once from random weights (`from scratch`). Each model is scored on the same test
set. There is no model selection on the test set: every run trains a fixed schedule
(`epochs`, at least `min_steps` steps).

Outputs in `<output_dir>/<name>/`: `results.jsonl` (one line per run, appended as runs finish;
rerunning the command skips runs already there), `summary.json`, `table.md` (mean ± std over
seeds and the gain in points) and `learning_curve.png`.

Example:

>>> result = run_few_shot_experiment(FewShotConfig(train_file="sst2/train.tsv", test_file="sst2/dev.tsv",
...                                                text_column="sentence"))
>>> print(result["table"])
"""

import dataclasses
import hashlib
import json
import math
import os
import time
import warnings

import keras
import numpy as np

from tfssl.config import ConfigError, FewShotConfig, FineTuneConfig
from tfssl.data.classification_pipeline import classification_batches
from tfssl.data.example_splits import sample_examples
from tfssl.data.labeled_examples import encode_labels, label_vocabulary
from tfssl.export.classifier_export import TextClassificationModule
from tfssl.metrics.learning_curve_plot import format_learning_curve_table, plot_learning_curves, summarize_runs
from tfssl.models.text_classifier import TextClassifier
from tfssl.run_directory import RunDirectory
from tfssl.training.driver import log, start_run
from tfssl.training.finetuning import evaluate_examples, load_splits
from tfssl.training.strategy import choose_strategy, jit_compile_for


def run_few_shot_experiment(config: FewShotConfig) -> dict:
    """Runs every (N, seed, init) fine-tuning of the experiment; returns the summary and table."""
    run, started = start_run(config)
    run_dir = run.path
    splits = FineTuneConfig(
        train_file=config.train_file, test_file=config.test_file, test_fraction=config.test_fraction,
        held_out_fraction=0.0, text_column=config.text_column, text_pair_column=config.text_pair_column,
        label_column=config.label_column, seed=config.seed,
    )
    train, _, test = load_splits(splits)
    label_names = label_vocabulary(train.labels)
    test_targets = encode_labels(test, label_names)
    majority = float(np.mean(test_targets == np.bincount(encode_labels(train, label_names)).argmax()))
    log(config, f"{len(train)} training examples to sample from, {len(test)} test examples, "
                 f"{len(label_names)} classes; majority-class test accuracy {majority:.4f}.")

    results_path = run.file(RunDirectory.RESULTS)
    settings = _settings_digest(config)
    rows = _read_rows(results_path)
    if any(r.get("settings") != settings for r in rows):
        raise ConfigError(f"{results_path} holds runs made with other settings than these. Use another --name, "
                          "or delete that file to start over.")
    done = {(r["examples"], r["seed"], r["init"]) for r in rows}
    for n in config.examples:
        for seed in config.seeds:
            for init in config.inits:
                if (n, seed, init) in done:
                    continue
                row = dict(_one_run(config, train, test, label_names, n, seed, init), settings=settings)
                log(config, f"N={row['examples_used']} seed={seed} {init}: accuracy {row['accuracy']:.4f}, "
                             f"macro F1 {row['macro_f1']:.4f} ({row['seconds']:.0f} s)")
                rows.append(row)
                with open(results_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")

    summary = summarize_runs([dict(r, examples=r["examples_used"]) for r in rows], "accuracy")
    table = format_learning_curve_table(summary)
    plot_learning_curves(summary, run.file(RunDirectory.LEARNING_CURVE), baseline=majority,
                         title=f"{config.name}: test accuracy vs labelled examples")
    with open(run.file(RunDirectory.TABLE), "w", encoding="utf-8") as f:
        f.write(table + "\n")
    result = {"run_dir": run_dir, "labels": label_names, "test_examples": len(test),
              "majority_class_accuracy": majority, "summary": summary, "table": table,
              "learning_curve_png": run.file(RunDirectory.LEARNING_CURVE),
              "total_seconds": time.monotonic() - started}
    with open(run.file(RunDirectory.SUMMARY), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    return result


def _one_run(config, train, test, label_names, n, seed, init):
    """Fine-tunes one model on a seeded sample of `n` examples (0: all) and scores it on `test`."""
    started = time.monotonic()
    keras.utils.set_random_seed(seed)
    sample = sample_examples(train, n, seed=seed) if 0 < n < len(train) else train
    strategy = choose_strategy("auto")
    with strategy.scope():
        backbone, tokenizer = RunDirectory(config.init_from).encoder(from_scratch=init == "scratch")
        classifier = TextClassifier(backbone, len(label_names), pooling=config.pooling, dropout=config.dropout,
                                    freeze_token_embeddings=config.freeze_token_embeddings)
        classifier.build()
    batch_size = min(config.batch_size, len(sample))
    steps_per_epoch = max(len(sample) // batch_size, 1)
    epochs = max(config.epochs, math.ceil(config.min_steps / steps_per_epoch))
    total_steps = steps_per_epoch * epochs
    learning_rate = config.scratch_learning_rate if init == "scratch" and config.scratch_learning_rate else \
        config.learning_rate
    with strategy.scope():
        classifier.compile(learning_rate=learning_rate, warmup_steps=total_steps // 10, total_steps=total_steps,
                           jit_compile=jit_compile_for(strategy, config.jit_compile), precision=config.precision)
    batches = classification_batches(sample.texts, encode_labels(sample, label_names), tokenizer,
                                     config.sequence_length, batch_size, text_pairs=sample.text_pairs, seed=seed,
                                     drop_remainder=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
        warnings.filterwarnings("ignore", message="`shuffle=True` was passed")  # our datasets shuffle themselves
        history = classifier.fit(batches, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                 verbose=2 if config.verbose > 1 else 0)  # 1: one line per run
    module = TextClassificationModule(classifier, tokenizer, label_names, config.sequence_length,
                                      pairs=config.text_pair_column is not None)
    report = evaluate_examples(module, test)
    return {
        "examples": n, "examples_used": len(sample), "seed": seed, "init": init,
        "accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "steps": total_steps,
        "final_train_loss": float(history.history["loss"][-1]), "learning_rate": learning_rate,
        "seconds": time.monotonic() - started,
    }


def _settings_digest(config):
    """A digest of every setting that changes a run's result (not the grid, name or verbosity)."""
    fields = {k: v for k, v in dataclasses.asdict(config).items()
              if k not in ("name", "output_dir", "examples", "seeds", "inits", "verbose")}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def _read_rows(path):
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
