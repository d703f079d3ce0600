"""The masked-LM pretraining driver behind `tfssl pretrain mlm` (and its Python equivalent).

    corpus -> prepared shards (`tfssl prepare`, cached: held-out split, WordPiece vocabulary, packed
    blocks) -> each worker reads its own part, dynamically masked in tf.data -> strategy scope:
    encoder + MaskedLMPretrainer, compiled -> model.fit -> held-out evaluation
    -> saved_models/<name>/<version>/ (fill-mask SavedModel)

A raw corpus is prepared into `<output_dir>/prepared-corpora/<key>/` (reused by later runs on the
same files and settings); `--corpus` may also name a directory `tfssl prepare` wrote.
Everything a run produces lands in `<output_dir>/<name>/`: `config.json` (resolved),
`tokenizer/`, `checkpoint.weights.h5` (best epoch), `model.keras` (final), `backup/`
(step-level backup: rerunning the same command resumes), `logs/` (TensorBoard),
`history.csv`, `training_curves.png`, `metrics.json`, and with `record_input_blocks`,
`input_blocks/pipeline-P.tsv` (the prepared block ids each step of input pipeline P read).

Example:

>>> from tfssl.config import MLMPretrainConfig
>>> result = run_mlm_pretraining(MLMPretrainConfig(epochs=1, preset="tiny"))
>>> result["held_out"]["masked_accuracy"]
"""

import dataclasses
import json
import os
import shutil
import warnings

import tensorflow as tf

from tfssl.config import ConfigError, MLMPretrainConfig
from tfssl.convert.checkpoint_files import is_hf_directory
from tfssl.convert.hf_import import hf_lowercase, load_hf_model
from tfssl.data.mlm_pipeline import mask_batches, masker_for_tokenizer, prepared_mask_batches
from tfssl.data.prepared_manifest import is_prepared_directory
from tfssl.export.fill_mask_export import export_fill_mask
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
from tfssl.run_directory import RunDirectory
from tfssl.training.checkpoint_fit import check_checkpoint_fits
from tfssl.training.distributed_input import input_pipelines
from tfssl.training.driver import Driver
from tfssl.training.keras_multi_worker import in_multi_worker_mode
from tfssl.training.prepared_input import prepared_corpus
from tfssl.training.run_tokenizer import prepare_tokenizer, remember_tokenizer_settings


def run_mlm_pretraining(config: MLMPretrainConfig) -> dict:
    """Runs one pretraining job end to end; returns paths and figures (also in metrics.json)."""
    return MaskedLMDriver(config).run()


