import keras
import numpy as np
import tensorflow as tf

from tests.helpers import assert_all_close
from tfssl.data.mlm_pipeline import mask_batches, masker_for_tokenizer, packed_blocks
from tfssl.preprocessors.masked_lm_preprocessor import MaskedLMPreprocessor
from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + "the cat sat on a mat dog ran and".split()
DOCUMENTS = ["the cat sat on a mat and the dog ran " * 3, "a dog ran and a cat sat " * 4, "the mat " * 5]


def preprocessor(**kwargs):
    return MaskedLMPreprocessor(WordPieceTokenizer(VOCABULARY), sequence_length=12, **kwargs)


def test_features_are_the_drivers_for_the_same_blocks_and_seed():
    """Documents through `batches` equal `tfssl.data.mlm_pipeline` (the driver's) value by value."""
    layer = preprocessor(seed=3)
    masker = masker_for_tokenizer(layer.tokenizer, 12)
    expected = mask_batches(packed_blocks(DOCUMENTS, layer.tokenizer, 12), masker, 2, seed=3, shuffle=False,
                            new_mask_each_epoch=False)
    got = layer.batches(DOCUMENTS, batch_size=2)  # evaluation: in order, fixed masks
    pairs = list(zip(expected, got))
    assert len(pairs) == len(list(expected)) >= 3
    for want, have in pairs:
        assert_all_close(want, have, atol=0)
    x, y, weight = pairs[0][1]
    assert sorted(x) == ["mask_positions", "padding_mask", "token_ids"]
    assert x["token_ids"].shape == (2, 12) and y.shape == weight.shape == (2, masker.max_predictions)


def test_training_masks_change_every_epoch_and_repeat_with_the_seed():
    def epochs(seed):
        data = preprocessor(seed=seed).batches(DOCUMENTS, batch_size=2, training=True)
        return [[b[0]["token_ids"].numpy() for b in data] for _ in range(2)]

    first, again = epochs(0), epochs(0)
    np.testing.assert_array_equal(np.concatenate(first[0]), np.concatenate(again[0]))
    np.testing.assert_array_equal(np.concatenate(first[1]), np.concatenate(again[1]))
    assert not np.array_equal(np.concatenate(first[0]), np.concatenate(first[1]))


def test_a_string_is_one_row_and_the_rates_are_berts():
    layer = preprocessor(max_predictions=4)
    x, y, weight = layer(tf.constant(["the cat sat on a mat", "a dog"]), seed=tf.constant([1, 2], tf.int64))
    ids = layer.tokenizer(tf.constant(["the cat sat on a mat"]))[0].numpy()
    assert x["token_ids"].shape == (2, 12)
    np.testing.assert_array_equal(x["padding_mask"].numpy()[1], [1, 1, 1, 1] + [0] * 8)
    assert weight.numpy().sum(axis=1).tolist() == [1.0, 0.0]  # round(0.15 * 6) and round(0.15 * 2)
    slot = int(x["mask_positions"].numpy()[0, 0])
    assert int(y.numpy()[0, 0]) == ids[slot - 1]
    config = layer.get_config()
    assert (config["mask_selection_rate"], config["mask_token_rate"], config["random_token_rate"]) == (0.15, 0.8, 0.1)


def test_config_round_trip():
    layer = preprocessor(seed=5, max_predictions=3)
    for clone in (MaskedLMPreprocessor.from_config(layer.get_config()),
                  keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))):
        seed = tf.constant([4, 2], tf.int64)
        assert_all_close(layer(tf.constant(DOCUMENTS), seed=seed), clone(tf.constant(DOCUMENTS), seed=seed), atol=0)
        assert (clone.max_predictions, clone.seed, clone.sequence_length) == (3, 5, 12)
