"""The tokenizer of a prepared directory, `DIR/tokenizer/`: put in place once, and checked against the manifest.

`tfssl prepare` copies the given tokenizer or trains one on the seeded sample (`corpus_survey.vocabulary_sample`)
before any shard is written; every shard indexes that one vocabulary, and a reader checks that the tokenizer it is
given is the one the shards were made with (`check_manifest_tokenizer`).
"""

import os
import shutil

from tfssl.data.prepared_manifest import PreparedDataError, read_manifest, tokenizer_sha256, vocabulary_sha256

TOKENIZER = "tokenizer"
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def tokenizer_into_place(output_dir, ready_file, build):
    """`output_dir/tokenizer/`, built once: `build(temporary_dir)` writes it under a temporary name, renamed when
    complete, so a rerun after a kill reuses it (vocabulary training is not reproducible across processes, and
    the shards must all index one vocabulary). `ready_file` is the file a finished tokenizer holds."""
    target = os.path.join(output_dir, TOKENIZER)
    if os.path.isfile(os.path.join(target, ready_file)):
        return target
    temporary = target + ".tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    build(temporary)
    os.replace(temporary, target)
    return target


def prepare_wordpiece_tokenizer(output_dir, tokenizer_dir, sample, vocabulary_size, lowercase, show_progress,
                                log):
    """The masked layout's WordPiece `tokenizer/`: a copy of `tokenizer_dir`, or trained on the seeded sample."""
    if tokenizer_dir and not os.path.isfile(os.path.join(tokenizer_dir, "vocab.txt")):
        raise PreparedDataError(f"No vocab.txt in --tokenizer_dir={tokenizer_dir}: give a WordPiece tokenizer "
                                "directory (a run's tokenizer/, or a BERT-style model directory).")

    def build(temporary):
        if tokenizer_dir:
            os.makedirs(temporary)
            for name in TOKENIZER_FILES:  # the tokenizer only (the directory may be a whole model's)
                if os.path.isfile(os.path.join(tokenizer_dir, name)):
                    shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(temporary, name))
            return
        from tfssl.tokenizers.wordpiece_trainer import train_wordpiece

        log(f"Training a {vocabulary_size}-token WordPiece vocabulary on a sample of {len(sample):,} documents "
            f"({sum(map(len, sample)):,} characters) ...")
        train_wordpiece(sample, temporary, vocabulary_size, lowercase, show_progress=show_progress,
                        length=len(sample))

    return tokenizer_into_place(output_dir, "vocab.txt", build)


def prepare_decoder_tokenizer(output_dir, tokenizer_dir, sample, kind, vocabulary_size, model_type, show_progress,
                              log):
    """The causal layout's decoder `tokenizer/`: a copy of `tokenizer_dir`, or trained on the seeded sample as
    `pretrain clm` trains it."""
    if tokenizer_dir and not os.path.isfile(os.path.join(tokenizer_dir, "tfssl_tokenizer.json")):
        raise PreparedDataError(f"No tfssl_tokenizer.json in --tokenizer_dir={tokenizer_dir}: give a decoder "
                                "tokenizer directory (a `pretrain clm` run's tokenizer/).")

    def build(temporary):
        if tokenizer_dir:
            shutil.copytree(tokenizer_dir, temporary)
            return
        from tfssl.tokenizers.decoder_tokenizers import train_decoder_tokenizer

        log(f"Training a {kind} tokenizer on a sample of {len(sample):,} documents ({sum(map(len, sample)):,} "
            "characters) ...")
        train_decoder_tokenizer(kind, sample, temporary, vocabulary_size, model_type, show_progress=show_progress)

    return tokenizer_into_place(output_dir, "tfssl_tokenizer.json", build)


def check_manifest_tokenizer(directory, tokenizer_dir):
    """Fails, before any work, when `tokenizer_dir`'s vocabulary is not the one the shards were made with."""
    manifest = read_manifest(directory)
    causal = manifest.get("layout", "masked") == "causal"
    actual = tokenizer_sha256(tokenizer_dir) if causal else vocabulary_sha256(tokenizer_dir)
    if actual != manifest["tokenizer"]["sha256"]:
        raise PreparedDataError(
            f"The vocabulary in {tokenizer_dir} is not the one {directory} was prepared with (SHA-256 "
            f"{actual[:12]}... vs {manifest['tokenizer']['sha256'][:12]}...). Use {os.path.join(directory, TOKENIZER)}, "
            "or prepare the corpus again with --tokenizer_dir set to this vocabulary.")
    return manifest