class MaskedLMDriver(Driver):
    """`tfssl pretrain mlm` (see the module docstring): the final weights are kept, the best epoch's beside them."""

    restore_best = False
    curve_metrics = ("loss", "masked_accuracy")

    def __init__(self, config):
        super().__init__(config)
        self.config = _with_checkpoint_tokenizer(self.config)

    def check(self):
        config = self.config
        if config.init_from and not (is_hf_directory(config.init_from) or os.path.isfile(config.init_from)
                                     or RunDirectory.holds_model(config.init_from)):
            raise FileNotFoundError(  # before any corpus or tokenizer work
                f"No model at {config.init_from}: give a run directory holding {RunDirectory.MODEL}, a .keras file, "
                "or a Hugging Face model directory (config.json + model.safetensors).")
        if config.init_from:
            check_checkpoint_fits(config.init_from, config.tokenizer_dir, config.sequence_length)
        if in_multi_worker_mode(self.strategy) and not (config.tokenizer_dir or is_prepared_directory(config.corpus)):
            raise ConfigError(
                "Multi-worker pretraining needs one vocabulary for all workers, and WordPiece training is not "
                "deterministic across processes. Prepare the corpus once (tfssl prepare CORPUS prepared/NAME) and "
                "pass --corpus=prepared/NAME, or train a vocabulary once (tfssl tokenizer train CORPUS runs/vocab) "
                "and pass --tokenizer_dir=runs/vocab (a converted checkpoint's vocabulary is used automatically).")

    def load_data(self):
        config = self.config
        if config.init_from and is_hf_directory(config.init_from):
            shutil.copy(os.path.join(config.init_from, "config.json"), self.directory.file(RunDirectory.HF_CONFIG))
        prepared = self.prepared = prepared_corpus(config, self.directory.path)
        trained_here = not config.tokenizer_dir and not is_prepared_directory(config.corpus)
        config = self.config = dataclasses.replace(config, lowercase=prepared.manifest["tokenizer"]["lowercase"])
        self.tokenizer = prepare_tokenizer(dataclasses.replace(config, tokenizer_dir=prepared.tokenizer_dir),
                                           self.directory.path, [])
        if trained_here:  # what a resumed run checks its settings against
            remember_tokenizer_settings(config, self.directory.path)
        workers = input_pipelines(self.strategy)
        self.masker = masker_for_tokenizer(
            self.tokenizer, config.sequence_length, mask_selection_rate=config.mask_selection_rate,
            whole_word_masking=config.whole_word_masking, mask_token_rate=config.mask_token_rate,
            random_token_rate=config.random_token_rate)
        if config.batch_size % workers:
            raise ConfigError(f"batch_size={config.batch_size} does not split over {workers} workers; use a "
                              f"multiple of {workers}.")
        if prepared.num_blocks("train") < config.batch_size:
            raise ValueError(
                f"The training split has {prepared.num_blocks('train')} blocks, fewer than batch_size="
                f"{config.batch_size}. Add text, or lower batch_size or sequence_length.")
        self.steps_per_epoch = config.steps_per_epoch or prepared.steps_per_epoch(config.batch_size // workers, workers)
        self.epochs, self.save_freq, self.per_pipeline = config.epochs, config.save_freq, True
        held_out_blocks = prepared.held_out_blocks(config.max_held_out_blocks)
        if held_out_blocks is not None and int(held_out_blocks.cardinality()) > 0:
            self.validation_data = mask_batches(
                held_out_blocks, self.masker, min(config.batch_size, int(held_out_blocks.cardinality())),
                seed=config.seed + 1, shuffle=False, new_mask_each_epoch=False)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.log(f"{prepared.num_blocks('train')} training blocks of {config.sequence_length} tokens; "
                 f"{self.steps_per_epoch} steps/epoch x {config.epochs} epochs = {self.total_steps} steps.")
        replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % replicas or (config.batch_size // replicas) % config.gradient_accumulation_steps:
            raise ConfigError(
                f"batch_size={config.batch_size} does not split into {replicas} replica(s) x "
                f"{config.gradient_accumulation_steps} micro-batch(es); use a multiple of "
                f"{replicas * config.gradient_accumulation_steps}.")
        self.record_dir = self.directory.file(RunDirectory.INPUT_BLOCKS)
        if config.record_input_blocks:
            os.makedirs(self.record_dir, exist_ok=True)

    def stream_from(self, step, count, index):
        config = self.config
        record = os.path.join(self.record_dir, f"pipeline-{index}.tsv") if config.record_input_blocks else None
        return prepared_mask_batches(self.prepared, self.masker, config.batch_size // count, config.seed, step, count,
                                     index, record_blocks_to=record)

    def build_model(self):
        return _build_pretrainer(self.config, self.tokenizer)

    def compile_arguments(self):
        config = self.config
        return dict(learning_rate=config.learning_rate, warmup_steps=min(config.warmup_steps, max(self.total_steps // 10, 1)),
                    total_steps=self.total_steps, weight_decay=config.weight_decay,
                    gradient_accumulation_steps=config.gradient_accumulation_steps)

    def evaluate(self):
        if self.validation_data is None:
            return {}
        held_out = {k: float(v) for k, v in self.model.evaluate(self.validation_data, verbose=0, return_dict=True).items()}
        train = prepared_mask_batches(self.prepared, self.masker, self.config.batch_size // input_pipelines(self.strategy),
                                      self.config.seed)  # for the baseline
        held_out["most_frequent_token_accuracy"] = most_frequent_token_accuracy(
            train, self.validation_data, self.tokenizer.vocabulary_size)
        self.log(f"Held-out: {json.dumps(held_out)}")
        return {"held_out": held_out}

    def export(self):
        config = self.config
        return export_fill_mask(self.model, self.tokenizer, os.path.join(config.export_dir, config.name),
                                config.sequence_length, top_k=config.top_k, asset_paths=self.directory.export_assets())


def _with_checkpoint_tokenizer(config):
    """Continuing a Hugging Face checkpoint: its vocabulary and lower-casing, not new ones."""
    if not (config.init_from and is_hf_directory(config.init_from)):
        return config
    if not os.path.isfile(os.path.join(config.init_from, "vocab.txt")):
        raise ConfigError(f"{config.init_from} has no vocab.txt: continued masked-LM pretraining needs a WordPiece "
                          "checkpoint (BERT, DistilBERT); byte-level BPE tokenizers do not run in the graph yet.")
    lowercase = hf_lowercase(config.init_from)
    if lowercase != config.lowercase:
        warnings.warn(f"lowercase={lowercase}, as the checkpoint {config.init_from} says (not {config.lowercase}).")
    return dataclasses.replace(config, tokenizer_dir=config.tokenizer_dir or config.init_from, lowercase=lowercase)


def _build_pretrainer(config, tokenizer):
    if config.init_from and is_hf_directory(config.init_from):
        pretrainer, _, architecture = load_hf_model(config.init_from)
        if architecture.kind != "encoder":
            raise ConfigError(f"{config.init_from} is a {architecture.model_type} decoder; masked-LM pretraining "
                              "continues encoders (BERT, RoBERTa, DistilBERT). Use tfssl pretrain clm.")
        if pretrainer.backbone.vocabulary_size != tokenizer.vocabulary_size:
            raise ConfigError(f"The tokenizer ({tokenizer.vocabulary_size} tokens) does not match {config.init_from} "
                              f"({pretrainer.backbone.vocabulary_size} rows); drop tokenizer_dir to use the checkpoint's.")
        if config.sequence_length > pretrainer.backbone.max_sequence_length:
            raise ConfigError(f"sequence_length={config.sequence_length} is beyond the position table of "
                              f"{config.init_from} ({pretrainer.backbone.max_sequence_length}). Lower sequence_length.")
        return pretrainer
    if config.init_from:
        return RunDirectory(config.init_from).masked_lm(tokenizer, config.sequence_length)
    # The preset's model (what `MaskedLMPretrainer.from_preset` gives a Python user), with the run's settings,
    # and the run's masking as its preprocessor: model.keras then takes raw strings too.
    masking = {k: getattr(config, k) for k in ("mask_selection_rate", "mask_token_rate", "random_token_rate",
                                               "whole_word_masking")}
    return MaskedLMPretrainer.from_preset(
        config.preset, tokenizer=tokenizer, sequence_length=config.sequence_length, seed=config.seed,
        preprocessor_kwargs=masking, max_sequence_length=config.position_table_size, dropout=config.dropout,
        norm_first=config.norm_first, rotary=config.rotary, position_initializer=config.position_initializer,
        **config.size_overrides())


def most_frequent_token_accuracy(train, held_out, vocabulary_size):
    """Baseline: held-out accuracy of always predicting the most frequent masked training token."""
    counts = tf.zeros([vocabulary_size], tf.int32)
    for _, ids, weights in train.take(50):
        counts += tf.math.bincount(tf.boolean_mask(ids, weights > 0), minlength=vocabulary_size, maxlength=vocabulary_size)
    top = int(tf.argmax(counts))
    hits = total = 0.0
    for _, ids, weights in held_out:
        hits += float(tf.reduce_sum(tf.cast(tf.equal(ids, top), tf.float32) * weights))
        total += float(tf.reduce_sum(weights))
    return hits / max(total, 1.0)
