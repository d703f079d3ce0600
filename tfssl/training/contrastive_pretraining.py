"""The contrastive driver behind `tfssl pretrain simcse` (and its Python equivalent).

    starting encoder (a masked-LM run, or a preset) -> sentences (unsupervised) or pairs
    (supervised) as tf.data -> strategy scope: ContrastivePretrainer, compiled -> model.fit,
    scored on an STS file every `eval_every_steps` -> best weights -> STS report
    -> saved_models/<name>/<version>/ (`embed` and `similarity` signatures)

A run writes to `<output_dir>/<name>/`: `config.json` (resolved), `tokenizer/`,
`checkpoint.weights.h5` (best by STS Spearman when `sts_file` is set, else last), `model.keras`,
`backup/` (rerunning the same command resumes), `logs/`, `history.csv`, `training_curves.png`,
`metrics.json` (STS before and after training, wall times).

Example:

>>> from tfssl.config import ContrastivePretrainConfig
>>> result = run_contrastive_pretraining(ContrastivePretrainConfig(init_from="runs/sotu-mlm", steps=300))
>>> result["sts"]
"""

import os
import time

import keras

from tfssl.config import ConfigError, ContrastivePretrainConfig, save_config
from tfssl.data.corpus import CorpusStats, load_corpus, split_documents
from tfssl.data.sentence_pairs import load_sentence_pairs, pair_batches, sts_positive_pairs
from tfssl.data.sentence_pipeline import sentence_batches, split_sentences
from tfssl.data.sts_pairs import load_sts_pairs
from tfssl.export.embedding_export import export_sentence_embedder
from tfssl.metrics.sts_evaluation import evaluate_sts
from tfssl.models.contrastive_pretrainer import ContrastivePretrainer, with_dropout
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.sentence_embedder import SentenceEmbedder, embed_texts
from tfssl.training.callbacks import TimeBudget, TrainingCurves
from tfssl.training.mlm_pretraining import load_pretrainer
from tfssl.training.run_directory import (
    export_assets,
    history_is_finite,
    log,
    prepare_tokenizer,
    start_run,
    tokenizer_dir,
    write_metrics,
)
from tfssl.training.best_checkpoint import BestCheckpoint
from tfssl.training.keras_multi_worker import in_multi_worker_mode
from tfssl.training.resumable_fit import ResumableFit
from tfssl.training.step_backup import save_model_file
from tfssl.training.strategy import choose_strategy, for_this_worker, jit_compile_for
from tfssl.training.sts_callback import STSEvaluation


