"""One streaming reader for table files: `.csv`, `.tsv`, `.jsonl`/`.json` and `.parquet`.

Every tfssl source of rows (corpus documents, labelled examples, sentence pairs, STS pairs) reads
its files here, so that every format behaves alike and every defect is one `TableError` naming the
file, the row and the fix.

* Rows stream one at a time (Parquet: one row group batch at a time); memory never grows with the file.
* Any file may be `.gz`-compressed; `scheme://` paths (`gs://...`) are read through `tf.io.gfile`.
* Text is UTF-8 (a BOM is dropped). Undecodable bytes are an error naming the file and the row.
* `.csv` is quote-aware (a quoted cell may hold commas and newlines). `.tsv` is split on tabs with no
  quote handling: GLUE and STS-B texts hold bare `"` characters that a quote-aware reader would merge.
* `.json` is read like `.jsonl`: one JSON object per line.
* Lines that are empty or hold only whitespace (and delimiters) are skipped.

Row numbers are the ones a user finds the row by, in an editor or in pandas:

* CSV, TSV and JSONL: the line number (from 1) of the record's first line, not a count of data
  rows. A CSV/TSV header is row 1, so the first data row is row 2 (a headerless file's is row 1);
  skipped blank lines still count, and a quoted cell spanning lines makes the next row's number
  jump by its extra lines. Undecodable bytes are reported at the line that holds them.
* Parquet: the 0-based row index (`table.slice(i)`, `df.iloc[i]`): Parquet has no lines.

A problem of the whole file (a column missing from the CSV header or the Parquet schema, an
unsupported suffix) names the file alone: no single row is at fault.

Example:

>>> for row, record in iter_rows("pairs.csv", {"premise": "anchor_column"}):
...     print(row, record["premise"])      # 2 A man is smiling.
"""

import csv
import gzip
import itertools
import json
import os
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Tuple, Type, Union

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}

# Required columns: a mapping {column: the option that names it} (the fix then says which option
# to set), or a plain sequence of column names. Positions (ints) when the file has no header.
Columns = Union[Mapping[Any, str], Sequence[Any]]

csv.field_size_limit(2**31 - 1)  # the default (128 KiB) refuses a long document in one cell


class TableError(ValueError):
    """A table file could not be read; the message names the file, the row and the fix.

    The module errors of tfssl's readers (`CorpusError`, `LabeledDataError`, `PairFileError`,
    `STSFormatError`) are subclasses: `except TableError` catches a bad file from any of them.
    """


def file_suffix(path: str) -> str:
    """The lower-case suffix that says a file's format, `.gz` looked through: `a.CSV.gz` -> `.csv`."""
    base = path[:-3] if path.endswith(".gz") else path
    return os.path.splitext(base)[1].lower()


def is_remote(path: str) -> bool:
    """`gs://bucket/x`-style paths: read through `tf.io.gfile` (whatever file systems TensorFlow has)."""
    return "://" in path


def open_binary(path: str):
    """A binary file object for a local or `tf.io.gfile` path, decompressing `.gz` as it is read."""
    if is_remote(path):
        import tensorflow as tf  # only remote paths need TensorFlow: local reading stays light

        raw = tf.io.gfile.GFile(path, "rb")
    else:
        raw = open(path, "rb")
    return gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw


def row_location(path: str, row: Optional[int]) -> str:
    """`"PATH, row N"`, or just `PATH` for a whole-file problem: how every message starts."""
    return path if row is None else f"{path}, row {row}"


def iter_lines(path: str, error_type: Type[TableError] = TableError) -> Iterator[Tuple[int, str]]:
    """`(line number, text)` for each line of a UTF-8 file, from 1, line endings kept, BOM dropped.

    Lines are decoded one at a time, so an undecodable byte is reported at its own line.
    """
    number = 0
    try:
        with open_binary(path) as raw:
            for number, data in enumerate(raw, start=1):
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise error_type(f"{row_location(path, number)}: not UTF-8 (byte {e.start} of the line: "
                                     f"{data[e.start:e.start + 4]!r}). Convert the file to UTF-8.") from e
                yield number, (text[1:] if number == 1 and text.startswith("\ufeff") else text)
    except (OSError, EOFError) as e:
        where = f"cannot read past row {number}" if number else "cannot read it"
        raise error_type(f"{path}: {where} ({e}). Check the path, and that the file is complete "
                         "(a truncated .gz?).") from e


def iter_rows(
    path: str,
    columns: Optional[Columns] = None,
    *,
    file_format: Optional[str] = None,
    header: bool = True,
    error_type: Type[TableError] = TableError,
    batch_size: int = 1024,
) -> Iterator[Tuple[int, Dict[Any, Any]]]:
    """Yields `(row number, record)` for each row of a table file, one row at a time.

    Args:
        path: a local or `scheme://` path; `.gz` is decompressed.
        columns: the columns every row must hold. When given, records hold only these columns (and
            Parquet decodes only these). A mapping `{column: option}` names, in the error for a
            missing column, the option to set (`{"body": "text_column"}`).
        file_format: `"csv"`, `"tsv"`, `"jsonl"` or `"parquet"`; by default from the suffix.
        header: CSV/TSV only: whether the first non-blank line names the columns. Without one,
            records are keyed by 0-based position and `columns` are positions.
        error_type: the `TableError` subclass to raise (the caller's module error).
        batch_size: Parquet rows decoded at a time.

    Records: CSV/TSV cells are strings (not stripped; header names are); JSONL values are JSON
    values; Parquet values are Python values (None for nulls). Row numbers: see the module docstring.
    """
    file_format = file_format or _FORMATS.get(file_suffix(path))
    if file_format not in ("csv", "tsv", "jsonl", "parquet"):
        raise error_type(f"{path}: unsupported table type {file_suffix(path)!r}. Give a .csv, .tsv, .jsonl/.json "
                         "or .parquet file (optionally .gz).")
    if file_format == "parquet":
        return _parquet_rows(path, columns, error_type, batch_size)
    if file_format == "jsonl":
        return _jsonl_rows(path, columns, error_type)
    return _delimited_rows(path, columns, file_format, header, error_type)


