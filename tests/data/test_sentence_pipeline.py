import pytest
import tensorflow as tf

from tfssl.data.sentence_pipeline import encode_sentences, sentence_batches, split_sentences


def test_docstring_example_and_length_filter():
    assert split_sentences("The Union is strong. We owe much! Is it so?", min_words=1) == [
        "The Union is strong.", "We owe much!", "Is it so?"]
    assert split_sentences("Mr. Smith went to the U.S. Senate. He met J. Doe there.", min_words=3) == [
        "Mr. Smith went to the U.S. Senate.", "He met J. Doe there."]
    assert split_sentences("Too short. " + " ".join(["word"] * 80) + ".", min_words=3, max_words=64) == []


def test_encode_pads_truncates_and_wraps(tokenizer):
    out = encode_sentences(tf.constant(["the union", "the " * 50]), tokenizer, 16)
    ids, mask = out["token_ids"].numpy(), out["padding_mask"].numpy()
    assert ids.shape == (2, 16)
    assert ids[0, 0] == tokenizer.cls_token_id and ids[0, mask[0].sum() - 1] == tokenizer.sep_token_id
    assert (ids[0, mask[0].sum():] == tokenizer.pad_token_id).all()
    assert mask[1].sum() == 16 and ids[1, -1] == tokenizer.sep_token_id


def test_batches_are_full_and_bad_sizes_are_refused(tokenizer):
    sentences = [f"sentence number {i} here" for i in range(10)]
    batches = list(sentence_batches(sentences, tokenizer, 12, 4, seed=0))
    assert len(batches) == 2 and all(b["token_ids"].shape == (4, 12) for b in batches)
    with pytest.raises(ValueError, match="at least 2 sentences"):
        sentence_batches(sentences, tokenizer, 12, 1)
    with pytest.raises(ValueError, match="non-empty sentences"):
        sentence_batches(["", "  ", "one"], tokenizer, 12, 2)
    # Empty strings are dropped (documented), not batched as [CLS] [SEP].
    kept = list(sentence_batches(["", "one two", " ", "three four"], tokenizer, 12, 2, shuffle=False))
    assert len(kept) == 1 and (kept[0]["padding_mask"].numpy().sum(1) > 2).all()