def run_contrastive_pretraining(config: ContrastivePretrainConfig) -> dict:
    """Runs one contrastive job end to end; returns paths and figures (also in metrics.json)."""
    strategy = choose_strategy(config.strategy)  # first: multi-worker collectives are configured at startup
    config = for_this_worker(config)
    if in_multi_worker_mode(strategy) and config.init_from is None and not config.tokenizer_dir:
        raise ConfigError(
            "Multi-worker training from scratch needs one vocabulary for all workers, and WordPiece training is not "
            "deterministic across processes. Train it once (tfssl tokenizer train CORPUS runs/vocab) and pass "
            "--tokenizer_dir=runs/vocab, or start from a run (--init_from), whose vocabulary every worker reads."
        )
    run_dir, started = start_run(config, save=False)  # saved below, once tokenizer_dir is resolved
    sts_sets = {name: load_sts_pairs(path) for name, path in (("sts", config.sts_file), ("sts_test", config.sts_test_file)) if path}

    init_dir = _init_directory(config)
    documents = None
    if config.mode == "unsupervised" or init_dir is None:
        stats = CorpusStats()
        documents = load_corpus(config.corpus, config.text_column, config.text_format, config.on_decode_error, stats=stats)
        documents, _ = split_documents(documents, config.held_out_fraction, config.seed)
    if config.tokenizer_dir is None and init_dir is not None:
        config.tokenizer_dir = tokenizer_dir(init_dir)
        if not os.path.isfile(os.path.join(config.tokenizer_dir, "vocab.txt")):
            raise FileNotFoundError(
                f"No tokenizer at {config.tokenizer_dir} for the starting model {config.init_from}. Set tokenizer_dir "
                "to the tokenizer/ directory of the run that trained it."
            )
    save_config(config, os.path.join(run_dir, "config.json"))
    tokenizer = prepare_tokenizer(config, run_dir, [d.text for d in documents] if documents else [])
    make_batches, examples = _training_data(config, tokenizer, documents)
    pooling = config.eval_pooling or {"cls_mlp": "cls", "mean_mlp": "mean"}.get(config.pooling, config.pooling)

    with strategy.scope():
        backbone = _starting_backbone(config, tokenizer)
        # The starting encoder's scores: with the run's embedding pooling, and mean-pooled (the
        # usual baseline for an encoder never trained on sentences).
        before = {name: _score(backbone, tokenizer, pooling, config, pairs) for name, pairs in sts_sets.items()}
        before_mean = before if pooling == "mean" else {
            name: _score(backbone, tokenizer, "mean", config, pairs) for name, pairs in sts_sets.items()}
        for name in before:
            log(config, f"Starting encoder on {name}: Spearman {100 * before[name]['spearman']:.2f} ({pooling}), "
                         f"{100 * before_mean[name]['spearman']:.2f} (mean)")
        model = ContrastivePretrainer(
            with_dropout(backbone, config.dropout), pooling=config.pooling, temperature=config.temperature,
            symmetric=config.symmetric, hard_negative_weight=config.hard_negative_weight,
            queue_size=config.queue_size, momentum=config.momentum,
        )
        model.build()
        if config.freeze_token_embeddings:
            model.backbone.token_embedding.trainable = False
        model.compile(learning_rate=_schedule(config), weight_decay=config.weight_decay,
                      jit_compile=jit_compile_for(strategy, config.jit_compile))
    log(config, f"{examples:,} training {'sentences' if config.mode == 'unsupervised' else 'pairs'}; "
                 f"{config.steps} steps of batch {config.batch_size}.")

    checkpoint = os.path.join(run_dir, "checkpoint.weights.h5")
    epochs = -(-config.steps // config.eval_every_steps)
    fit = ResumableFit(model, run_dir, epochs, config.eval_every_steps,
                       save_freq=config.save_freq or config.eval_every_steps, global_batch_size=config.batch_size,
                       log=lambda message: log(config, message))
    budget = TimeBudget(config.max_train_minutes) if config.max_train_minutes else None
    callbacks = []
    if "sts" in sts_sets:  # before the checkpoint, which monitors the score it logs
        callbacks.append(STSEvaluation(sts_sets["sts"], tokenizer, config.sequence_length, pooling))
    callbacks += [
        BestCheckpoint(checkpoint, monitor="sts_spearman" if "sts" in sts_sets else "loss",
                       mode="max" if "sts" in sts_sets else "min", resume=fit.resumed),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=fit.resumed),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"), update_freq=50),
        TrainingCurves(os.path.join(run_dir, "training_curves.png"), metrics=("loss",),
                       every_steps=max(config.eval_every_steps // 4, 1),
                       epoch_metrics=("sts_spearman", "sts_uniformity") if "sts" in sts_sets else ()),
    ] + ([budget] if budget else [])
    fit_started = time.monotonic()
    # Endless and seeded, and built anew for each part: skipping `step` batches of a fresh stream
    # gives the rest of an uninterrupted run (a reshuffling dataset iterated twice would not).
    history = fit.run(lambda step: make_batches().skip(step), callbacks,
                      verbose=config.verbose, budget=budget)
    fit_seconds = time.monotonic() - fit_started
    if not history_is_finite(history):
        raise FloatingPointError(
            f"Training diverged (NaN/Inf loss) in {run_dir}. Lower learning_rate (now {config.learning_rate}) "
            "or raise temperature; the last good weights are in checkpoint.weights.h5 and backup/ (last finite step)."
        )
    steps = int(model.optimizer.iterations.numpy())
    if "sts" in sts_sets and os.path.isfile(checkpoint):
        model.load_weights(checkpoint)  # the best epoch by STS Spearman on `sts_file`
    save_model_file(model, os.path.join(run_dir, "model.keras"))
    fit.finish()

    embedder = SentenceEmbedder(model.backbone, tokenizer, pooling, config.sequence_length)
    result = {
        "run_dir": run_dir,
        "steps": steps,
        "resumed_from_step": fit.start_step,
        "fit_seconds": fit_seconds,
        "history": {k: [float(x) for x in v] for k, v in history.history.items()},
        "pooling": pooling,
        "sts_before": before,
        "sts_before_mean_pooled": before_mean,
        "sts": {name: evaluate_sts(lambda t: embed_texts(embedder, t), pairs) for name, pairs in sts_sets.items()},
    }
    for name, scores in result["sts"].items():
        log(config, f"Trained encoder on {name}: Spearman {100 * scores['spearman']:.2f}")
    if config.export:
        result["export"] = export_sentence_embedder(
            embedder, os.path.join(config.export_dir, config.name),
            asset_paths=export_assets(run_dir),
        )
        log(config, f"Exported {result['export']}")
    return write_metrics(run_dir, result, started)


def _init_directory(config):
    """The run directory that holds the starting model (and its tokenizer), or None."""
    if config.init_from is None:
        return None
    path = config.init_from
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "model.keras")):
        return path
    if os.path.isfile(path):
        return os.path.dirname(path) or "."
    hint = " Run `tfssl pretrain mlm` first (it writes runs/sotu-mlm)," if path == "runs/sotu-mlm" else ""
    raise FileNotFoundError(
        f"No starting model at {path}.{hint} Set init_from to a run directory holding model.keras, or "
        "--init_from=none to train the preset from scratch."
    )


