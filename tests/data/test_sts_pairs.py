import os

import pytest

from tests.data_locations import benchmark_file, excerpt, needs_benchmark_data
from tfssl.data.sts_pairs import STSFormatError, load_sts_pairs

STSB = benchmark_file("stsbenchmark")


def test_reads_the_committed_stsb_excerpts():
    counts = {name: len(load_sts_pairs(excerpt("stsbenchmark", name))) for name in ("sts-train.csv", "sts-dev.csv",
                                                                                     "sts-test.csv")}
    assert counts == {"sts-train.csv": 500, "sts-dev.csv": 300, "sts-test.csv": 100}
    dev = load_sts_pairs(excerpt("stsbenchmark", "sts-dev.csv"))
    assert dev.first[0] == "A man with a hard hat is dancing." and dev.scores[0] == 5.0
    assert all(0.0 <= s <= 5.0 for s in dev.scores) and len(set(dev.scores)) > 20


@needs_benchmark_data("stsbenchmark", "sts-test.csv")
def test_reads_every_stsb_row_including_bare_quotes():
    counts = {name: len(load_sts_pairs(os.path.join(STSB, name))) for name in ("sts-train.csv", "sts-dev.csv", "sts-test.csv")}
    assert counts == {"sts-train.csv": 5749, "sts-dev.csv": 1500, "sts-test.csv": 1379}
    test = load_sts_pairs(os.path.join(STSB, "sts-test.csv"))
    assert all(0.0 <= s <= 5.0 for s in test.scores)
    assert any('"' in s for s in test.first + test.second)


def write(tmp_path, text):
    path = tmp_path / "pairs.tsv"
    path.write_text(text)
    return str(path)


def test_nan_score_missing_column_and_empty_sentence_name_the_row(tmp_path):
    row = "g\tf\t2012\t1\t{score}\t{a}\t{b}\n"
    good = row.format(score="3.5", a="A cat.", b="A dog.")
    with pytest.raises(STSFormatError, match=r"row 2: score 'nan' is not a number"):
        load_sts_pairs(write(tmp_path, good + row.format(score="nan", a="x", b="y")))
    with pytest.raises(STSFormatError, match=r"row 1: 6 tab-separated fields"):
        load_sts_pairs(write(tmp_path, "g\tf\t2012\t1\t3.0\tonly one sentence\n"))
    with pytest.raises(STSFormatError, match=r"row 2: an empty sentence"):
        load_sts_pairs(write(tmp_path, good + row.format(score="1", a="  ", b="y")))
    with pytest.raises(FileNotFoundError, match="No STS file"):
        load_sts_pairs(str(tmp_path / "missing.csv"))
    pairs = load_sts_pairs(write(tmp_path, good + good.replace("3.5", "1.0") + "g\tf\t2012\t1\t2\ta\tb\textra\tcols\n"))
    assert pairs.scores == [3.5, 1.0, 2.0] and pairs.second[-1] == "b"
