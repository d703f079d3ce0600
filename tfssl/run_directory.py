"""A tfssl run directory, and everything that can be loaded from it: the one place that knows its layout.

    <output_dir>/<name>/
      config.json             the resolved config (an export asset too)
      tokenizer/              vocab.txt + tokenizer.json (WordPiece), or a decoder tokenizer
      model.keras             the trained model: any tfssl task model
      checkpoint.weights.h5   the best epoch's weights (+ .json with its score)
      backup/                 step-level backup a rerun resumes from
      labels.txt              class names, in class-id order (fine-tuning runs)
      hf_config.json          the Hugging Face config a converted run came from
      history.csv, training_curves.png, logs/, samples.txt, confusion_matrix.png
      metrics.json            the driver's result
      results.jsonl, table.md, summary.json, learning_curve.png   an experiment's rows and their summary

Every driver writes through it, and the CLI, the export and conversion code read through it, so a file name
appears once in the package. Loading is by what the run holds, not by which command made it:

>>> run = RunDirectory("runs/sotu-mlm")
>>> pretrainer = run.load_model()              # any kind; run.masked_lm() / causal_lm() check the kind
>>> backbone, tokenizer = run.encoder()        # what fine-tuning and SimCSE start from
>>> embedder = run.sentence_embedder(pooling="mean")
>>> run.export()                               # the export a run of this kind gets: saved_models/<name>/<n>
"""

import json
import os
import zipfile


class RunDirectoryError(ValueError):
    """A run directory lacks what was asked of it, or holds something damaged; the message says what to do."""


