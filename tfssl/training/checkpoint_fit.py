"""Checks, before any corpus work, that a `.keras` checkpoint fits the tokenizer and sequence length given.

Preparing a large corpus takes hours; a vocabulary that cannot index the checkpoint's embedding table
should fail in a second, not after. The sizes come from the archive's `config.json`, without loading
weights. The full check at load time (`load_pretrainer`, `load_causal_lm`) stays as the final word.
"""

import json
import os
import zipfile

from tfssl.config import ConfigError


def keras_backbone_sizes(file):
    """`{"vocabulary_size", "sequence_length"}` of the backbone in a `.keras` archive ({} if unreadable)."""
    try:
        with zipfile.ZipFile(file) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return {}
    backbone = config.get("config", {}).get("backbone", {}).get("config", {})
    return {k: backbone[k] for k in ("vocabulary_size", "sequence_length") if isinstance(backbone.get(k), int)}


def check_checkpoint_fits(init_from, tokenizer_dir, sequence_length):
    """Raises `ConfigError` when a `.keras` checkpoint (a file or a run directory's model.keras) has an
    embedding table of another size than `tokenizer_dir/vocab.txt`, or positions fewer than `sequence_length`."""
    file = os.path.join(init_from, "model.keras") if os.path.isdir(init_from) else init_from
    if not (file.endswith(".keras") and os.path.isfile(file)):
        return
    sizes = keras_backbone_sizes(file)
    vocab_file = os.path.join(tokenizer_dir, "vocab.txt") if tokenizer_dir else None
    if vocab_file and os.path.isfile(vocab_file) and "vocabulary_size" in sizes:
        from tfssl.tokenizers.wordpiece_trainer import read_vocabulary

        tokens = len(read_vocabulary(vocab_file))
        if tokens != sizes["vocabulary_size"]:
            raise ConfigError(
                f"The vocabulary {vocab_file} ({tokens} tokens) does not match the checkpoint {file} "
                f"({sizes['vocabulary_size']} tokens). Use the checkpoint's own tokenizer: set tokenizer_dir to the "
                "tokenizer/ directory of the run that produced it.")
    if sequence_length and sequence_length > sizes.get("sequence_length", sequence_length):
        raise ConfigError(f"sequence_length={sequence_length} is beyond the position table of {file} "
                          f"({sizes['sequence_length']}). Lower sequence_length.")
