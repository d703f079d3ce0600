"""Fixtures of the data tests: a user's mixed local corpus, shared by the local-pool and Beam preparation tests."""

import gzip
import json

import pytest


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, small_texts):
    """20 speeches as a gzipped JSONL file and 5 as text files: a user's mixed local corpus."""
    root = tmp_path_factory.mktemp("corpus")
    with gzip.open(root / "speeches.jsonl.gz", "wt", encoding="utf-8") as f:
        for text in small_texts[:20]:
            f.write(json.dumps({"text": text}) + "\n")
    for i, text in enumerate(small_texts[20:25]):
        (root / f"speech{i}.txt").write_text(text, encoding="utf-8")
    return str(root)
