"""What every tfssl run directory shares: its tokenizer, its export assets, its metrics file,
and the progress lines the drivers print.

    <output_dir>/<name>/tokenizer/      vocab.txt, tokenizer.json, tfssl_tokenizer.json
    <output_dir>/<name>/config.json     the resolved config (an export asset too)
    <output_dir>/<name>/metrics.json    the driver's result, with total_seconds
"""

import json
import logging
import math
import os
import shutil
import time

from tfssl.config import ConfigError
from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer
from tfssl.tokenizers.wordpiece_trainer import train_wordpiece

logger = logging.getLogger("tfssl.training")


def start_run(config, save=True):
    """Validates `config`, seeds Python/NumPy/TF with `config.seed`, creates the run directory
    `<output_dir>/<name>/` and (with `save`) writes the resolved `config.json` into it.
    Returns `(run_dir, started)`, `started` a `time.monotonic()` value for `write_metrics`."""
    import keras

    from tfssl.config import save_config

    config.validate()
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    run_dir = os.path.join(config.output_dir, config.name)
    os.makedirs(run_dir, exist_ok=True)
    if save:
        save_config(config, os.path.join(run_dir, "config.json"))
    return run_dir, started


def tokenizer_dir(run_dir):
    return os.path.join(run_dir, "tokenizer")


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


def export_assets(run_dir):
    """Files that travel with every export: the vocabulary, the HF tokenizer and the run's config."""
    return [os.path.join(tokenizer_dir(run_dir), f) for f in ("vocab.txt", "tokenizer.json")] + [
        os.path.join(run_dir, "config.json")
    ]


def write_metrics(run_dir, result, started):
    """Adds `total_seconds` (since the `time.monotonic()` value `started`), writes metrics.json, returns `result`."""
    result["total_seconds"] = time.monotonic() - started
    with open(os.path.join(run_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    return result


def history_is_finite(history):
    """False when any logged value of a Keras `History` is NaN or infinite."""
    return all(math.isfinite(v) for values in history.history.values() for v in values)


def log(config, message):
    """Logs `message`, and prints it when the run is verbose."""
    logger.info(message)
    if config.verbose:
        print(f"[tfssl] {message}", flush=True)
