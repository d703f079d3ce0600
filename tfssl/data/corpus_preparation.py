"""`tfssl prepare`: a corpus of any size -> a directory of tokenized, packed shards, in bounded memory.

    stream documents --hash--> train / held-out (by document, as `split_documents`)
        |--(no --tokenizer_dir) seeded sample of <= sample_characters --> WordPiece vocabulary (layout
        |                                                     "masked"), or a decoder tokenizer ("causal")
        '--> chunks of ~shard_characters --> shard tasks (a process pool, or Beam) --> <split>-NNNNN.bin + manifest.json

The corpus is read as a stream (`iter_documents`), twice when a vocabulary is trained (once to
sample it, once to shard); nothing holds more than the vocabulary sample and a few chunks in flight,
so memory does not grow with the corpus. Each shard is an independent task, a pure function of its
documents and the vocabulary: it tokenizes with the `tokenizers` library (the same ids as the
in-graph `WordPieceTokenizer`, tested), packs as `pack_token_sequences` does ([CLS] body [SEP],
documents joined by [SEP], the tail shorter than a block dropped per shard), and writes its file
atomically (temporary name, then rename), then a small `.done` note. A killed prepare rerun with the
same command keeps every finished shard and ends with the same bytes as an uninterrupted one; a full
disk leaves no half-written shard under a final name. The tasks run in a local process pool, or with
`runner="beam"` in an Apache Beam pipeline (`beam_preparation`: the same shards, byte for byte).

The steps live beside this driver: `corpus_survey` (the first pass: held-out split, vocabulary sample),
`prepared_tokenizer` (`DIR/tokenizer/`), `shard_tasks` (chunks and the process pool), `shard_writing` (one task).

Example:

>>> directory = prepare_corpus("big/*.jsonl", "prepared/big", sequence_length=128)
>>> PreparedDataset(directory).blocks("train")
"""

import hashlib
import json
import logging
import os
import time

from tfssl.data.corpus import (
    DEFAULT_CORPUS,
    CorpusStats,
    corpus_files,
    iter_documents,
    looks_like_hub_name,
)
from tfssl.data.corpus_survey import survey_corpus
from tfssl.data.prepared_manifest import (
    FORMAT,
    MANIFEST,
    PreparedDataError,
    id_dtype,
    tokenizer_sha256,
    vocabulary_sha256,
    write_json_atomically,
)
from tfssl.data.prepared_tokenizer import prepare_decoder_tokenizer, prepare_wordpiece_tokenizer
from tfssl.data.shard_tasks import chunks, run_shard_tasks
from tfssl.data.shard_writing import LAYOUTS, decoder_vocabulary_size

logger = logging.getLogger(__name__)


