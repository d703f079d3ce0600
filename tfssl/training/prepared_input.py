"""The one data path of masked-LM pretraining: a prepared directory, given or made (and cached) from a raw corpus.

`--corpus` may name a prepared directory (`tfssl prepare CORPUS DIR`), read as it is, or any raw source,
which is prepared first into `<output_dir>/prepared-corpora/<key>/`, the key a hash of the source's
fingerprint (file names, sizes, modification times) and every setting that changes the shards. A second run
on the same corpus and settings, or a resumed run, reuses it; a changed file makes a new one.

Vocabulary checks happen here, before any model is built: a `--tokenizer_dir` (or a checkpoint's vocabulary)
that is not the one the shards index is an error naming both.
"""

import hashlib
import json
import os

from tfssl.config import ConfigError
from tfssl.data.corpus_preparation import prepare_corpus, source_fingerprint
from tfssl.data.prepared_tokenizer import check_manifest_tokenizer
from tfssl.data.prepared_dataset import PreparedDataset
from tfssl.data.prepared_manifest import PreparedDataError, is_prepared_directory, vocabulary_sha256
from tfssl.run_directory import RunDirectory
from tfssl.training.driver import log
from tfssl.training.run_tokenizer import tokenizer_dir, tokenizer_settings

CACHE = "prepared-corpora"


def prepared_corpus(config, run_dir) -> PreparedDataset:
    """The run's `PreparedDataset` (see the module docstring); `config` is a masked-LM config."""
    if is_prepared_directory(config.corpus):
        directory = config.corpus
        for vocabulary in (config.tokenizer_dir, _run_vocabulary(config.init_from)):
            if vocabulary:
                check_manifest_tokenizer(directory, vocabulary)
    else:
        vocabulary = config.tokenizer_dir
        directory = os.path.join(config.output_dir, CACHE, _cache_key(config, vocabulary))
        earlier = None if vocabulary else _earlier_vocabulary(config, run_dir)
        if earlier and not (is_prepared_directory(directory) and _same_vocabulary(directory, earlier)):
            # A resumed run whose cached preparation is gone: prepare again with the vocabulary it trained.
            vocabulary = earlier
            directory = os.path.join(config.output_dir, CACHE, _cache_key(config, vocabulary))
        # The key holds the vocabulary's hash: a cached preparation made with the same vocabulary from another
        # directory (a run's tokenizer/ copy) is reused, not refused for its other path.
        reusable = vocabulary and is_prepared_directory(directory) and _same_vocabulary(directory, vocabulary)
        if not reusable:
            prepare_corpus(
                config.corpus, directory, text_column=config.text_column, text_format=config.text_format,
                on_decode_error=config.on_decode_error, tokenizer_dir=vocabulary, vocabulary_size=config.vocabulary_size,
                lowercase=config.lowercase, sequence_length=config.sequence_length,
                held_out_fraction=config.held_out_fraction, seed=config.seed, show_progress=config.verbose > 0,
                log=lambda message: log(config, message))
    prepared = PreparedDataset(directory)
    if prepared.layout != "masked":
        raise ConfigError(f"{directory} holds causal-LM windows (tfssl prepare --layout=causal), for `pretrain clm`; "
                          "prepare the corpus again without --layout=causal for masked-LM pretraining.")
    if prepared.sequence_length != config.sequence_length:
        raise ConfigError(f"{directory} was prepared with sequence_length={prepared.sequence_length}, not "
                          f"{config.sequence_length}: pass --sequence_length={prepared.sequence_length}, or prepare "
                          "the corpus again.")
    documents = prepared.manifest["documents"]
    log(config, f"Corpus {config.corpus!r}: {documents['train']} training / {documents['held_out']} held-out "
                f"documents in {directory}; {len(prepared.manifest['skipped_files'])} file(s) skipped.")
    return prepared


def _same_vocabulary(directory, vocabulary):
    try:
        check_manifest_tokenizer(directory, vocabulary)
    except PreparedDataError:
        return False
    return True


def _run_vocabulary(init_from):
    """The vocabulary of a tfssl run directory being continued, if it has one."""
    directory = RunDirectory(init_from).tokenizer_dir if init_from else None
    return directory if directory and os.path.isfile(os.path.join(directory, "vocab.txt")) else None


def _earlier_vocabulary(config, run_dir):
    """The vocabulary this run trained before it was interrupted, so a resumed run reads the same ids."""
    target = tokenizer_dir(run_dir)
    settings_path = os.path.join(target, "tfssl_tokenizer.json")
    if not os.path.isfile(settings_path):
        return None
    with open(settings_path, encoding="utf-8") as f:
        earlier = json.load(f)
    settings = tokenizer_settings(config)
    if earlier != settings:
        raise ConfigError(f"{run_dir} already holds a tokenizer trained with {earlier}, not {settings}. Use another "
                          "--name for a new run, or delete that directory to start over.")
    return target


def _cache_key(config, vocabulary):
    fields = {"corpus": config.corpus, "fingerprint": source_fingerprint(config.corpus),
              "text_column": config.text_column, "text_format": config.text_format,
              "on_decode_error": config.on_decode_error, "sequence_length": config.sequence_length,
              "held_out_fraction": config.held_out_fraction, "seed": config.seed, "lowercase": config.lowercase,
              "vocabulary": vocabulary_sha256(vocabulary) if vocabulary else config.vocabulary_size}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()[:16]

