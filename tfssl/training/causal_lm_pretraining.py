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

import tensorflow as tf

from tfssl.config import CausalLMPretrainConfig, ConfigError
from tfssl.data.causal_lm_pipeline import lm_batches, prepared_lm_batches, token_stream
from tfssl.data.prepared_tokenizer import check_manifest_tokenizer
from tfssl.data.prepared_dataset import PreparedDataset
from tfssl.data.prepared_manifest import is_prepared_directory
from tfssl.data.corpus import CorpusStats, load_corpus, split_documents, split_tail
from tfssl.export.generation_export import export_text_generator
from tfssl.metrics.causal_lm_perplexity import sliding_window_perplexity, unigram_perplexity
from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer
from tfssl.models.decoder_backbone import DecoderBackbone
from tfssl.models.text_generator import TextGenerator
from tfssl.run_directory import RunDirectory
from tfssl.tokenizers.decoder_tokenizers import load_decoder_tokenizer, train_decoder_tokenizer
from tfssl.training.distributed_input import input_pipelines
from tfssl.training.driver import Driver, log
from tfssl.training.keras_multi_worker import in_multi_worker_mode


def run_causal_lm_pretraining(config: CausalLMPretrainConfig) -> dict:
    """Runs one generative pretraining job end to end; returns paths and figures (also in metrics.json)."""
    return CausalLMDriver(config).run()


class CausalLMDriver(Driver):
    """`tfssl pretrain clm` (see the module docstring): the best held-out loss's weights are kept."""

    curve_metrics = ("loss", "perplexity")

    def check(self):
        config = self.config
        if (in_multi_worker_mode(self.strategy) and config.tokenizer == "sentencepiece" and not config.tokenizer_dir
                and not is_prepared_directory(config.corpus)):
            raise ConfigError(
                "Multi-worker pretraining needs one vocabulary for all workers, and SentencePiece training is "
                "multi-threaded. Prepare the corpus once (tfssl prepare CORPUS prepared/NAME --layout=causal) and "
                "pass --corpus=prepared/NAME, or train a tokenizer once (tfssl pretrain clm --name=vocab --steps=1 "
                "--eval_every_steps=1 --export=false writes runs/vocab/tokenizer/) and pass "
                "--tokenizer_dir=runs/vocab/tokenizer, or use --tokenizer=character (the same on every worker).")

    def load_data(self):
        config, run_dir = self.config, self.directory.path
        if is_prepared_directory(config.corpus):
            (self.tokenizer, self._stream_from, self.train_tokens, self.train_sample,
             self.held_out_stream) = _prepared_input(config, run_dir, self.strategy)
            self.per_pipeline = True
        else:
            self.tokenizer, train_stream, self.held_out_stream = _in_memory_streams(config, run_dir)
            train = lm_batches(train_stream, config.sequence_length, config.batch_size, seed=config.seed,
                               random_offset=config.random_offset)
            self._stream_from = train.skip  # `train` is endless and a pure function of the seed
            self.train_tokens, self.train_sample = len(train_stream), train_stream
        if self.held_out_stream is not None and len(self.held_out_stream) > config.sequence_length + 1:
            self.validation_data = lm_batches(self.held_out_stream, config.sequence_length, config.batch_size,
                                              training=False)
        self.epochs, self.steps_per_epoch = max(config.steps // config.eval_every_steps, 1), config.eval_every_steps
        self.save_freq = config.save_freq or config.eval_every_steps
        held_out_tokens = 0 if self.held_out_stream is None else len(self.held_out_stream)
        tokens_seen = self.epochs * config.eval_every_steps * config.batch_size * config.sequence_length
        self.log(f"{self.train_tokens:,} training tokens, {held_out_tokens:,} held-out; {self.epochs} x "
                 f"{config.eval_every_steps} steps of {config.batch_size} x {config.sequence_length} tokens "
                 f"({tokens_seen / self.train_tokens:.2f} passes).")

    def stream_from(self, step, *pipeline):
        return self._stream_from(step, *pipeline)

    def build_model(self):
        pretrainer = _build_pretrainer(self.config, self.tokenizer)
        self.log(f"Decoder: {pretrainer.count_params():,} parameters, vocabulary {self.tokenizer.vocabulary_size}.")
        return pretrainer

    def compile_arguments(self):
        config = self.config
        return dict(learning_rate=config.learning_rate, end_learning_rate=config.end_learning_rate,
                    warmup_steps=config.warmup_steps, total_steps=self.epochs * config.eval_every_steps,
                    weight_decay=config.weight_decay, beta_2=config.beta_2,
                    gradient_accumulation_steps=config.gradient_accumulation_steps)

    def evaluate(self):
        config, pretrainer = self.config, self.model
        result = {"parameters": int(pretrainer.count_params()), "vocabulary_size": int(self.tokenizer.vocabulary_size),
                  "train_tokens": int(self.train_tokens)}
        if self.validation_data is not None:
            blocks = pretrainer.evaluate(self.validation_data, verbose=0, return_dict=True)
            context = config.eval_context or config.sequence_length
            result["held_out_blocks"] = {"loss": float(blocks["loss"]), "perplexity": float(blocks["perplexity"]),
                                         "token_accuracy": float(blocks["token_accuracy"]),
                                         "note": f"disjoint {config.sequence_length}-token blocks (nanoGPT's val loss)"}
            result["held_out"] = sliding_window_perplexity(pretrainer, self.held_out_stream, context, config.eval_stride)
            result["unigram"] = unigram_perplexity(self.train_sample, self.held_out_stream, self.tokenizer.vocabulary_size)
            result["perplexity_ratio_to_unigram"] = result["held_out"]["perplexity"] / result["unigram"]["perplexity"]
            self.log(f"Held-out perplexity {result['held_out']['perplexity']:.2f} (context "
                     f"{result['held_out']['context']}, stride {result['held_out']['stride']}); unigram "
                     f"{result['unigram']['perplexity']:.2f}; block loss {blocks['loss']:.4f}.")
        self.generator = TextGenerator(pretrainer, self.tokenizer)
        result["samples"] = write_samples(self.generator, config, self.directory.file(RunDirectory.SAMPLES))
        return result

    def export(self):
        return export_text_generator(self.generator, os.path.join(self.config.export_dir, self.config.name),
                                     self.directory.export_assets())


def prepare_decoder_tokenizer(config, run_dir, texts):
    """The run's tokenizer: `tokenizer_dir`, the run's earlier one (same settings), or a new one."""
    target = RunDirectory(run_dir).tokenizer_dir
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


def _build_pretrainer(config, tokenizer):
    if config.init_from:
        return RunDirectory(config.init_from).causal_lm(tokenizer, config.sequence_length)
    backbone = DecoderBackbone.from_preset(config.preset, vocabulary_size=tokenizer.vocabulary_size,
                                           max_sequence_length=config.sequence_length, dropout=config.dropout,
                                           rotary=config.rotary, activation=config.activation,
                                           **config.size_overrides())
    pretrainer = CausalLMPretrainer(backbone)
    pretrainer.build()
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