def prepare_corpus(corpus=DEFAULT_CORPUS, output_dir="prepared", *, text_column="text", text_format="documents",
                   on_decode_error="skip", tokenizer_dir=None, vocabulary_size=8192, lowercase=True,
                   sequence_length=128, held_out_fraction=0.05, seed=0, shard_characters=500_000,
                   sample_characters=64_000_000, processes=None, runner="local", beam_options=(),
                   show_progress=True, log=logger.info, layout="masked", tokenizer="sentencepiece",
                   sentencepiece_model_type="bpe") -> str:
    """Prepares `corpus` into `output_dir` (see the module docstring) and returns `output_dir`.

    An `output_dir` already prepared with the same source and settings is returned as it is; one that
    a killed prepare left behind is completed; one prepared from something else is an error.

    Args:
        corpus, text_column, text_format, on_decode_error: as `load_corpus`.
        layout: "masked" (WordPiece [CLS] ... [SEP] blocks, for `pretrain mlm`) or "causal" (windows of
            `sequence_length + 1` tokens of a decoder tokenizer, for `pretrain clm`).
        tokenizer_dir: an existing tokenizer to use instead of training one: a WordPiece vocabulary (vocab.txt)
            for "masked", a decoder tokenizer directory (tfssl_tokenizer.json) for "causal".
        vocabulary_size, lowercase: the vocabulary trained when `tokenizer_dir` is None ("masked": WordPiece).
        tokenizer, sentencepiece_model_type: the decoder tokenizer trained for "causal" ("sentencepiece" or
            "character"), as `pretrain clm` trains it.
        sequence_length: tokens per block ("masked": [CLS] and [SEP] included; "causal": the model's context).
        held_out_fraction, seed: the document-level held-out split (`held_out_bucket`).
        shard_characters: text per shard task (about 0.5 MB: many more shards than workers).
        sample_characters: the vocabulary's sample, a seeded choice of whole documents up to this size
            (the default corpus, 12 MB, is sampled whole).
        processes: shard-task processes (default: one per CPU); 0 runs the tasks in this process.
        runner: "local" (a process pool) or "beam" (an Apache Beam pipeline, `pip install "tfssl[beam]"`: the
            direct runner with `processes` worker processes, or what `beam_options` choose).
        beam_options: "--key=value" Beam pipeline options (e.g. "--runner=DataflowRunner"), with runner="beam".
    """
    if layout not in LAYOUTS:
        raise PreparedDataError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}.")
    if sequence_length < (3 if layout == "masked" else 2):
        raise PreparedDataError(f"sequence_length={sequence_length} is too short for {layout} blocks.")
    if not 0.0 <= held_out_fraction < 1.0:
        raise PreparedDataError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}.")
    if runner not in ("local", "beam"):
        raise PreparedDataError(f'runner must be "local" or "beam", got {runner!r}.')
    if runner == "beam":  # before any reading: a missing Beam fails at once
        from tfssl.data.beam_preparation import import_beam, run_shard_tasks_with_beam

        import_beam()
    read = dict(text_column=text_column, text_format=text_format, on_decode_error=on_decode_error)
    settings = {"shard_characters": int(shard_characters), "sample_characters": int(sample_characters),
                "vocabulary_size": int(vocabulary_size), "lowercase": bool(lowercase),
                "tokenizer_dir": os.path.abspath(tokenizer_dir) if tokenizer_dir else None}
    if layout == "causal":  # (masked-LM identities stay as they were, so earlier preparations are still found)
        settings.update(layout=layout, tokenizer=tokenizer, sentencepiece_model_type=sentencepiece_model_type)
        del settings["lowercase"]
    identity = {"source": {"corpus": corpus, **read, "fingerprint": source_fingerprint(corpus)},
                "sequence_length": int(sequence_length),
                "split": {"held_out_fraction": float(held_out_fraction), "seed": int(seed), "by": "document"},
                "settings": settings}
    os.makedirs(output_dir, exist_ok=True)
    _claim(output_dir, identity)
    if os.path.isfile(os.path.join(output_dir, MANIFEST)):
        log(f"{output_dir} is already prepared from this source with these settings.")
        return output_dir

    started = time.monotonic()
    reading = _progress(show_progress, "reading (held-out split, vocabulary sample)")
    survey = survey_corpus(_counted(iter_documents(corpus, **read), reading), held_out_fraction, seed,
                           0 if tokenizer_dir else sample_characters)
    reading.close()
    if layout == "causal":
        vocab_dir = prepare_decoder_tokenizer(output_dir, tokenizer_dir, survey["sample"], tokenizer,
                                              vocabulary_size, sentencepiece_model_type, show_progress, log)
        size, tokenizer_kind = decoder_vocabulary_size(vocab_dir)
        tokenizer_entry = {"kind": tokenizer_kind, "sha256": tokenizer_sha256(vocab_dir), "vocabulary_size": size}
    else:
        vocab_dir = prepare_wordpiece_tokenizer(output_dir, tokenizer_dir, survey["sample"], vocabulary_size,
                                                lowercase, show_progress, log)
        from tfssl.tokenizers.wordpiece_trainer import read_vocabulary

        size = len(read_vocabulary(vocab_dir))
        tokenizer_entry = {"kind": "wordpiece", "sha256": vocabulary_sha256(vocab_dir), "vocabulary_size": size,
                           "lowercase": bool(lowercase)}
    dtype = id_dtype(size)
    task_settings = (layout, vocab_dir, bool(lowercase), int(sequence_length), dtype)
    stats = CorpusStats()
    document_chunks = chunks(iter_documents(corpus, stats=stats, **read), survey["is_held_out"], shard_characters)
    shards = {"train": [], "held_out": []}
    progress = _progress(show_progress, "tokenizing and packing")
    if runner == "beam":
        tasks = run_shard_tasks_with_beam(output_dir, document_chunks, task_settings, processes, beam_options)
    else:
        tasks = run_shard_tasks(output_dir, document_chunks, task_settings, processes)
    for split, shard in tasks:
        shards[split].append(shard)
        progress.update(shard["characters"])
    progress.close()
    if not shards["train"] or not sum(s["blocks"] for s in shards["train"]):
        raise PreparedDataError(f"The training split of {corpus!r} holds not one block of {sequence_length} tokens. "
                                "Add text, or lower sequence_length.")
    manifest = {"format": FORMAT, **identity, "layout": layout, "dtype": dtype, "shards": shards,
                "tokenizer": tokenizer_entry,
                "documents": {split: sum(s["documents"] for s in shards[split]) for split in shards},
                "skipped_files": stats.skipped}
    write_json_atomically(os.path.join(output_dir, MANIFEST), manifest)
    for name in os.listdir(output_dir):
        if name.endswith(".done"):
            os.remove(os.path.join(output_dir, name))
    seconds = time.monotonic() - started
    log(f"Prepared {stats.characters:,} characters ({stats.documents:,} documents) into "
        f"{len(shards['train'])} training and {len(shards['held_out'])} held-out shards of "
        f"{sequence_length}-token blocks in {seconds:.1f} s: {output_dir}")
    return output_dir


