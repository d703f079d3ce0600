"""Text classifier, sentence and causal-LM preprocessors: layouts, configs, and tasks fit on raw strings."""

import numpy as np
import tensorflow as tf

from tests.helpers import assert_all_close, run_model_saving_test
from tfssl.data.causal_lm_pipeline import lm_batches
from tfssl.data.classification_pipeline import encode_texts
from tfssl.data.sentence_pipeline import encode_sentences
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.text_classifier import TextClassifier
from tfssl.preprocessors.causal_lm_preprocessor import CausalLMPreprocessor
from tfssl.preprocessors.sentence_preprocessor import SentencePreprocessor
from tfssl.preprocessors.text_classifier_preprocessor import TextClassifierPreprocessor
from tfssl.tokenizers.character_tokenizer import CharacterTokenizer
from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + "good bad film plot great awful a the".split()
TOKENIZER = WordPieceTokenizer(VOCABULARY)


def test_classifier_features_are_the_pipelines_for_texts_and_pairs():
    layer = TextClassifierPreprocessor(TOKENIZER, sequence_length=8)
    first, second = tf.constant(["a good film", "awful"]), tf.constant(["the plot", "bad bad bad bad bad"])
    x, y = layer(first, tf.constant([1, 0]))
    assert_all_close(x, encode_texts(first, TOKENIZER, 8, pad_to_multiple=None), atol=0)
    pair, _ = layer((first, second), tf.constant([1, 0]))
    assert_all_close(pair, encode_texts(first, TOKENIZER, 8, second, pad_to_multiple=None), atol=0)
    assert pair["segment_ids"].numpy()[0].tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert TextClassifierPreprocessor.from_config(layer.get_config()).get_config() == layer.get_config()


def test_sentence_features_for_a_batch_and_for_pairs():
    layer = SentencePreprocessor(TOKENIZER, sequence_length=6)
    texts = tf.constant(["a good film", "the plot"])
    assert_all_close(layer(texts), encode_sentences(texts, TOKENIZER, 6), atol=0)
    pairs = layer({"anchor": texts, "positive": texts})
    assert sorted(pairs) == ["anchor", "positive"] and pairs["anchor"]["token_ids"].shape == (2, 6)


def test_causal_lm_blocks_are_the_pipelines():
    texts = ["hello world. " * 5, "the end. " * 6]
    tokenizer = CharacterTokenizer.from_texts(texts)
    layer = CausalLMPreprocessor(tokenizer, sequence_length=8)
    got = list(layer.batches(texts, batch_size=3))
    from tfssl.data.causal_lm_pipeline import token_stream

    want = list(lm_batches(token_stream(texts, tokenizer), 8, 3, training=False))
    assert len(got) == len(want)
    for (x, y), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(x["token_ids"], wx["token_ids"])
        np.testing.assert_array_equal(y, wy)
    x, y, weight = layer(tf.constant(["hi"]))
    assert x["token_ids"].numpy()[0, 0] == tokenizer.end_of_text_id and weight.numpy()[0].tolist() == [1, 1] + [0] * 6


def test_a_classifier_fits_raw_strings_and_round_trips_with_its_preprocessor():
    texts = ["a good film", "a great plot", "good good", "great film"] * 8 + ["a bad film", "awful plot", "bad bad",
                                                                                "awful film"] * 8
    labels = np.array([1] * 32 + [0] * 32)
    backbone = EncoderBackbone(len(VOCABULARY), 1, 2, 32, 64, max_sequence_length=16, dropout=0.0)
    classifier = TextClassifier(backbone, 2, dropout=0.0, preprocessor=TextClassifierPreprocessor(TOKENIZER, 16))
    classifier.compile(learning_rate=3e-3, total_steps=40, jit_compile=False)
    history = classifier.fit(texts, labels, batch_size=16, epochs=10, verbose=0, validation_data=(texts, labels))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert classifier.evaluate(texts, labels, verbose=0, return_dict=True)["accuracy"] == 1.0
    predictions = classifier.predict(np.array(["good film", "awful film"]), verbose=0)
    assert predictions.shape == (2, 2) and predictions[0].argmax() == 1 and predictions[1].argmax() == 0
    features = classifier.preprocessor(tf.constant(["good film"]))
    restored = run_model_saving_test(classifier, features)
    assert isinstance(restored.preprocessor, TextClassifierPreprocessor)
    assert restored.preprocessor.tokenizer.vocabulary == VOCABULARY and restored.preprocessor.sequence_length == 16