def _training_data(config, tokenizer, documents):
    """(a function that builds the repeated training dataset, number of training examples). The
    examples are read once; the dataset is built anew for each `fit` part (see `ResumableFit`)."""
    if config.mode == "unsupervised":
        sentences = [s for d in documents for s in split_sentences(d.text, config.min_words, config.max_words)]
        if len(sentences) < config.batch_size:
            raise ValueError(
                f"Only {len(sentences)} sentences of {config.min_words}-{config.max_words} words in {config.corpus!r}, "
                f"fewer than batch_size={config.batch_size}. Add text, or lower batch_size or min_words."
            )
        return (lambda: sentence_batches(sentences, tokenizer, config.sequence_length, config.batch_size,
                                         config.seed).repeat()), len(sentences)
    if config.pairs_format == "sts":
        pairs = sts_positive_pairs(config.pairs_file, config.sts_min_score)
    else:
        pairs = load_sentence_pairs(config.pairs_file, config.anchor_column, config.positive_column, config.negative_column)
    return (lambda: pair_batches(pairs, tokenizer, config.sequence_length, config.batch_size,
                                 config.seed).repeat()), len(pairs)


def _starting_backbone(config, tokenizer):
    if config.init_from is not None:
        file = config.init_from if os.path.isfile(config.init_from) else os.path.join(config.init_from, "model.keras")
        return load_pretrainer(file, tokenizer, config.sequence_length).backbone
    backbone = EncoderBackbone.from_preset(config.preset, vocabulary_size=tokenizer.vocabulary_size, dropout=config.dropout)
    backbone.build()
    if config.sequence_length > backbone.sequence_length:
        raise ConfigError(f"sequence_length={config.sequence_length} is beyond the preset's position table.")
    return backbone


def _schedule(config):
    if not config.warmup_steps:
        return config.learning_rate
    from tfssl.optimizers.warmup_decay import WarmupDecay

    return WarmupDecay(config.learning_rate, config.warmup_steps, config.steps)


def _score(backbone, tokenizer, pooling, config, pairs):
    embedder = SentenceEmbedder(backbone, tokenizer, pooling, config.sequence_length)
    return evaluate_sts(lambda t: embed_texts(embedder, t), pairs)
