"""The generative (GPT) pretraining driver behind `tfssl pretrain clm` (and its Python equivalent).

    corpus -> held-out split -> decoder tokenizer (SentencePiece or characters) -> token streams
    -> shifted, shuffled blocks (tf.data) -> strategy scope: DecoderBackbone + CausalLMPretrainer
    -> model.fit -> best checkpoint -> held-out perplexity (sliding window) vs. a unigram model
    -> samples.txt -> saved_models/<name>/<version>/ (`generate` and `score` signatures)

`--corpus` may also name a directory `tfssl prepare --layout=causal` wrote: then nothing is read whole or
tokenized at train time, each worker reads its own windows, and a resume starts at its step without reading
what came before (a raw corpus is read into memory, for nanoGPT's tail split and random block offsets).

Everything a run produces lands in `<output_dir>/<name>/`: `config.json`, `tokenizer/`,
`checkpoint.weights.h5` (best held-out loss), `model.keras`, `backup/` (rerunning the same
command resumes), `logs/`, `history.csv`, `training_curves.png`, `samples.txt`, `metrics.json`.

Example:

>>> from tfssl.config import CausalLMPretrainConfig
>>> result = run_causal_lm_pretraining(CausalLMPretrainConfig(steps=500))
>>> result["held_out"]["perplexity"], result["unigram"]["perplexity"]
"""

import dataclasses
import json
import os
import shutil
import time

import keras
import tensorflow as tf

from tfssl.config import CausalLMPretrainConfig, ConfigError
from tfssl.data.causal_lm_pipeline import lm_batches, prepared_lm_batches, token_stream
from tfssl.data.corpus_preparation import check_manifest_tokenizer
from tfssl.data.prepared_dataset import PreparedDataset
from tfssl.data.prepared_manifest import is_prepared_directory
from tfssl.data.corpus import CorpusStats, load_corpus, split_documents, split_tail
from tfssl.export.generation_export import export_text_generator
from tfssl.metrics.causal_lm_perplexity import sliding_window_perplexity, unigram_perplexity
from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer
from tfssl.models.decoder_backbone import DecoderBackbone
from tfssl.models.text_generator import TextGenerator
from tfssl.tokenizers.decoder_tokenizers import load_decoder_tokenizer, train_decoder_tokenizer
from tfssl.training.callbacks import TimeBudget, TrainingCurves
from tfssl.training.run_directory import history_is_finite, log, start_run, tokenizer_dir, write_metrics
from tfssl.training.best_checkpoint import BestCheckpoint
from tfssl.training.distributed_input import input_pipelines
from tfssl.training.keras_multi_worker import in_multi_worker_mode
from tfssl.training.resumable_fit import ResumableFit
from tfssl.training.step_backup import save_model_file
from tfssl.training.strategy import choose_strategy, for_this_worker, jit_compile_for


