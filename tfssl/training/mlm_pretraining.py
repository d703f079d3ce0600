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
import time
import warnings

import keras
import tensorflow as tf

from tfssl.config import ConfigError, MLMPretrainConfig
from tfssl.convert.checkpoint_files import is_hf_directory
from tfssl.convert.hf_import import hf_lowercase, load_hf_model
from tfssl.data.mlm_pipeline import mask_batches, masker_for_tokenizer, prepared_mask_batches
from tfssl.data.prepared_manifest import is_prepared_directory
from tfssl.export.fill_mask_export import export_fill_mask
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
from tfssl.training.callbacks import TimeBudget, TrainingCurves
from tfssl.training.checkpoint_fit import check_checkpoint_fits
from tfssl.training.run_directory import (
    export_assets,
    history_is_finite,
    log,
    prepare_tokenizer,
    remember_tokenizer_settings,
    start_run,
    tokenizer_dir,  # noqa: F401  (re-exported: run directories' tokenizer/ path)
    write_metrics,
)
from tfssl.training.best_checkpoint import BestCheckpoint
from tfssl.training.distributed_input import input_pipelines
from tfssl.training.keras_multi_worker import in_multi_worker_mode
from tfssl.training.prepared_input import prepared_corpus
from tfssl.training.resumable_fit import ResumableFit
from tfssl.training.step_backup import save_model_file
from tfssl.training.strategy import choose_strategy, for_this_worker, jit_compile_for


