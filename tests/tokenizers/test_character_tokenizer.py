"""Character vocabulary in the graph: ids by code point, unknown characters, end of text, files."""

import tensorflow as tf

from tfssl.tokenizers.character_tokenizer import CharacterTokenizer
from tfssl.tokenizers.decoder_tokenizers import load_decoder_tokenizer, train_decoder_tokenizer


def test_ids_follow_the_sorted_characters_after_two_specials():
    tokenizer = CharacterTokenizer.from_texts(["cab", "b a\n"])
    assert tokenizer.characters == ["\n", " ", "a", "b", "c"] and tokenizer.vocabulary_size == 7
    assert tokenizer(tf.constant(["abc", "", "c\n"])).to_list() == [[4, 5, 6], [], [6, 2]]
    assert tokenizer(tf.constant("ba")).numpy().tolist() == [5, 4]


def test_unknown_characters_and_end_of_text():
    tokenizer = CharacterTokenizer.from_texts(["ab"])
    ids = tokenizer(tf.constant(["aé😀b"]))  # é and the emoji are not in the vocabulary
    assert ids.to_list() == [[2, 0, 0, 3]]
    assert tokenizer.detokenize(ids).numpy()[0].decode() == "a\ufffd\ufffdb"
    with_separator = tf.constant([[2, 1, 3]])  # dense input works too
    assert tokenizer.detokenize(with_separator).numpy()[0] == b"ab"
    assert tokenizer.id_to_token(tf.constant([0, 1, 2])).numpy().tolist() == [b"<unk>", b"<|endoftext|>", b"a"]


def test_round_trip_in_a_dataset_map_and_through_files(tmp_path):
    text = "First Citizen:\nWe are accounted poor citizens, the patricians good."
    tokenizer = train_decoder_tokenizer("character", [text], str(tmp_path))
    loaded = load_decoder_tokenizer(str(tmp_path))
    assert isinstance(loaded, CharacterTokenizer) and loaded.characters == tokenizer.characters
    dataset = tf.data.Dataset.from_tensor_slices([text]).batch(1).map(loaded)
    ids = next(iter(dataset))
    assert loaded.detokenize(ids).numpy()[0].decode() == text
    clone = CharacterTokenizer.from_config(loaded.get_config())
    assert clone(tf.constant([text])).to_list() == ids.to_list()