def run_causal_lm_pretraining(config: CausalLMPretrainConfig) -> dict:
    """Runs one generative pretraining job end to end; returns paths and figures (also in metrics.json)."""
    strategy = choose_strategy(config.strategy)  # first: multi-worker collectives are configured at startup
    config = for_this_worker(config)
    if (in_multi_worker_mode(strategy) and config.tokenizer == "sentencepiece" and not config.tokenizer_dir
            and not is_prepared_directory(config.corpus)):
        raise ConfigError(
            "Multi-worker pretraining needs one vocabulary for all workers, and SentencePiece training is "
            "multi-threaded. Prepare the corpus once (tfssl prepare CORPUS prepared/NAME --layout=causal) and pass "
            "--corpus=prepared/NAME, or train a tokenizer once (tfssl pretrain clm --name=vocab --steps=1 "
            "--eval_every_steps=1 --export=false writes runs/vocab/tokenizer/) and pass "
            "--tokenizer_dir=runs/vocab/tokenizer, or use --tokenizer=character (the same on every worker)."
        )
    run_dir, started = start_run(config)

    if is_prepared_directory(config.corpus):
        tokenizer, stream_from, train_tokens, train_sample, held_out_stream = _prepared_input(config, run_dir, strategy)
        per_pipeline = True
    else:
        tokenizer, train_stream, held_out_stream = _in_memory_streams(config, run_dir)
        train = lm_batches(train_stream, config.sequence_length, config.batch_size, seed=config.seed,
                           random_offset=config.random_offset)
        stream_from = train.skip  # `train` is endless and a pure function of the seed
        train_tokens, train_sample, per_pipeline = len(train_stream), train_stream, False
    held_out = None
    if held_out_stream is not None and len(held_out_stream) > config.sequence_length + 1:
        held_out = lm_batches(held_out_stream, config.sequence_length, config.batch_size, training=False)
    epochs = max(config.steps // config.eval_every_steps, 1)
    log(config, f"{train_tokens:,} training tokens, {0 if held_out_stream is None else len(held_out_stream):,} "
                 f"held-out; {epochs} x {config.eval_every_steps} steps of {config.batch_size} x {config.sequence_length} "
                 f"tokens ({epochs * config.eval_every_steps * config.batch_size * config.sequence_length / train_tokens:.2f} passes).")

    with strategy.scope():
        pretrainer = _build_pretrainer(config, tokenizer)
        pretrainer.compile(
            learning_rate=config.learning_rate,
            end_learning_rate=config.end_learning_rate,
            warmup_steps=config.warmup_steps,
            total_steps=epochs * config.eval_every_steps,
            weight_decay=config.weight_decay,
            beta_2=config.beta_2,
            jit_compile=jit_compile_for(strategy, config.jit_compile),
            gradient_accumulation_steps=config.gradient_accumulation_steps,
        )
    log(config, f"Decoder: {pretrainer.count_params():,} parameters, vocabulary {tokenizer.vocabulary_size}.")

    fit = ResumableFit(pretrainer, run_dir, epochs, config.eval_every_steps,
                       save_freq=config.save_freq or config.eval_every_steps, global_batch_size=config.batch_size,
                       log=lambda message: log(config, message))
    checkpoint = os.path.join(run_dir, "checkpoint.weights.h5")
    budget = TimeBudget(config.max_train_minutes) if config.max_train_minutes else None
    callbacks = [
        BestCheckpoint(checkpoint, monitor="val_loss" if held_out is not None else "loss", resume=fit.resumed),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=fit.resumed),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"), update_freq=50),
        TrainingCurves(os.path.join(run_dir, "training_curves.png"), metrics=("loss", "perplexity"),
                       every_steps=max(config.eval_every_steps // 5, 1)),
    ] + ([budget] if budget else [])
    fit_started = time.monotonic()
    history = fit.run(stream_from, callbacks, validation_data=held_out, verbose=config.verbose, budget=budget,
                      per_pipeline=per_pipeline)
    fit_seconds = time.monotonic() - fit_started
    if not history_is_finite(history):
        raise FloatingPointError(
            f"Training diverged (NaN/Inf loss) in {run_dir}. Lower learning_rate (now {config.learning_rate}) "
            "or raise warmup_steps; the last good weights are in checkpoint.weights.h5 and backup/ (last finite step)."
        )
    if os.path.isfile(checkpoint):
        pretrainer.load_weights(checkpoint)  # the best held-out loss seen
    save_model_file(pretrainer, os.path.join(run_dir, "model.keras"))
    fit.finish()

    result = {
        "run_dir": run_dir,
        "steps": int(pretrainer.optimizer.iterations.numpy()),
        "parameters": int(pretrainer.count_params()),
        "vocabulary_size": int(tokenizer.vocabulary_size),
        "train_tokens": int(train_tokens),
        "resumed_from_step": fit.start_step,
        "stopped_by_time_budget": bool(budget and budget.stopped_early),
        "fit_seconds": fit_seconds,
        "history": {k: [float(x) for x in v] for k, v in history.history.items()},
    }
    if held_out is not None:
        blocks = pretrainer.evaluate(held_out, verbose=0, return_dict=True)
        context = config.eval_context or config.sequence_length
        result["held_out_blocks"] = {"loss": float(blocks["loss"]), "perplexity": float(blocks["perplexity"]),
                                     "token_accuracy": float(blocks["token_accuracy"]),
                                     "note": f"disjoint {config.sequence_length}-token blocks (nanoGPT's val loss)"}
        result["held_out"] = sliding_window_perplexity(pretrainer, held_out_stream, context, config.eval_stride)
        result["unigram"] = unigram_perplexity(train_sample, held_out_stream, tokenizer.vocabulary_size)
        result["perplexity_ratio_to_unigram"] = result["held_out"]["perplexity"] / result["unigram"]["perplexity"]
        log(config, f"Held-out perplexity {result['held_out']['perplexity']:.2f} (context {result['held_out']['context']}, "
                     f"stride {result['held_out']['stride']}); unigram {result['unigram']['perplexity']:.2f}; "
                     f"block loss {blocks['loss']:.4f}.")
    generator = TextGenerator(pretrainer, tokenizer)
    result["samples"] = write_samples(generator, config, os.path.join(run_dir, "samples.txt"))
    if config.export:
        result["export"] = export_text_generator(generator, os.path.join(config.export_dir, config.name),
                                                 decoder_export_assets(run_dir))
        log(config, f"Exported {result['export']}")
    return write_metrics(run_dir, result, started)


def prepare_decoder_tokenizer(config, run_dir, texts):
    """The run's tokenizer: `tokenizer_dir`, the run's earlier one (same settings), or a new one."""
    target = tokenizer_dir(run_dir)
    settings = {"corpus": config.corpus, "tokenizer": config.tokenizer, "vocabulary_size": config.vocabulary_size,
                "sentencepiece_model_type": config.sentencepiece_model_type}
    settings_path = os.path.join(target, "tfssl_run_tokenizer.json")
    if config.tokenizer_dir:
        if os.path.abspath(config.tokenizer_dir) != os.path.abspath(target):
            shutil.copytree(config.tokenizer_dir, target, dirs_exist_ok=True)
        return load_decoder_tokenizer(target)
    if os.path.isfile(settings_path):
        with open(settings_path, encoding="utf-8") as f:
            earlier = json.load(f)
        if earlier != settings:
            raise ConfigError(f"{run_dir} already holds a tokenizer made with {earlier}, not {settings}. Use another "
                              "--name for a new run, or delete that directory to start over.")
        return load_decoder_tokenizer(target)
    log(config, f"Building the {config.tokenizer} tokenizer ...")
    tokenizer = train_decoder_tokenizer(config.tokenizer, texts, target, config.vocabulary_size,
                                        config.sentencepiece_model_type, show_progress=config.verbose > 1)
    with open(settings_path, "w", encoding="utf-8") as f:
        json.dump(settings, f)
    return tokenizer


def _in_memory_streams(config, run_dir):
    """A raw corpus read whole: the split, the run's tokenizer, and the token streams of both splits."""
    stats = CorpusStats()
    documents = load_corpus(config.corpus, config.text_column, config.text_format, config.on_decode_error, stats=stats)
    if config.held_out_split == "tail":
        train_docs, held_out_docs = split_tail(documents, config.held_out_fraction)
    else:
        train_docs, held_out_docs = split_documents(documents, config.held_out_fraction, config.seed)
    log(config, f"Corpus {config.corpus!r}: {len(train_docs)} training / {len(held_out_docs)} held-out documents, "
                 f"{stats.characters:,} characters, {len(stats.skipped)} file(s) skipped.")
    tokenizer = prepare_decoder_tokenizer(config, run_dir, [d.text for d in train_docs])
    train_stream = token_stream([d.text for d in train_docs], tokenizer)
    held_out_stream = token_stream([d.text for d in held_out_docs], tokenizer) if held_out_docs else None
    return tokenizer, train_stream, held_out_stream


UNIGRAM_SAMPLE_TOKENS = 10_000_000  # the unigram baseline's counts, from the first training shards


def _prepared_input(config, run_dir, strategy):
    """A causal prepared directory (`tfssl prepare --layout=causal`): its tokenizer (checked against
    `tokenizer_dir`), each worker's own windows, and bounded held-out and unigram-sample streams."""
    if config.held_out_split != "documents":
        raise ConfigError(f"{config.corpus} is prepared with a split by document; held_out_split={config.held_out_split!r} "
                          "applies to raw corpora only. Drop it, or pass the raw corpus.")
    prepared = PreparedDataset(config.corpus)
    if prepared.layout != "causal":
        raise ConfigError(f"{config.corpus} holds masked-LM blocks; prepare the corpus for a causal LM: tfssl prepare "
                          f"CORPUS DIR --layout=causal --sequence-length={config.sequence_length}.")
    if prepared.sequence_length != config.sequence_length:
        raise ConfigError(f"{config.corpus} was prepared with sequence_length={prepared.sequence_length}, not "
                          f"{config.sequence_length}: pass --sequence_length={prepared.sequence_length}, or prepare again.")
    if config.tokenizer_dir:
        check_manifest_tokenizer(config.corpus, config.tokenizer_dir)
    tokenizer = prepare_decoder_tokenizer(dataclasses.replace(config, tokenizer_dir=prepared.tokenizer_dir), run_dir, [])
    workers = input_pipelines(strategy)
    if config.batch_size % workers:
        raise ConfigError(f"batch_size={config.batch_size} does not split over {workers} workers; use a multiple "
                          f"of {workers}.")
    prepared.steps_per_epoch(config.batch_size // workers, workers)  # enough windows for one batch per worker
    documents = prepared.manifest["documents"]
    log(config, f"Corpus {config.corpus!r}: {documents['train']} training / {documents['held_out']} held-out "
                f"documents, {prepared.num_blocks('train'):,} prepared windows (cut at offset 0: random_offset "
                "applies to raw corpora only).")

    def stream_from(step, count, index):
        return prepared_lm_batches(prepared, config.batch_size // count, config.seed, step, count, index)

    held_out_stream = prepared.causal_stream("held_out", config.max_held_out_tokens)
    return (tokenizer, stream_from, prepared.num_blocks("train") * config.sequence_length,
            prepared.causal_stream("train", UNIGRAM_SAMPLE_TOKENS), held_out_stream if len(held_out_stream) else None)


def decoder_export_assets(run_dir):
    """The tokenizer files and the run's config, copied into every export's assets/."""
    directory = tokenizer_dir(run_dir)
    files = [os.path.join(directory, f) for f in sorted(os.listdir(directory))]
    return files + [os.path.join(run_dir, "config.json")]


def _build_pretrainer(config, tokenizer):
    if config.init_from:
        return load_causal_lm(config.init_from, tokenizer, config.sequence_length)
    sizes = {k: getattr(config, k) for k in ("num_layers", "num_heads", "hidden_dim", "intermediate_dim")
             if getattr(config, k) is not None}
    backbone = DecoderBackbone.from_preset(config.preset, vocabulary_size=tokenizer.vocabulary_size,
                                           sequence_length=config.sequence_length, dropout=config.dropout,
                                           rotary=config.rotary, activation=config.activation, **sizes)
    pretrainer = CausalLMPretrainer(backbone)
    pretrainer.build()
    return pretrainer


def load_causal_lm(path, tokenizer=None, sequence_length=None):
    """Loads a `.keras` causal LM (a file, or a run directory's `model.keras`), checked against the
    tokenizer's vocabulary and the sequence length."""
    file = os.path.join(path, "model.keras") if os.path.isdir(path) else path
    if not os.path.isfile(file):
        raise FileNotFoundError(f"No model at {file}: give a run directory holding model.keras, or a .keras file.")
    pretrainer = keras.saving.load_model(file)
    if not isinstance(pretrainer, CausalLMPretrainer):
        raise ConfigError(f"{file} holds a {type(pretrainer).__name__}, not a causal LM (made by tfssl pretrain clm).")
    vocab = pretrainer.backbone.vocabulary_size
    if tokenizer is not None and tokenizer.vocabulary_size != vocab:
        raise ConfigError(
            f"The tokenizer ({tokenizer.vocabulary_size} tokens) does not match the checkpoint {file} ({vocab} tokens). "
            "Use the checkpoint's own tokenizer: set tokenizer_dir to the tokenizer/ directory of the run that made it."
        )
    if sequence_length is not None and sequence_length > pretrainer.backbone.sequence_length:
        raise ConfigError(f"sequence_length={sequence_length} is beyond the context of {file} "
                          f"({pretrainer.backbone.sequence_length}). Lower sequence_length.")
    return pretrainer


def write_samples(generator, config, path):
    """Samples `num_samples` completions of `sample_prompt` into `path`; returns them."""
    out = generator.generate(
        tf.constant([config.sample_prompt] * config.num_samples), config.sample_tokens, config.sample_temperature,
        config.sample_top_k, config.sample_top_p, config.seed,
    )
    samples = [config.sample_prompt + c.decode("utf-8", errors="replace") for c in out["completions"].numpy()]
    with open(path, "w", encoding="utf-8") as f:
        for i, sample in enumerate(samples):
            f.write(f"--- sample {i + 1} (temperature {config.sample_temperature}, top_p {config.sample_top_p}) ---\n{sample}\n")
    return samples
