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

from tfssl.config import ConfigError, ContrastivePretrainConfig
from tfssl.data.corpus import CorpusStats, load_corpus, split_documents
from tfssl.data.sentence_pairs import load_sentence_pairs, pair_batches, sts_positive_pairs
from tfssl.data.sentence_pipeline import sentence_batches, split_sentences
from tfssl.data.sts_pairs import load_sts_pairs
from tfssl.export.embedding_export import export_sentence_embedder
from tfssl.metrics.sts_evaluation import evaluate_sts
from tfssl.models.contrastive_pretrainer import ContrastivePretrainer, with_dropout
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.sentence_embedder import SentenceEmbedder, embed_texts
from tfssl.run_directory import RunDirectory
from tfssl.training.driver import Driver
from tfssl.training.keras_multi_worker import in_multi_worker_mode
from tfssl.training.run_tokenizer import prepare_tokenizer
from tfssl.training.sts_callback import STSEvaluation


def run_contrastive_pretraining(config: ContrastivePretrainConfig) -> dict:
    """Runs one contrastive job end to end; returns paths and figures (also in metrics.json)."""
    return ContrastiveDriver(config).run()


class ContrastiveDriver(Driver):
    """`tfssl pretrain simcse` (see the module docstring): with an `sts_file`, the best STS epoch is kept."""

    divergence_hint = "Lower learning_rate or raise temperature"

    def check(self):
        config = self.config
        if in_multi_worker_mode(self.strategy) and config.init_from is None and not config.tokenizer_dir:
            raise ConfigError(
                "Multi-worker training from scratch needs one vocabulary for all workers, and WordPiece training is "
                "not deterministic across processes. Train it once (tfssl tokenizer train CORPUS runs/vocab) and pass "
                "--tokenizer_dir=runs/vocab, or start from a run (--init_from), whose vocabulary every worker reads.")
        self.init_dir = _init_directory(config)  # a missing starting model fails before any work
        self.sts_sets = {name: load_sts_pairs(path) for name, path in
                         (("sts", config.sts_file), ("sts_test", config.sts_test_file)) if path}
        if self.init_dir is not None and config.tokenizer_dir is None:
            config.tokenizer_dir = RunDirectory(self.init_dir).tokenizer_dir  # saved in config.json
            if not os.path.isfile(os.path.join(config.tokenizer_dir, "vocab.txt")):
                raise FileNotFoundError(
                    f"No tokenizer at {config.tokenizer_dir} for the starting model {config.init_from}. Set "
                    "tokenizer_dir to the tokenizer/ directory of the run that trained it.")
        if "sts" in self.sts_sets:
            self.monitor_without_validation = ("sts_spearman", "max")
        self.restore_best = "sts" in self.sts_sets  # else the last weights
        self.curve_epoch_metrics = ("sts_spearman", "sts_uniformity") if "sts" in self.sts_sets else ()

    def load_data(self):
        config = self.config
        documents = None
        if config.mode == "unsupervised" or self.init_dir is None:
            documents = load_corpus(config.corpus, config.text_column, config.text_format, config.on_decode_error,
                                    stats=CorpusStats())
            documents, _ = split_documents(documents, config.held_out_fraction, config.seed)
            for source in config.extra_sentences if config.mode == "unsupervised" else ():
                path, _, column = source.partition(":")
                documents = documents + load_corpus(path, column or config.text_column, "lines",
                                                    config.on_decode_error, stats=CorpusStats())
        self.tokenizer = prepare_tokenizer(config, self.directory.path, [d.text for d in documents] if documents else [])
        self.make_batches, examples = _training_data(config, self.tokenizer, documents)
        self.num_examples = examples
        self.pooling = config.eval_pooling or {"cls_mlp": "cls", "mean_mlp": "mean"}.get(config.pooling, config.pooling)
        self.epochs, self.steps_per_epoch = -(-config.steps // config.eval_every_steps), config.eval_every_steps
        self.save_freq = config.save_freq or config.eval_every_steps
        self.log(f"{examples:,} training {'sentences' if config.mode == 'unsupervised' else 'pairs'}; "
                 f"{config.steps} steps of batch {config.batch_size}.")

    def stream_from(self, step):
        # Endless and seeded, and built anew for each part: skipping `step` batches of a fresh stream
        # gives the rest of an uninterrupted run (a reshuffling dataset iterated twice would not).
        return self.make_batches().skip(step)

    def build_model(self):
        config, tokenizer, pooling = self.config, self.tokenizer, self.pooling
        backbone = _starting_backbone(config, tokenizer)
        # The starting encoder's scores: with the run's embedding pooling, and mean-pooled (the
        # usual baseline for an encoder never trained on sentences).
        self.before = {name: _score(backbone, tokenizer, pooling, config, pairs) for name, pairs in self.sts_sets.items()}
        self.before_mean = self.before if pooling == "mean" else {
            name: _score(backbone, tokenizer, "mean", config, pairs) for name, pairs in self.sts_sets.items()}
        for name in self.before:
            self.log(f"Starting encoder on {name}: Spearman {100 * self.before[name]['spearman']:.2f} ({pooling}), "
                     f"{100 * self.before_mean[name]['spearman']:.2f} (mean)")
        model = ContrastivePretrainer(
            with_dropout(backbone, config.dropout), pooling=config.pooling, temperature=config.contrastive_temperature(),
            symmetric=config.symmetric, hard_negative_weight=config.hard_negative_weight,
            queue_size=config.negatives_queue_size(), momentum=config.momentum)
        model.build()
        if config.freeze_token_embeddings:
            model.backbone.token_embedding.trainable = False
        return model

    def compile_arguments(self):
        return dict(learning_rate=_schedule(self.config), weight_decay=self.config.weight_decay)

    def extra_callbacks(self, fit):
        if "sts" not in self.sts_sets:  # before the checkpoint, which monitors the score it logs
            return []
        return [STSEvaluation(self.sts_sets["sts"], self.tokenizer, self.config.sequence_length, self.pooling)]

    def evaluate(self):
        self.embedder = SentenceEmbedder(self.model.backbone, self.tokenizer, self.pooling, self.config.sequence_length)
        scores = {name: evaluate_sts(lambda t: embed_texts(self.embedder, t), pairs)
                  for name, pairs in self.sts_sets.items()}
        for name, figures in scores.items():
            self.log(f"Trained encoder on {name}: Spearman {100 * figures['spearman']:.2f}")
        return {"pooling": self.pooling, "queue_size": self.config.negatives_queue_size(),
                "temperature": self.config.contrastive_temperature(), "sts_before": self.before,
                "sts_before_mean_pooled": self.before_mean, "sts": scores}

    def export(self):
        return export_sentence_embedder(self.embedder, os.path.join(self.config.export_dir, self.config.name),
                                        asset_paths=self.directory.export_assets())


def _init_directory(config):
    """The run directory that holds the starting model (and its tokenizer), or None."""
    if config.init_from is None:
        return None
    path = config.init_from
    if RunDirectory.holds_model(path) or os.path.isfile(path):
        return RunDirectory(path).path
    hint = " Run `tfssl pretrain mlm` first (it writes runs/sotu-mlm)," if path == "runs/sotu-mlm" else ""
    raise FileNotFoundError(
        f"No starting model at {path}.{hint} Set init_from to a run directory holding {RunDirectory.MODEL}, or "
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
        return RunDirectory(config.init_from).backbone(tokenizer, config.sequence_length)
    backbone = EncoderBackbone.from_preset(config.preset, vocabulary_size=tokenizer.vocabulary_size, dropout=config.dropout,
                                           **config.size_overrides())
    backbone.build()
    if config.sequence_length > backbone.max_sequence_length:
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