def check_columns(where: str, present: Sequence[Any], columns: Optional[Columns],
                  error_type: Type[TableError] = TableError) -> None:
    """Raises `error_type` naming the first of `columns` not in `present`, the columns that exist and the fix."""
    for column in columns or ():
        if column not in present:
            shown = list(present)[:20]
            more = f" and {len(present) - 20} more" if len(present) > 20 else ""
            raise error_type(f"{where}: no column {column!r} (columns: {shown}{more}). {_fix(columns, column)}")


def load_hf_dataset(name: str, config: str, split: str, error_type: Type[TableError] = TableError,
                    streaming: bool = False):
    """A Hugging Face dataset by name (`streaming` first when asked: offline, only the cached, non-streaming copy
    loads). A failure is an `error_type` that says what works without internet access."""
    import datasets

    try:
        if streaming:
            try:
                return datasets.load_dataset(name, config or None, split=split, streaming=True)
            except Exception:  # noqa: BLE001  (offline: fall back to the cached copy below)
                pass
        return datasets.load_dataset(name, config or None, split=split)
    except Exception as e:  # datasets raises many types (ConnectionError, FileNotFoundError, ...)
        raise error_type(
            f"Could not load the Hugging Face dataset {name!r} (config {config or None}, split {split!r}): "
            f"{type(e).__name__}: {str(e)[:300]}. Without internet access only datasets already in the local "
            "cache load (set HF_DATASETS_OFFLINE=1); otherwise download it elsewhere and pass local files."
        ) from e


def _fix(columns: Columns, column) -> str:
    if isinstance(columns, Mapping) and columns[column]:
        return f"Set {columns[column]}=... to the column that holds it."
    return "Name a column the file has."


def _select(record: Dict[Any, Any], columns: Optional[Columns]) -> Dict[Any, Any]:
    return record if columns is None else {c: record[c] for c in columns}


def _jsonl_rows(path, columns, error_type):
    for number, line in iter_lines(path, error_type):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise error_type(f"{row_location(path, number)}: not valid JSON ({e.msg}, column {e.colno}). "
                             "Each line must be one JSON object (JSON Lines).") from e
        if not isinstance(record, dict):
            raise error_type(f"{row_location(path, number)}: expected a JSON object, got {type(record).__name__}. "
                             "Each line must be one JSON object (JSON Lines), not an array.")
        check_columns(row_location(path, number), list(record), columns, error_type)
        yield number, _select(record, columns)


def _delimited_rows(path, columns, file_format, header, error_type):
    """CSV/TSV rows; the header's columns are checked once, before any row is yielded."""
    lines = iter_lines(path, error_type)
    if file_format == "tsv":
        reader = csv.reader((text for _, text in lines), delimiter="\t", quoting=csv.QUOTE_NONE)
        fix = "Remove tabs inside the texts"
    else:
        reader = csv.reader(text for _, text in lines)
        fix = "Quote texts that hold commas"
    kind = "tab-separated" if file_format == "tsv" else "comma-separated"
    names, end = None, 0
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num  # the record's first line; a quoted cell may span more
            if not any(f.strip() for f in fields):
                continue
            if header and names is None:
                names = [f.strip() for f in fields]
                check_columns(path, names, columns, error_type)
                continue
            if names is None:  # no header: positional columns, checked on every row
                needed = max(columns, default=-1) + 1 if columns else 0
                if len(fields) < needed:
                    missing = min(c for c in columns if c >= len(fields))
                    raise error_type(f"{row_location(path, start)}: {len(fields)} {kind} fields, need at least "
                                     f"{needed} (column {missing}, counting from 0). {_fix(columns, missing)}")
                yield start, _select(dict(enumerate(fields)), columns)
                continue
            if len(fields) != len(names):
                raise error_type(f"{row_location(path, start)}: {len(fields)} fields but the header has "
                                 f"{len(names)}. {fix}.")
            yield start, _select(dict(zip(names, fields)), columns)
    except csv.Error as e:
        raise error_type(f"{row_location(path, end + 1)}: unreadable {file_format} ({e}). Fix the quoting.") from e


def _parquet_rows(path, columns, error_type, batch_size):
    """Parquet rows, one row group batch decoded at a time (only `columns` when given)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with open_binary(path) as raw:
            try:
                parquet = pq.ParquetFile(raw)
            except pa.ArrowException as e:
                raise error_type(f"{path}: not a readable Parquet file ({e}). Check the file is complete, "
                                 "or give it the suffix of its real format.") from e
            check_columns(path, parquet.schema_arrow.names, columns, error_type)
            wanted = None if columns is None else list(dict.fromkeys(columns))
            index = itertools.count()
            for batch in parquet.iter_batches(batch_size=batch_size, columns=wanted):
                for record in batch.to_pylist():
                    yield next(index), record
    except (OSError, EOFError) as e:
        raise error_type(f"{path}: cannot read it ({e}). Check the file is complete (a truncated .gz?).") from e
