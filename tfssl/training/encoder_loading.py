"""The encoder a fine-tuning run starts from: any tfssl run directory (masked-LM, SimCSE/MoCo or
an earlier fine-tuning run) gives its backbone and the tokenizer it was trained with.

    <run>/model.keras      a tfssl model with a `.backbone` (an `EncoderBackbone`)
    <run>/tokenizer/       vocab.txt (+ tokenizer.json)
    <run>/config.json      `lowercase` (default true)

`from_scratch=True` rebuilds the same architecture with fresh random weights: the baseline that
shows what pretraining buys.

Example:

>>> backbone, tokenizer = load_encoder("runs/sotu-mlm")
>>> scratch, _ = load_encoder("runs/sotu-mlm", from_scratch=True)
"""

import json
import os

import keras

from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer


class EncoderSourceError(ValueError):
    """`init_from` does not point at a usable encoder; the message says what is there and what to do."""


def run_config(run_dir):
    """The run's saved `config.json` as a dict ({} when absent)."""
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def tokenizer_lowercase(run_dir):
    """Whether the run's WordPiece tokenizer lower-cases: its config's `lowercase`, else the
    tokenizer's own settings file (fine-tuning runs keep the encoder's there), else True."""
    settings = run_config(run_dir)
    if "lowercase" not in settings:
        path = os.path.join(run_dir, "tokenizer", "tfssl_tokenizer.json")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                settings = json.load(f)
    return bool(settings.get("lowercase", True))


def load_encoder(run_dir, from_scratch=False):
    """`(backbone, tokenizer)` of the run at `run_dir` (see the module docstring).

    Call it inside `strategy.scope()` so the backbone's variables are created there."""
    import tfssl.models  # noqa: F401  registers the classes model.keras refers to
    from tfssl.models.encoder_backbone import EncoderBackbone

    model_path = os.path.join(run_dir, "model.keras")
    if not os.path.isfile(model_path):
        hint = ("It looks like a SavedModel export; point init_from at the run directory it came from "
                "(runs/<name>/)." if os.path.isfile(os.path.join(run_dir, "saved_model.pb")) or
                os.path.isdir(os.path.join(run_dir, "1")) else
                "Run `tfssl pretrain mlm` first (it writes runs/sotu-mlm/), or set init_from to a run directory.")
        raise EncoderSourceError(f"No encoder at {run_dir!r}: {model_path} does not exist. {hint}")
    vocabulary = os.path.join(run_dir, "tokenizer", "vocab.txt")
    if not os.path.isfile(vocabulary):
        if os.path.isfile(os.path.join(run_dir, "tokenizer", "tokenizer.json")):
            raise EncoderSourceError(
                f"{run_dir} has no tokenizer/vocab.txt: its tokenizer (tokenizer/tokenizer.json) is not WordPiece "
                "(byte-level BPE, as RoBERTa's), which tfssl cannot run in the graph yet. Use a BERT/DistilBERT "
                "checkpoint with a vocab.txt.")
        raise EncoderSourceError(f"{run_dir} has no tokenizer/vocab.txt; the run directory is incomplete.")
    model = keras.saving.load_model(model_path)
    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, EncoderBackbone):
        raise EncoderSourceError(
            f"{model_path} is a {type(model).__name__} without an encoder backbone (a causal LM's decoder cannot "
            "be fine-tuned as a classifier here). Point init_from at a masked-LM or SimCSE run."
        )
    tokenizer = WordPieceTokenizer.from_directory(os.path.dirname(vocabulary), lowercase=tokenizer_lowercase(run_dir))
    if tokenizer.vocabulary_size != backbone.vocabulary_size:
        raise EncoderSourceError(
            f"{vocabulary} has {tokenizer.vocabulary_size} tokens but the encoder's embedding table has "
            f"{backbone.vocabulary_size} rows; the tokenizer does not belong to this checkpoint."
        )
    if from_scratch:
        config = backbone.get_config()
        config.pop("name", None)
        backbone = EncoderBackbone.from_config(config)
        backbone.build()
    return backbone, tokenizer
