import os

import pytest

from tfssl.tokenizers.wordpiece_trainer import SPECIAL_TOKENS, read_vocabulary, train_wordpiece


def test_vocabulary_files_load_in_transformers(vocab_dir):
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(vocab_dir)
    assert hf.is_fast
    vocab = read_vocabulary(vocab_dir)
    assert vocab[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert 1500 < len(vocab) <= 2000
    encoded = hf("The Union is strong.")["input_ids"]
    assert encoded[0] == vocab.index("[CLS]") and encoded[-1] == vocab.index("[SEP]")
    assert hf.mask_token_id == vocab.index("[MASK]")


def test_too_small_vocabulary_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="too small"):
        train_wordpiece(["a b c"], str(tmp_path), vocabulary_size=50)


def test_missing_vocabulary_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        read_vocabulary(str(tmp_path))


def test_vocabulary_without_special_tokens_is_rejected(tmp_path):
    path = os.path.join(tmp_path, "vocab.txt")
    with open(path, "w") as f:
        f.write("a\nb\n")
    with pytest.raises(ValueError, match="special tokens"):
        read_vocabulary(path)
