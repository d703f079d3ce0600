"""The WordPiece tokenizer of a run: the one given, the run's earlier one (same settings), or one trained anew.

A rerun of the same command reuses the run's vocabulary; a rerun with other vocabulary settings is refused
rather than silently mixing two vocabularies in one run directory.
"""

import json
import os
import shutil

from tfssl.config import ConfigError
from tfssl.run_directory import RunDirectory
from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer
from tfssl.tokenizers.wordpiece_trainer import train_wordpiece
from tfssl.training.driver import log


def tokenizer_dir(run_dir):
    return RunDirectory(run_dir).tokenizer_dir


def prepare_tokenizer(config, run_dir, texts):
    """The run's tokenizer: the given directory, the run's earlier one, or a new one."""
    target = tokenizer_dir(run_dir)
    settings = tokenizer_settings(config)
    settings_path = os.path.join(target, "tfssl_tokenizer.json")
    source = config.tokenizer_dir
    if source is None and os.path.isfile(settings_path):
        with open(settings_path, encoding="utf-8") as f:
            earlier = json.load(f)
        if earlier != settings:
            raise ConfigError(
                f"{run_dir} already holds a tokenizer trained with {earlier}, not {settings}. Use another "
                "--name for a new run, or delete that directory to start over."
            )
        source = target
    if source is None:
        log(config, f"Training a {config.vocabulary_size}-token WordPiece vocabulary ...")
        train_wordpiece(texts, target, config.vocabulary_size, config.lowercase, show_progress=config.verbose > 0,
                        length=len(texts))
        remember_tokenizer_settings(config, run_dir)
        source = target
    elif os.path.abspath(source) != os.path.abspath(target):
        _copy_tokenizer_files(source, target)
    return WordPieceTokenizer.from_directory(target, lowercase=config.lowercase)


def tokenizer_settings(config):
    """What a run's trained vocabulary depends on; a rerun with other values is refused."""
    return {"corpus": config.corpus, "vocabulary_size": config.vocabulary_size, "lowercase": config.lowercase}


def remember_tokenizer_settings(config, run_dir):
    """Notes what the run's vocabulary was trained from, so a rerun with other settings is refused."""
    with open(os.path.join(tokenizer_dir(run_dir), "tfssl_tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_settings(config), f)


def _copy_tokenizer_files(source, target):
    """Copies a tokenizer's files only (the source may be a whole Hugging Face model directory)."""
    from tfssl.convert.checkpoint_files import TOKENIZER_FILES

    os.makedirs(target, exist_ok=True)
    for name in TOKENIZER_FILES + ("tfssl_tokenizer.json",):
        if os.path.isfile(os.path.join(source, name)):
            shutil.copy(os.path.join(source, name), os.path.join(target, name))
