import json

import numpy as np
import tensorflow as tf
import pytest

from tfssl.data.sentence_pairs import PairFileError, load_sentence_pairs, pair_batches, sts_positive_pairs


def test_reads_csv_tsv_and_jsonl_with_chosen_columns(tmp_path):
    (tmp_path / "t.csv").write_text('premise,entail,contra\n"A man, smiling.",A man.,A woman.\nDogs run.,Animals move.,Cats sleep.\n')
    (tmp_path / "t.tsv").write_text("a\tb\nOne here.\tAnother one.\n")
    (tmp_path / "t.jsonl").write_text(json.dumps({"s1": "x y", "s2": "y z"}) + "\n\n" + json.dumps({"s1": "p", "s2": "q"}) + "\n")
    pairs = load_sentence_pairs(str(tmp_path / "t.csv"), "premise", "entail", "contra")
    assert pairs.anchors == ["A man, smiling.", "Dogs run."] and pairs.negatives == ["A woman.", "Cats sleep."]
    assert load_sentence_pairs(str(tmp_path / "t.tsv"), "a", "b").positives == ["Another one."]
    jsonl = load_sentence_pairs(str(tmp_path / "t.jsonl"), "s1", "s2")
    assert (jsonl.anchors, jsonl.positives, jsonl.negatives) == (["x y", "p"], ["y z", "q"], None)


def test_missing_column_empty_sentence_and_missing_file_are_clear_errors(tmp_path):
    (tmp_path / "t.csv").write_text("premise,entail\nA.,B.\n")
    message = r"t\.csv: no column 'contra' \(columns: \['premise', 'entail'\]\).*negative_column="
    with pytest.raises(PairFileError, match=message):
        load_sentence_pairs(str(tmp_path / "t.csv"), "premise", "entail", "contra")
    (tmp_path / "e.csv").write_text("a,b\nA.,B.\nC., \n")
    with pytest.raises(PairFileError, match=r"e\.csv, row 3: empty 'b'"):
        load_sentence_pairs(str(tmp_path / "e.csv"), "a", "b")
    with pytest.raises(FileNotFoundError, match="No pair file"):
        load_sentence_pairs(str(tmp_path / "none.csv"))
    (tmp_path / "bad.tsv").write_bytes(b"a\tb\n\xff\xfe\tx\n")
    with pytest.raises(PairFileError, match="not UTF-8"):
        load_sentence_pairs(str(tmp_path / "bad.tsv"), "a", "b")


def test_sts_positives_keep_pairs_scored_at_least_min_score(tmp_path):
    rows = ["g\tf\t2012\t1\t4.5\tA cat sits.\tA cat is sitting.", "g\tf\t2012\t2\t1.0\tA dog.\tA car.",
            "g\tf\t2012\t3\t4.0\tHe runs.\tHe is running.\textra\tcols"]
    (tmp_path / "sts.csv").write_text("\n".join(rows) + "\n")
    pairs = sts_positive_pairs(str(tmp_path / "sts.csv"), min_score=4.0)
    assert pairs.anchors == ["A cat sits.", "He runs."] and pairs.positives == ["A cat is sitting.", "He is running."]
    with pytest.raises(PairFileError, match="lower min_score"):
        sts_positive_pairs(str(tmp_path / "sts.csv"), min_score=4.8)


def test_pair_batches_are_full_tokenized_triples(tmp_path, tokenizer):
    (tmp_path / "t.csv").write_text("a,p,n\n" + "".join(f"The people {i}.,The nation {i}.,War {i}.\n" for i in range(5)))
    pairs = load_sentence_pairs(str(tmp_path / "t.csv"), "a", "p", "n")
    batches = list(pair_batches(pairs, tokenizer, 12, batch_size=2, shuffle=False))
    assert len(batches) == 2  # 5 rows, batch 2, remainder dropped
    first = batches[0]
    assert set(first) == {"anchor", "positive", "negative"}
    np.testing.assert_array_equal(first["anchor"]["token_ids"][:, 0], tokenizer.cls_token_id)
    assert first["negative"]["token_ids"].shape == (2, 12)
    expected = tokenizer(tf.constant(["The nation 0."])).to_list()[0]
    assert first["positive"]["token_ids"][0, 1 : 1 + len(expected)].numpy().tolist() == expected
    with pytest.raises(ValueError, match="at least 2"):
        pair_batches(pairs, tokenizer, 12, batch_size=1)
    with pytest.raises(ValueError, match="Only 5 pairs"):
        pair_batches(pairs, tokenizer, 12, batch_size=8)