def run_mlm_pretraining(config: MLMPretrainConfig) -> dict:
    """Runs one pretraining job end to end; returns paths and figures (also in metrics.json)."""
    strategy = choose_strategy(config.strategy)  # first: multi-worker collectives are configured at startup
    if config.init_from and not (is_hf_directory(config.init_from) or os.path.isfile(config.init_from)
                                 or os.path.isfile(os.path.join(config.init_from, "model.keras"))):
        raise FileNotFoundError(  # before any corpus or tokenizer work
            f"No model at {config.init_from}: give a run directory holding model.keras, a .keras file, or a Hugging "
            "Face model directory (config.json + model.safetensors).")
    config = _with_checkpoint_tokenizer(for_this_worker(config))
    if config.init_from:
        check_checkpoint_fits(config.init_from, config.tokenizer_dir, config.sequence_length)
    if in_multi_worker_mode(strategy) and not (config.tokenizer_dir or is_prepared_directory(config.corpus)):
        raise ConfigError(
            "Multi-worker pretraining needs one vocabulary for all workers, and WordPiece training is not "
            "deterministic across processes. Prepare the corpus once (tfssl prepare CORPUS prepared/NAME) and pass "
            "--corpus=prepared/NAME, or train a vocabulary once (tfssl tokenizer train CORPUS runs/vocab) and pass "
            "--tokenizer_dir=runs/vocab (a converted checkpoint's vocabulary is used automatically)."
        )
    run_dir, started = start_run(config)
    if config.init_from and is_hf_directory(config.init_from):
        shutil.copy(os.path.join(config.init_from, "config.json"), os.path.join(run_dir, "hf_config.json"))

    prepared = prepared_corpus(config, run_dir)
    trained_here = not config.tokenizer_dir and not is_prepared_directory(config.corpus)
    config = dataclasses.replace(config, lowercase=prepared.manifest["tokenizer"]["lowercase"])
    tokenizer = prepare_tokenizer(dataclasses.replace(config, tokenizer_dir=prepared.tokenizer_dir), run_dir, [])
    if trained_here:  # what a resumed run checks its settings against
        remember_tokenizer_settings(config, run_dir)
    workers = input_pipelines(strategy)
    masker = masker_for_tokenizer(
        tokenizer,
        config.sequence_length,
        mask_selection_rate=config.mask_selection_rate,
        whole_word_masking=config.whole_word_masking,
        mask_token_rate=config.mask_token_rate,
        random_token_rate=config.random_token_rate,
    )
    if config.batch_size % workers:
        raise ConfigError(f"batch_size={config.batch_size} does not split over {workers} workers; use a multiple "
                          f"of {workers}.")
    if prepared.num_blocks("train") < config.batch_size:
        raise ValueError(
            f"The training split has {prepared.num_blocks('train')} blocks, fewer than batch_size="
            f"{config.batch_size}. Add text, or lower batch_size or sequence_length."
        )
    natural_steps = prepared.steps_per_epoch(config.batch_size // workers, workers)
    epoch_steps = config.steps_per_epoch or natural_steps
    held_out = None
    held_out_blocks = prepared.held_out_blocks(config.max_held_out_blocks)
    if held_out_blocks is not None and int(held_out_blocks.cardinality()) > 0:
        held_out = mask_batches(
            held_out_blocks, masker, min(config.batch_size, int(held_out_blocks.cardinality())),
            seed=config.seed + 1, shuffle=False, new_mask_each_epoch=False,
        )
    total_steps = epoch_steps * config.epochs
    log(config, f"{prepared.num_blocks('train')} training blocks of {config.sequence_length} tokens; "
                 f"{epoch_steps} steps/epoch x {config.epochs} epochs = {total_steps} steps.")

    per_replica = config.batch_size // strategy.num_replicas_in_sync
    if config.batch_size % strategy.num_replicas_in_sync or per_replica % config.gradient_accumulation_steps:
        raise ConfigError(
            f"batch_size={config.batch_size} does not split into {strategy.num_replicas_in_sync} replica(s) x "
            f"{config.gradient_accumulation_steps} micro-batch(es); use a multiple of "
            f"{strategy.num_replicas_in_sync * config.gradient_accumulation_steps}.")
    with strategy.scope():
        pretrainer = _build_pretrainer(config, tokenizer)
        pretrainer.compile(
            learning_rate=config.learning_rate,
            warmup_steps=min(config.warmup_steps, max(total_steps // 10, 1)),
            total_steps=total_steps,
            weight_decay=config.weight_decay,
            jit_compile=jit_compile_for(strategy, config.jit_compile),
            gradient_accumulation_steps=config.gradient_accumulation_steps,
        )
    fit = ResumableFit(pretrainer, run_dir, config.epochs, epoch_steps, config.save_freq, config.batch_size,
                       log=lambda message: log(config, message))
    budget = TimeBudget(config.max_train_minutes) if config.max_train_minutes else None
    callbacks = [
        BestCheckpoint(os.path.join(run_dir, "checkpoint.weights.h5"),
                       monitor="val_loss" if held_out is not None else "loss", resume=fit.resumed),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=fit.resumed),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"), update_freq=50),
        TrainingCurves(os.path.join(run_dir, "training_curves.png")),
    ] + ([budget] if budget else [])
    fit_started = time.monotonic()
    record_dir = os.path.join(run_dir, "input_blocks")
    if config.record_input_blocks:
        os.makedirs(record_dir, exist_ok=True)
    history = fit.run(
        lambda step, count, index: prepared_mask_batches(
            prepared, masker, config.batch_size // count, config.seed, step, count, index,
            record_blocks_to=os.path.join(record_dir, f"pipeline-{index}.tsv") if config.record_input_blocks else None),
        callbacks, validation_data=held_out, verbose=config.verbose, budget=budget, per_pipeline=True)
    train = prepared_mask_batches(prepared, masker, config.batch_size // workers, config.seed)  # for the baseline
    fit_seconds = time.monotonic() - fit_started
    if not history_is_finite(history):
        raise FloatingPointError(
            f"Training diverged (NaN/Inf loss) in {run_dir}. Lower learning_rate (now {config.learning_rate}) "
            "or raise warmup_steps; the last good weights are in checkpoint.weights.h5 (best finished epoch) and "
            "backup/ (last finite step)."
        )
    save_model_file(pretrainer, os.path.join(run_dir, "model.keras"))
    fit.finish()

    result = {
        "run_dir": run_dir,
        "steps": int(pretrainer.optimizer.iterations.numpy()),
        "resumed_from_step": fit.start_step,
        "stopped_by_time_budget": bool(budget and budget.stopped_early),
        "fit_seconds": fit_seconds,
        "history": {k: [float(x) for x in v] for k, v in history.history.items()},
    }
    if held_out is not None:
        result["held_out"] = {k: float(v) for k, v in pretrainer.evaluate(held_out, verbose=0, return_dict=True).items()}
        result["held_out"]["most_frequent_token_accuracy"] = most_frequent_token_accuracy(train, held_out, tokenizer.vocabulary_size)
        log(config, f"Held-out: {json.dumps(result['held_out'])}")
    if config.export:
        model_dir = os.path.join(config.export_dir, config.name)
        result["export"] = export_fill_mask(
            pretrainer, tokenizer, model_dir, config.sequence_length, top_k=config.top_k,
            asset_paths=export_assets(run_dir),
        )
        log(config, f"Exported {result['export']}")
    return write_metrics(run_dir, result, started)


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
        if config.sequence_length > pretrainer.backbone.sequence_length:
            raise ConfigError(f"sequence_length={config.sequence_length} is beyond the position table of "
                              f"{config.init_from} ({pretrainer.backbone.sequence_length}). Lower sequence_length.")
        return pretrainer
    if config.init_from:
        return load_pretrainer(config.init_from, tokenizer, config.sequence_length)
    sizes = {k: getattr(config, k) for k in ("num_layers", "num_heads", "hidden_dim", "intermediate_dim")
             if getattr(config, k) is not None}
    backbone = EncoderBackbone.from_preset(
        config.preset,
        vocabulary_size=tokenizer.vocabulary_size,
        sequence_length=config.position_table_size,
        dropout=config.dropout,
        norm_first=config.norm_first,
        rotary=config.rotary,
        position_initializer=config.position_initializer,
        **sizes,
    )
    pretrainer = MaskedLMPretrainer(backbone)
    pretrainer.build()
    return pretrainer


def load_pretrainer(path, tokenizer=None, sequence_length=None):
    """Loads a `.keras` pretrainer (a file, or a run directory's `model.keras`) and checks that
    it fits the tokenizer's vocabulary and the sequence length."""
    file = os.path.join(path, "model.keras") if os.path.isdir(path) else path
    if not os.path.isfile(file):
        raise FileNotFoundError(f"No model at {file}: give a run directory holding model.keras, or a .keras file.")
    pretrainer = keras.saving.load_model(file)
    vocab = pretrainer.backbone.vocabulary_size
    if tokenizer is not None and tokenizer.vocabulary_size != vocab:
        raise ConfigError(
            f"The vocabulary ({tokenizer.vocabulary_size} tokens) does not match the checkpoint {file} "
            f"({vocab} tokens). Use the checkpoint's own tokenizer: set tokenizer_dir to the tokenizer/ "
            "directory of the run that produced it."
        )
    if sequence_length is not None and sequence_length > pretrainer.backbone.sequence_length:
        raise ConfigError(
            f"sequence_length={sequence_length} is beyond the position table of {file} "
            f"({pretrainer.backbone.sequence_length}). Lower sequence_length."
        )
    return pretrainer


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