def source_fingerprint(corpus) -> str:
    """Identifies a source without reading it: file names, sizes and modification times (local files), the
    name (hub datasets). A changed file gives a new fingerprint, so cached preparations are not reused."""
    digest = hashlib.sha256(corpus.encode("utf-8"))
    if corpus == DEFAULT_CORPUS or not (corpus.startswith("hf:") or looks_like_hub_name(corpus)):
        for path in corpus_files(corpus):
            if "://" in path:  # read through tf.io.gfile
                import tensorflow as tf

                info = tf.io.gfile.stat(path)
                size, mtime = info.length, info.mtime_nsec
            else:
                info = os.stat(path)
                size, mtime = info.st_size, info.st_mtime_ns
            if corpus == DEFAULT_CORPUS:  # the package's files: install-location and install-time independent
                path, mtime = os.path.basename(path), ""
            digest.update(f"\n{path}\t{size}\t{mtime}".encode("utf-8"))
    return digest.hexdigest()


def _claim(output_dir, identity):
    """Records what `output_dir` is being prepared from; refuses a directory prepared from something else."""
    path = os.path.join(output_dir, "prepare.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            earlier = json.load(f)
        if earlier != json.loads(json.dumps(identity)):
            raise PreparedDataError(
                f"{output_dir} holds a preparation of another source or with other settings ({path}). Choose "
                "another output directory, or delete this one to start over.")
    elif os.listdir(output_dir):
        raise PreparedDataError(f"{output_dir} is not empty and holds no tfssl preparation; choose an empty or new "
                                "directory.")
    else:
        write_json_atomically(path, identity)


def _counted(documents, progress):
    """`documents`, advancing `progress` by each one's characters."""
    for doc in documents:
        progress.update(len(doc.text))
        yield doc


def _progress(show, description):
    """A characters-processed bar (tqdm), or a silent stand-in."""
    if show:
        from tqdm.auto import tqdm

        return tqdm(unit="char", unit_scale=True, desc=description)

    class Silent:
        def update(self, _):
            pass

        def close(self):
            pass

    return Silent()
