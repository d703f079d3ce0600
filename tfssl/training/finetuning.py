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

import numpy as np
import tensorflow as tf

from tfssl.config import FineTuneConfig
from tfssl.data.classification_pipeline import class_weights, classification_batches
from tfssl.data.example_splits import sample_examples, split_examples
from tfssl.data.labeled_examples import encode_labels, label_vocabulary, load_labeled_examples
from tfssl.data.labeled_sources import LabeledDataError
from tfssl.data.length_order import in_length_order
from tfssl.export.classifier_export import TextClassificationModule, export_text_classifier
from tfssl.metrics.classification_report import classification_report, plot_confusion_matrix, regression_report
from tfssl.models.text_classifier import TextClassifier
from tfssl.run_directory import RunDirectory
from tfssl.training.driver import Driver


def run_finetuning(config: FineTuneConfig) -> dict:
    """Runs one fine-tuning job end to end; returns paths and figures (also in metrics.json)."""
    return FineTuningDriver(config).run()


class FineTuningDriver(Driver):
    """`tfssl finetune` (see the module docstring): the best validation epoch's weights are kept."""

    divergence_hint = "Lower learning_rate"

    def load_data(self):
        config = self.config
        self.train, self.validation, self.test = train, validation, test = load_splits(config)
        self.regression = config.task == "regression"
        self.label_names = [] if self.regression else label_vocabulary(train.labels)
        if not self.regression:
            self.directory.write_labels(self.label_names)
            for held_out in (validation, test):  # an unknown label fails now, not after training
                if held_out is not None:
                    encode_labels(held_out, self.label_names)
        self.log(f"{len(train)} training / {len(validation)} validation / {len(test) if test else 0} test examples"
                 + ("" if self.regression else f", {len(self.label_names)} classes: {', '.join(self.label_names[:10])}"))
        self.targets = _targets(train, self.label_names, self.regression)
        self.weights = None if self.regression else class_weights(self.targets, len(self.label_names), config.class_weights)
        self.steps_per_epoch = max(len(train) // config.batch_size, 1)
        self.epochs = max(config.epochs, math.ceil(config.min_steps / self.steps_per_epoch))
        self.save_freq = config.save_freq
        self.global_batch_size = config.batch_size if len(train) >= config.batch_size else None
        self.curve_metrics = ("loss", "mae" if self.regression else "accuracy")
        self.restore_best = bool(len(validation))  # the best validation epoch; without validation, the last
        if len(validation):
            self.validation_data = classification_batches(
                validation.texts, _targets(validation, self.label_names, self.regression), self.tokenizer,
                config.sequence_length, config.batch_size, text_pairs=validation.text_pairs, shuffle=False)
        self.log(f"{self.steps_per_epoch} steps/epoch x {self.epochs} epochs = {self.steps_per_epoch * self.epochs} steps.")

    def start(self):
        super().start()
        config = self.config
        with self.strategy.scope():  # the encoder's variables, created in the strategy's scope
            self.backbone, self.tokenizer = RunDirectory(config.init_from).encoder(from_scratch=config.from_scratch)
        _copy_tokenizer(config.init_from, self.directory)
        if config.sequence_length > self.backbone.max_sequence_length:
            raise ValueError(f"sequence_length={config.sequence_length} exceeds the encoder's position table "
                             f"({self.backbone.max_sequence_length}); lower sequence_length.")

    def stream_from(self, step):
        """The seeded training batches, endlessly repeated (each pass reshuffled), from `step` on, so a resumed
        run skips to the batch an uninterrupted one would be on; built anew for each `fit` part."""
        config, train = self.config, self.train
        return classification_batches(
            train.texts, self.targets, self.tokenizer, config.sequence_length, config.batch_size,
            text_pairs=train.text_pairs, weights=self.weights, seed=config.seed,
            drop_remainder=len(train) >= config.batch_size).repeat().skip(step)

    def build_model(self):
        config = self.config
        classifier = TextClassifier(self.backbone, 1 if self.regression else len(self.label_names), task=config.task,
                                    pooling=config.pooling, dropout=config.dropout,
                                    freeze_backbone=config.freeze_backbone,
                                    freeze_token_embeddings=config.freeze_token_embeddings)
        classifier.build()
        return classifier

    def compile_arguments(self):
        config, total_steps = self.config, self.steps_per_epoch * self.epochs
        return dict(learning_rate=config.learning_rate, warmup_steps=int(config.warmup_fraction * total_steps),
                    total_steps=total_steps, weight_decay=config.weight_decay,
                    gradient_accumulation_steps=config.gradient_accumulation_steps)

    def evaluate(self):
        config, label_names = self.config, self.label_names
        self.module = TextClassificationModule(self.model, self.tokenizer, label_names, config.sequence_length,
                                               pairs=config.text_pair_column is not None)
        result = {"task": config.task, "labels": label_names,
                  "examples": {"train": len(self.train), "validation": len(self.validation),
                               "test": len(self.test) if self.test else 0}}
        for split_name, examples in (("validation", self.validation), ("test", self.test)):
            if examples is not None and len(examples):
                result[split_name] = evaluate_examples(self.module, examples)
                self.log(f"{split_name}: " + _summary(result[split_name]))
        if not self.regression:
            majority = int(np.bincount(self.targets).argmax())
            has_test = self.test is not None and len(self.test)
            reported = self.test if has_test else self.validation
            if len(reported):
                result["majority_class"] = label_names[majority]
                result["majority_class_accuracy"] = float(np.mean(np.asarray(reported.labels) == label_names[majority]))
                matrix_split = "test" if has_test else "validation"
                result["confusion_matrix_png"] = plot_confusion_matrix(
                    result[matrix_split], label_names, self.directory.file(RunDirectory.CONFUSION_MATRIX),
                    title=f"{config.name}: {matrix_split} confusion matrix")
        return result

    def export(self):
        return export_text_classifier(self.module, os.path.join(self.config.export_dir, self.config.name),
                                      asset_paths=self.directory.export_assets())


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
    """`module.predict` over a list of strings (and pairs); NumPy outputs in the order of `texts`, computed in
    batches of similar lengths (`tfssl.data.length_order`), so each is padded to little more than its rows."""
    def run(batch, pairs=None):
        args = [tf.constant(batch)] + ([] if pairs is None else [tf.constant(pairs)])
        return {k: v.numpy() for k, v in module.predict(*args).items()}

    return in_length_order(run, list(texts), batch_size, None if text_pairs is None else list(text_pairs))


def _targets(examples, label_names, regression):
    if regression:
        return np.asarray(examples.labels, np.float32)
    return encode_labels(examples, label_names)


def _copy_tokenizer(init_from, run):
    """The encoder's tokenizer travels with the run (and its exports); `lowercase` goes in the config."""
    source = RunDirectory(init_from).tokenizer_dir
    if os.path.abspath(source) != os.path.abspath(run.tokenizer_dir):
        shutil.copytree(source, run.tokenizer_dir, dirs_exist_ok=True)


def _summary(report):
    keys = ("accuracy", "macro_f1") if "accuracy" in report else ("spearman", "pearson", "mse")
    return ", ".join(f"{k} {report[k]:.4f}" for k in keys)


__all__ = ["run_finetuning", "FineTuningDriver", "load_splits", "evaluate_examples", "predict_batches",
           "LabeledDataError"]
