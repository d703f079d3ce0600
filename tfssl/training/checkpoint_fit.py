"""Checks, before any corpus work, that a `.keras` checkpoint fits the tokenizer and sequence length given.

Preparing a large corpus takes hours; a vocabulary that cannot index the checkpoint's embedding table
should fail in a second, not after. The sizes come from the archive's `config.json`, without loading
weights. The full check at load time (`RunDirectory.masked_lm`, `.causal_lm`) stays as the final word.
"""

import os

from tfssl.config import ConfigError
from tfssl.run_directory import RunDirectory, keras_archive_config


def keras_backbone_sizes(file):
    """`{"vocabulary_size", "sequence_length"}` of the backbone in a `.keras` archive ({} if unreadable);
    "sequence_length" is the position table, saved as `max_sequence_length` (or, before, `sequence_length`)."""
    backbone = keras_archive_config(file).get("config", {}).get("backbone", {}).get("config", {})
    sizes = {"vocabulary_size": backbone.get("vocabulary_size"),
             "sequence_length": backbone.get("max_sequence_length", backbone.get("sequence_length"))}
    return {k: v for k, v in sizes.items() if isinstance(v, int)}


def check_checkpoint_fits(init_from, tokenizer_dir, sequence_length):
    """Raises `ConfigError` when a `.keras` checkpoint (a file or a run directory's model.keras) has an
    embedding table of another size than `tokenizer_dir/vocab.txt`, or positions fewer than `sequence_length`."""
    file = RunDirectory(init_from).model_file
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
