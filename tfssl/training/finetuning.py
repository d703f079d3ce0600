"""The fine-tuning driver behind `tfssl finetune` (and its Python equivalent).

    labelled file(s) -> label vocabulary -> stratified validation (and test) split
    -> strategy scope: pretrained (or from-scratch) encoder + TextClassifier, compiled
    -> model.fit (best validation epoch kept) -> reports on validation and test
    -> saved_models/<name>/<version>/ (`serving_default`: raw strings -> label, probabilities)

A run directory `<output_dir>/<name>/` holds `config.json`, `tokenizer/`, `labels.txt`,
`checkpoint.weights.h5` (best validation epoch), `model.keras`, `history.csv`,
`training_curves.png`, `confusion_matrix.png` (test, else validation) and `metrics.json`
(accuracy, macro/per-class precision, recall and F1, confusion matrices, the majority-class
baseline).

Example:

>>> from tfssl.config import FineTuneConfig
>>> result = run_finetuning(FineTuneConfig(train_file="train.tsv", text_column="sentence", epochs=2))
>>> result["validation"]["accuracy"], result["export"]
"""

import math
import os
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from tfssl.config import FineTuneConfig
from tfssl.data.classification_pipeline import class_weights, classification_batches
from tfssl.data.labeled_examples import (
    LabeledDataError,
    encode_labels,
    label_vocabulary,
    load_labeled_examples,
    sample_examples,
    split_examples,
)
from tfssl.export.classifier_export import TextClassificationModule, export_text_classifier, write_label_file
from tfssl.metrics.classification_report import classification_report, plot_confusion_matrix, regression_report
from tfssl.models.text_classifier import TextClassifier
from tfssl.training.callbacks import TrainingCurves
from tfssl.training.encoder_loading import load_encoder, run_config, tokenizer_lowercase
from tfssl.training.run_directory import export_assets, history_is_finite, log, start_run, tokenizer_dir, write_metrics
from tfssl.training.best_checkpoint import BestCheckpoint
from tfssl.training.resumable_fit import ResumableFit
from tfssl.training.step_backup import save_model_file
from tfssl.training.strategy import choose_strategy, for_this_worker, jit_compile_for


