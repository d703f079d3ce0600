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

Example:

>>> directory = prepare_corpus("big/*.jsonl", "prepared/big", sequence_length=128)
>>> PreparedDataset(directory).blocks("train")
"""

import hashlib
import heapq
import json
import logging
import multiprocessing
import os
import shutil
import time
from multiprocessing.pool import AsyncResult

from tfssl.data.corpus import (
    DEFAULT_CORPUS,
    CorpusStats,
    corpus_files,
    held_out_bucket,
    iter_documents,
    looks_like_hub_name,
)
from tfssl.data.prepared_manifest import (
    FORMAT,
    MANIFEST,
    PreparedDataError,
    id_dtype,
    read_manifest,
    tokenizer_sha256,
    vocabulary_sha256,
    write_json_atomically,
)
from tfssl.data.shard_writing import LAYOUTS, decoder_vocabulary_size, start_shard_worker, write_shard

logger = logging.getLogger(__name__)
TOKENIZER = "tokenizer"
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


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
        vocab_dir = _prepare_decoder_tokenizer(output_dir, tokenizer_dir, survey["sample"], tokenizer,
                                               vocabulary_size, sentencepiece_model_type, show_progress, log)
        size, tokenizer_kind = decoder_vocabulary_size(vocab_dir)
        tokenizer_entry = {"kind": tokenizer_kind, "sha256": tokenizer_sha256(vocab_dir), "vocabulary_size": size}
    else:
        vocab_dir = _prepare_tokenizer(output_dir, tokenizer_dir, survey["sample"], vocabulary_size, lowercase,
                                       show_progress, log)
        from tfssl.tokenizers.wordpiece_trainer import read_vocabulary

        size = len(read_vocabulary(vocab_dir))
        tokenizer_entry = {"kind": "wordpiece", "sha256": vocabulary_sha256(vocab_dir), "vocabulary_size": size,
                           "lowercase": bool(lowercase)}
    dtype = id_dtype(size)
    task_settings = (layout, vocab_dir, bool(lowercase), int(sequence_length), dtype)
    stats = CorpusStats()
    chunks = _chunks(iter_documents(corpus, stats=stats, **read), survey["is_held_out"], shard_characters)
    shards = {"train": [], "held_out": []}
    progress = _progress(show_progress, "tokenizing and packing")
    if runner == "beam":
        tasks = run_shard_tasks_with_beam(output_dir, chunks, task_settings, processes, beam_options)
    else:
        tasks = _run_shard_tasks(output_dir, chunks, task_settings, processes)
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


def survey_corpus(documents, held_out_fraction, seed, sample_characters):
    """The first streaming pass: the held-out rule of `split_documents` (a document is held out when its bucket
    is below the fraction; with two or more documents, the lowest-bucket one is held out if none is, and the
    highest-bucket one trains if all are held out) and, when `sample_characters > 0`, the vocabulary's sample of
    training documents (`vocabulary_sample`)."""
    lowest, highest, count, any_held_out, any_training = None, None, 0, False, False

    def training_documents():
        nonlocal lowest, highest, count, any_held_out, any_training
        for doc in documents:
            bucket = held_out_bucket(doc.id, seed)
            count += 1
            if lowest is None or bucket < lowest[0]:
                lowest = (bucket, doc.id)
            if bucket < held_out_fraction:
                any_held_out = True
                if not any_training and (highest is None or bucket > highest[0]):
                    highest = (bucket, doc)  # the fallback training document: one held in memory at most
            else:
                any_training, highest = True, None
                yield doc

    sample = vocabulary_sample(training_documents(), sample_characters, seed) if sample_characters else None
    if sample is None:
        for _ in training_documents():
            pass
    forced = lowest[1] if held_out_fraction > 0 and not any_held_out and count > 1 else None
    kept = highest[1].id if not any_training and count > 1 else None
    if sample is not None:  # texts of training documents only
        sample = [doc.text for doc in sample if doc.id != forced]
        if kept is not None and len(highest[1].text) <= sample_characters:
            sample = [highest[1].text]

    def is_held_out(doc):
        if doc.id == kept:
            return False
        return doc.id == forced or held_out_bucket(doc.id, seed) < held_out_fraction

    return {"sample": sample, "is_held_out": is_held_out, "documents": count}


def _tokenizer_into_place(output_dir, ready_file, build):
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


def _prepare_tokenizer(output_dir, tokenizer_dir, sample, vocabulary_size, lowercase, show_progress, log):
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

    return _tokenizer_into_place(output_dir, "vocab.txt", build)


def _prepare_decoder_tokenizer(output_dir, tokenizer_dir, sample, kind, vocabulary_size, model_type, show_progress,
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

    return _tokenizer_into_place(output_dir, "tfssl_tokenizer.json", build)


def vocabulary_sample(documents, max_characters, seed=0):
    """A reproducible sample of whole documents (`Document`s), at most `max_characters` in all, in corpus order.

    Each document's priority is a hash of (seed, id); the sample is the lowest-priority documents that fit,
    kept in a heap while streaming, so its memory is bounded by `max_characters` whatever the corpus size,
    and the choice does not depend on the order documents arrive in."""
    heap, total = [], 0  # (-priority, position, document): the highest priority on top, evicted first
    for position, doc in enumerate(documents):
        priority = held_out_bucket(doc.id, f"vocabulary-{seed}")
        if len(doc.text) > max_characters:
            continue
        heapq.heappush(heap, (-priority, position, doc))
        total += len(doc.text)
        while total > max_characters:
            total -= len(heapq.heappop(heap)[2].text)
    return [doc for _, _, doc in sorted(heap, key=lambda item: item[1])]


def _chunks(documents, is_held_out, shard_characters):
    """Yields `(split, index, texts)` chunks of about `shard_characters`, in corpus order per split."""
    pending = {"train": [], "held_out": []}
    sizes = {"train": 0, "held_out": 0}
    counts = {"train": 0, "held_out": 0}
    for doc in documents:
        split = "held_out" if is_held_out(doc) else "train"
        pending[split].append(doc.text)
        sizes[split] += len(doc.text)
        if sizes[split] >= shard_characters:
            yield split, counts[split], pending[split]
            pending[split], sizes[split] = [], 0
            counts[split] += 1
    for split in ("train", "held_out"):
        if pending[split]:
            yield split, counts[split], pending[split]


def _run_shard_tasks(output_dir, chunks, task_settings, processes):
    """Runs one task per chunk (at most 2 per process in flight) and yields `(split, shard)` in chunk order;
    chunks whose shard is already done (a resumed prepare) are not tokenized again."""
    processes = os.cpu_count() if processes is None else int(processes)
    pool = None
    if processes > 0:
        pool = multiprocessing.get_context("spawn").Pool(processes, initializer=start_shard_worker,
                                                         initargs=task_settings)
    else:
        start_shard_worker(*task_settings)
    pending = []
    try:
        for split, index, texts in chunks:
            path = os.path.join(output_dir, f"{split}-{index:05d}.bin")
            done = _read_done(path)
            if done is not None:
                pending.append((split, done))
            elif pool is None:
                pending.append((split, write_shard(path, texts)))
            else:
                pending.append((split, pool.apply_async(write_shard, (path, texts))))
            while len(pending) > 2 * max(processes, 1) or (pending and _ready(pending[0][1])):
                split_done, result = pending.pop(0)
                yield split_done, _result(result)
        for split_done, result in pending:
            yield split_done, _result(result)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def _ready(result):
    return not isinstance(result, AsyncResult) or result.ready()


def _result(result):
    return result.get() if isinstance(result, AsyncResult) else result


def _read_done(path):
    try:
        with open(path + ".done", encoding="utf-8") as f:
            done = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    return done if os.path.isfile(path) and os.path.getsize(path) == done["bytes"] else None


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