class RunDirectory:
    """The run at `path`: a run directory, or a `.keras` file (then its folder is the run directory)."""

    MODEL = "model.keras"
    CONFIG = "config.json"
    METRICS = "metrics.json"
    TOKENIZER = "tokenizer"
    LABELS = "labels.txt"
    CHECKPOINT = "checkpoint.weights.h5"
    BACKUP = "backup"
    HF_CONFIG = "hf_config.json"
    HISTORY = "history.csv"
    CURVES = "training_curves.png"
    LOGS = "logs"
    SAMPLES = "samples.txt"
    CONFUSION_MATRIX = "confusion_matrix.png"
    INPUT_BLOCKS = "input_blocks"
    # An experiment's run (`tfssl experiment few-shot`): one row per fine-tuning, and what they add up to.
    RESULTS = "results.jsonl"
    TABLE = "table.md"
    SUMMARY = "summary.json"
    LEARNING_CURVE = "learning_curve.png"

    def __init__(self, path):
        path = os.fspath(path)
        if path.endswith(".keras") and not os.path.isdir(path):
            self.path, self.model_file = os.path.dirname(os.path.abspath(path)), path
        else:
            self.path, self.model_file = path, os.path.join(path, self.MODEL)

    def __repr__(self):
        return f"RunDirectory({self.path!r})"

    def file(self, name):
        """The path of `name` inside the run (one of the class's file names, or a worker's subfolder)."""
        return os.path.join(self.path, name)

    @property
    def tokenizer_dir(self):
        return self.file(self.TOKENIZER)

    @property
    def has_model(self):
        return os.path.isfile(self.model_file)

    @property
    def is_classifier_run(self):
        """A `tfssl finetune` run (it wrote labels.txt, or fine-tuned a regression head)."""
        return os.path.isfile(self.file(self.LABELS)) or self.config().get("task") == "regression"

    @staticmethod
    def holds_model(path):
        """True when `path` is a run directory with a model (not a SavedModel export or a Hugging Face directory)."""
        return os.path.isfile(os.path.join(os.fspath(path), RunDirectory.MODEL))

    # Writing -------------------------------------------------------------------------------------

    def create(self):
        os.makedirs(self.path, exist_ok=True)
        return self

    def save_config(self, config):
        """Writes the resolved dataclass config as config.json."""
        from tfssl.config_loading import save_config

        save_config(config, self.file(self.CONFIG))

    def write_json(self, name, value):
        with open(self.file(name), "w", encoding="utf-8") as f:
            json.dump(value, f, indent=2)

    def save_model(self, model):
        """`model.keras`, written atomically: a failed save (a full disk) leaves the earlier file whole."""
        from tfssl.training.step_backup import save_model_file

        save_model_file(model, self.model_file)

    def write_labels(self, label_names):
        from tfssl.export.classifier_export import write_label_file

        return write_label_file(label_names, self.path)

    # Reading -------------------------------------------------------------------------------------

    def config(self):
        """The run's config.json as a dict ({} when absent)."""
        return self._read_json(self.CONFIG) or {}

    def metrics(self):
        return self._read_json(self.METRICS) or {}

    def hf_config(self):
        """The Hugging Face config a converted run came from, or None."""
        return self._read_json(self.HF_CONFIG)

    def label_names(self):
        path = self.file(self.LABELS)
        if not os.path.isfile(path):
            return []
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f]

    def _read_json(self, name):
        path = self.file(name)
        if not os.path.isfile(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except (ValueError, UnicodeDecodeError) as e:
            raise RunDirectoryError(f"{path} is damaged ({e}); restore it, or rerun the command that wrote it.") from e

    def lowercase(self):
        """Whether the run's WordPiece tokenizer lower-cases: the config's `lowercase`, else the tokenizer's
        own settings file (fine-tuning runs keep the encoder's there), else True."""
        settings = self.config()
        if "lowercase" not in settings:
            path = os.path.join(self.tokenizer_dir, "tfssl_tokenizer.json")
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    settings = json.load(f)
        return bool(settings.get("lowercase", True))

    def export_assets(self):
        """Files that travel with every export: the tokenizer's files and the run's config."""
        directory = self.tokenizer_dir
        names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
        if os.path.isfile(os.path.join(directory, "vocab.txt")):  # WordPiece: what serving and HF tokenizers read
            names = [n for n in ("vocab.txt", "tokenizer.json") if n in names]
        return [os.path.join(directory, n) for n in names] + [p for p in [self.file(self.CONFIG)] if os.path.isfile(p)]

    # Models --------------------------------------------------------------------------------------

    def load_model(self, kind=None):
        """The run's `model.keras`, checked to be a `kind` (a class, or a tuple of classes) when given.
        A missing file and a damaged one get different errors, each naming what to do."""
        import keras

        import tfssl.models  # noqa: F401  (registers the classes model.keras refers to)

        file = self.model_file
        if not os.path.isfile(file):
            hint = ("It looks like a SavedModel export; point at the run directory it came from (runs/<name>/)."
                    if os.path.isfile(os.path.join(self.path, "saved_model.pb")) or os.path.isdir(self.file("1"))
                    else "Run `tfssl pretrain mlm` first (it writes runs/sotu-mlm/), or give another tfssl run "
                    "directory (`tfssl pretrain`, `finetune` and `convert from-hf` write them) or a .keras file.")
            raise FileNotFoundError(f"No model at {file}. {hint}")
        if not zipfile.is_zipfile(file):
            raise RunDirectoryError(
                f"{file} is damaged (not a complete .keras archive; was a save or a copy cut short?). Rerun the "
                f"command that wrote it; {self.CHECKPOINT} and {self.BACKUP}/ in {self.path}, where present, hold "
                "the last good weights.")
        model = keras.saving.load_model(file)
        if kind is not None and not isinstance(model, kind):
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise RunDirectoryError(f"{file} holds a {type(model).__name__}, not a {names}.")
        return model

    def wordpiece_tokenizer(self):
        from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

        vocabulary = os.path.join(self.tokenizer_dir, "vocab.txt")
        if not os.path.isfile(vocabulary):
            if os.path.isfile(os.path.join(self.tokenizer_dir, "tokenizer.json")):
                raise RunDirectoryError(
                    f"{self.path} has no tokenizer/vocab.txt: its tokenizer (tokenizer/tokenizer.json) is not "
                    "WordPiece (byte-level BPE, as RoBERTa's), which tfssl cannot run in the graph yet. Use a "
                    "BERT/DistilBERT checkpoint with a vocab.txt.")
            raise RunDirectoryError(f"{self.path} has no tokenizer/vocab.txt; the run directory is incomplete.")
        return WordPieceTokenizer.from_directory(self.tokenizer_dir, lowercase=self.lowercase())

    def decoder_tokenizer(self):
        from tfssl.tokenizers.decoder_tokenizers import load_decoder_tokenizer

        return load_decoder_tokenizer(self.tokenizer_dir)

    def encoder(self, from_scratch=False):
        """`(backbone, tokenizer)`: the run's encoder and the WordPiece tokenizer it was trained with.
        `from_scratch=True` rebuilds the same architecture with fresh weights (the baseline that shows what
        pretraining buys). Call it inside `strategy.scope()` so the variables are created there."""
        from tfssl.models.encoder_backbone import EncoderBackbone

        model = self.load_model()
        backbone = getattr(model, "backbone", None)
        if not isinstance(backbone, EncoderBackbone):
            raise RunDirectoryError(
                f"{self.model_file} is a {type(model).__name__} without an encoder backbone (a causal LM's decoder "
                "cannot be fine-tuned as a classifier here). Point at a masked-LM or SimCSE run.")
        tokenizer = self.wordpiece_tokenizer()
        self._check_vocabulary(tokenizer, backbone)
        if from_scratch:
            config = backbone.get_config()
            config.pop("name", None)
            backbone = EncoderBackbone.from_config(config)
            backbone.build()
        return backbone, tokenizer

    def masked_lm(self, tokenizer=None, sequence_length=None):
        """The run's `MaskedLMPretrainer`, checked against `tokenizer`'s vocabulary and `sequence_length`."""
        from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer

        model = self.load_model(MaskedLMPretrainer)
        self._check_fits(model.backbone, tokenizer, sequence_length)
        return model

    def electra(self, tokenizer=None, sequence_length=None):
        """The run's `ElectraPretrainer` (made by `tfssl pretrain electra`), checked like `masked_lm`."""
        from tfssl.models.electra_pretrainer import ElectraPretrainer

        model = self.load_model(ElectraPretrainer)
        self._check_fits(model.backbone, tokenizer, sequence_length)
        return model

    def causal_lm(self, tokenizer=None, sequence_length=None):
        """The run's `CausalLMPretrainer` (made by `tfssl pretrain clm`), checked like `masked_lm`."""
        from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer

        model = self.load_model(CausalLMPretrainer)
        self._check_fits(model.backbone, tokenizer, sequence_length)
        return model

    def backbone(self, tokenizer=None, sequence_length=None):
        """The backbone of whatever model the run holds, checked like `masked_lm`."""
        backbone = getattr(self.load_model(), "backbone", None)
        if backbone is None:
            raise RunDirectoryError(f"{self.model_file} holds a model without a backbone.")
        self._check_fits(backbone, tokenizer, sequence_length)
        return backbone

    def _check_fits(self, backbone, tokenizer, sequence_length):
        if tokenizer is not None:
            self._check_vocabulary(tokenizer, backbone)
        table = backbone.max_sequence_length
        if sequence_length is not None and sequence_length > table:
            from tfssl.config import ConfigError

            raise ConfigError(f"sequence_length={sequence_length} is beyond the position table of {self.model_file} "
                              f"({table}). Lower sequence_length.")

    def _check_vocabulary(self, tokenizer, backbone):
        if tokenizer.vocabulary_size != backbone.vocabulary_size:
            from tfssl.config import ConfigError

            raise ConfigError(
                f"The vocabulary ({tokenizer.vocabulary_size} tokens) does not match the checkpoint {self.model_file} "
                f"({backbone.vocabulary_size} tokens). Use the checkpoint's own tokenizer: set tokenizer_dir to the "
                "tokenizer/ directory of the run that produced it.")

    def sentence_embedder(self, pooling=None, sequence_length=None):
        """A `SentenceEmbedder` over the run's encoder (masked-LM, SimCSE, fine-tuned or converted), pooled as
        the run was trained to be read (`eval_pooling`, else its `pooling`, else mean) unless `pooling` says."""
        from tfssl.models.sentence_embedder import SentenceEmbedder

        settings = self.config()
        trained = settings.get("pooling", "mean")
        pooling = pooling or settings.get("eval_pooling") or {"cls_mlp": "cls", "mean_mlp": "mean"}.get(trained, trained)
        backbone, tokenizer = self.encoder()
        length = min(sequence_length or settings.get("sequence_length", 64), backbone.max_sequence_length)
        return SentenceEmbedder(backbone, tokenizer, pooling, length)

    def classifier_module(self):
        """The in-process `TextClassificationModule` of a fine-tuning run (what it exports)."""
        from tfssl.export.classifier_export import TextClassificationModule
        from tfssl.models.text_classifier import TextClassifier

        classifier = self.load_model(TextClassifier)
        label_names = self.label_names() if classifier.task == "classification" else []
        settings = self.config()
        return TextClassificationModule(classifier, self.wordpiece_tokenizer(), label_names,
                                        settings.get("sequence_length", 128),
                                        pairs=settings.get("text_pair_column") is not None)

    def text_generator(self):
        from tfssl.models.text_generator import TextGenerator

        return TextGenerator(self.causal_lm(), self.decoder_tokenizer())

    # Exports -------------------------------------------------------------------------------------

    def export(self, export_dir=None, name=None, signature="auto", pooling=None, sequence_length=None):
        """Exports the run as the next SavedModel version of `<export_dir>/<name>` and returns its path:
        a fine-tuning run as a classifier, a causal LM as a generator, any other encoder run as a sentence
        embedder (`signature="embed"` forces that). Defaults: the run's `export_dir` and `name`."""
        if not self.has_model:
            raise FileNotFoundError(f"{self.path} has no {self.MODEL}; give a tfssl run directory.")
        settings = self.config()
        name = name or settings.get("name") or os.path.basename(os.path.normpath(self.path))
        model_dir = os.path.join(export_dir or settings.get("export_dir", "saved_models"), name)
        if signature == "classify" and not self.is_classifier_run:
            raise FileNotFoundError(f"{self.path} has no {self.LABELS}; only `tfssl finetune` runs export a classifier.")
        if self.is_classifier_run and signature in ("auto", "classify"):
            from tfssl.export.classifier_export import export_text_classifier

            return export_text_classifier(self.classifier_module(), model_dir, asset_paths=self.export_assets())
        from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer

        if isinstance(self.load_model(), CausalLMPretrainer):
            from tfssl.export.generation_export import export_text_generator

            return export_text_generator(self.text_generator(), model_dir, asset_paths=self.export_assets())
        from tfssl.export.embedding_export import export_sentence_embedder

        return export_sentence_embedder(self.sentence_embedder(pooling, sequence_length), model_dir,
                                        asset_paths=self.export_assets())


def keras_archive_config(file):
    """The `config.json` inside a `.keras` archive as a dict, read without loading weights ({} if unreadable)."""
    try:
        with zipfile.ZipFile(file) as archive:
            return json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return {}