def run_finetuning(config: FineTuneConfig) -> dict:
    """Runs one fine-tuning job end to end; returns paths and figures (also in metrics.json)."""
    strategy = choose_strategy(config.strategy)  # first: multi-worker collectives are configured at startup
    config = for_this_worker(config)
    run_dir, started = start_run(config)
    train, validation, test = load_splits(config)
    regression = config.task == "regression"
    label_names = [] if regression else label_vocabulary(train.labels)
    if not regression:
        write_label_file(label_names, run_dir)
        for held_out in (validation, test):  # an unknown label fails now, not after training
            if held_out is not None:
                encode_labels(held_out, label_names)
    log(config, f"{len(train)} training / {len(validation)} validation / {len(test) if test else 0} test examples"
                 + ("" if regression else f", {len(label_names)} classes: {', '.join(label_names[:10])}"))

    with strategy.scope():
        backbone, tokenizer = load_encoder(config.init_from, from_scratch=config.from_scratch)
        classifier = TextClassifier(backbone, 1 if regression else len(label_names), task=config.task,
                                    pooling=config.pooling, dropout=config.dropout,
                                    freeze_backbone=config.freeze_backbone,
                                    freeze_token_embeddings=config.freeze_token_embeddings)
        classifier.build()
    _copy_tokenizer(config.init_from, run_dir)
    if config.sequence_length > backbone.sequence_length:
        raise ValueError(f"sequence_length={config.sequence_length} exceeds the encoder's position table "
                         f"({backbone.sequence_length}); lower sequence_length.")

    targets = _targets(train, label_names, regression)
    weights = None if regression else class_weights(targets, len(label_names), config.class_weights)
    def batches():  # a new dataset for each `fit` part: see `_fit`
        return classification_batches(
            train.texts, targets, tokenizer, config.sequence_length, config.batch_size, text_pairs=train.text_pairs,
            weights=weights, seed=config.seed, drop_remainder=len(train) >= config.batch_size,
        )

    steps_per_epoch = max(len(train) // config.batch_size, 1)
    epochs = max(config.epochs, math.ceil(config.min_steps / steps_per_epoch))
    total_steps = steps_per_epoch * epochs
    with strategy.scope():
        classifier.compile(
            learning_rate=config.learning_rate,
            warmup_steps=int(config.warmup_fraction * total_steps),
            total_steps=total_steps,
            weight_decay=config.weight_decay,
            jit_compile=jit_compile_for(strategy, config.jit_compile),
            gradient_accumulation_steps=config.gradient_accumulation_steps,
        )
    validation_batches = None
    if len(validation):
        validation_batches = classification_batches(
            validation.texts, _targets(validation, label_names, regression), tokenizer, config.sequence_length,
            config.batch_size, text_pairs=validation.text_pairs, shuffle=False,
        )
    log(config, f"{steps_per_epoch} steps/epoch x {epochs} epochs = {total_steps} steps.")
    fit = ResumableFit(classifier, run_dir, epochs, steps_per_epoch, config.save_freq,
                       global_batch_size=config.batch_size if len(train) >= config.batch_size else None,
                       log=lambda message: log(config, message))
    history, fit_seconds, steps_trained = _fit(config, fit, batches, validation_batches, steps_per_epoch, run_dir)
    save_model_file(classifier, os.path.join(run_dir, "model.keras"))
    fit.finish()

    module = TextClassificationModule(classifier, tokenizer, label_names, config.sequence_length,
                                      pairs=config.text_pair_column is not None)
    result = {
        "run_dir": run_dir,
        "task": config.task,
        "labels": label_names,
        "examples": {"train": len(train), "validation": len(validation), "test": len(test) if test else 0},
        "steps": steps_trained,
        "resumed_from_step": fit.start_step,
        "fit_seconds": fit_seconds,
        "history": {k: [float(x) for x in v] for k, v in history.history.items()},
    }
    for split_name, examples in (("validation", validation), ("test", test)):
        if examples is not None and len(examples):
            result[split_name] = evaluate_examples(module, examples)
            log(config, f"{split_name}: " + _summary(result[split_name]))
    if not regression:
        majority = int(np.bincount(targets).argmax())
        reported = test if test is not None and len(test) else validation
        if len(reported):
            result["majority_class"] = label_names[majority]
            result["majority_class_accuracy"] = float(np.mean(np.asarray(reported.labels) == label_names[majority]))
            matrix_split = "test" if test is not None and len(test) else "validation"
            result["confusion_matrix_png"] = plot_confusion_matrix(
                result[matrix_split], label_names, os.path.join(run_dir, "confusion_matrix.png"),
                title=f"{config.name}: {matrix_split} confusion matrix")
    if config.export:
        module.assets = []
        result["export"] = export_text_classifier(module, os.path.join(config.export_dir, config.name),
                                                  asset_paths=export_assets(run_dir))
        log(config, f"Exported {result['export']}")
    return write_metrics(run_dir, result, started)


def load_splits(config):
    """(train, validation, test-or-None) `LabeledExamples` as the config asks (see the module docstring)."""
    def load(source):
        return load_labeled_examples(source, config.text_column, config.label_column, config.text_pair_column,
                                     task=config.task, deduplicate=config.deduplicate)

    train = load(config.train_file)
    stratify = config.task == "classification"
    test = load(config.test_file) if config.test_file else None
    if test is None and config.test_fraction > 0:
        train, test = split_examples(train, config.test_fraction, seed=config.seed, stratify=stratify)
    if config.validation_file:
        validation = load(config.validation_file)
    elif config.held_out_fraction > 0:
        train, validation = split_examples(train, config.held_out_fraction, seed=config.seed, stratify=stratify)
    else:
        validation = train.subset([])
    if config.max_train_examples and config.max_train_examples < len(train):
        train = sample_examples(train, config.max_train_examples, seed=config.seed)
    return train, validation, test


def evaluate_examples(module, examples, batch_size=256):
    """Classification report (or regression report) of `module`'s predictions on `examples`."""
    outputs = predict_batches(module, examples.texts, examples.text_pairs, batch_size)
    if module.regression:
        return regression_report(np.asarray(examples.labels, np.float64), outputs["score"])
    truth = encode_labels(examples, module.label_names)
    return classification_report(truth, outputs["label_id"], module.label_names)


def predict_batches(module, texts, text_pairs=None, batch_size=256):
    """`module.predict` over a list of strings in batches; NumPy outputs concatenated."""
    texts = list(texts)
    chunks = []
    for start in range(0, len(texts), batch_size):
        args = [tf.constant(texts[start:start + batch_size])]
        if text_pairs is not None:
            args.append(tf.constant(list(text_pairs[start:start + batch_size])))
        chunks.append({k: v.numpy() for k, v in module.predict(*args).items()})
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def load_classification_module(run_dir):
    """The in-process `TextClassificationModule` of a fine-tuning run directory (what it exports)."""
    import tfssl.models  # noqa: F401  registers the classes model.keras refers to
    from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    settings = run_config(run_dir)
    classifier = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    if not isinstance(classifier, TextClassifier):
        raise ValueError(f"{run_dir}/model.keras is a {type(classifier).__name__}, not a fine-tuned classifier.")
    labels_path = os.path.join(run_dir, "labels.txt")
    label_names = []
    if classifier.task == "classification":
        with open(labels_path, encoding="utf-8") as f:
            label_names = [line.rstrip("\n") for line in f]
    tokenizer = WordPieceTokenizer.from_directory(tokenizer_dir(run_dir), lowercase=tokenizer_lowercase(run_dir))
    return TextClassificationModule(classifier, tokenizer, label_names, settings.get("sequence_length", 128),
                                    pairs=settings.get("text_pair_column") is not None)


def _targets(examples, label_names, regression):
    if regression:
        return np.asarray(examples.labels, np.float32)
    return encode_labels(examples, label_names)


def _copy_tokenizer(init_from, run_dir):
    """The encoder's tokenizer travels with the run (and its exports); `lowercase` goes in the config."""
    source = os.path.join(init_from, "tokenizer")
    if os.path.abspath(source) != os.path.abspath(tokenizer_dir(run_dir)):
        shutil.copytree(source, tokenizer_dir(run_dir), dirs_exist_ok=True)


def _fit(config, fit, batches, validation_batches, steps_per_epoch, run_dir):
    """`fit.run` over the seeded training batches, endlessly repeated (each pass reshuffled), so a
    resumed run skips to the batch an uninterrupted one would be on; keeps the best validation epoch.
    Returns `(history, seconds, steps trained)`.
    `batches()` builds the dataset anew for each part: a reshuffling dataset continues its shuffle
    sequence across iterators, so iterating one object twice would not repeat the run."""
    metric = "mae" if config.task == "regression" else "accuracy"
    checkpoint = os.path.join(run_dir, "checkpoint.weights.h5")
    callbacks = [
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=fit.resumed),
        TrainingCurves(os.path.join(run_dir, "training_curves.png"), metrics=("loss", metric),
                       every_steps=max(min(25, steps_per_epoch // 4), 1)),
    ]
    if validation_batches is not None:
        # The best validation epoch is restored after fit; a NaN epoch never compares better.
        callbacks.append(BestCheckpoint(checkpoint, monitor="val_loss", resume=fit.resumed))
    started = time.monotonic()
    history = fit.run(lambda step: batches().repeat().skip(step), callbacks, validation_data=validation_batches,
                      verbose=config.verbose)
    seconds = time.monotonic() - started
    if not history_is_finite(history):
        raise FloatingPointError(f"Fine-tuning diverged (NaN/Inf loss) in {run_dir}. Lower learning_rate "
                                 f"(now {config.learning_rate}); the last good weights are in checkpoint.weights.h5 "
                                 "(best finished epoch) and backup/ (last finite step).")
    steps = int(fit.model.optimizer.iterations.numpy())  # before the best epoch's state (optimizer too) returns
    if validation_batches is not None and os.path.isfile(checkpoint):
        fit.model.load_weights(checkpoint)
    return history, seconds, steps


def _summary(report):
    keys = ("accuracy", "macro_f1") if "accuracy" in report else ("spearman", "pearson", "mse")
    return ", ".join(f"{k} {report[k]:.4f}" for k in keys)


__all__ = ["run_finetuning", "load_splits", "evaluate_examples", "predict_batches", "load_classification_module",
           "LabeledDataError"]
