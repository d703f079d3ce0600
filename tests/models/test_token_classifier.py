"""Tagging: labels land on each word's first WordPiece, and a TokenClassifier learns word tags."""

import numpy as np
import tensorflow as tf

from tests.helpers import run_model_saving_test
from tests.models.test_text_classifier import _backbone
from tfssl.data.token_tagging_pipeline import encode_words, tagging_batches
from tfssl.models.token_classifier import TokenClassifier


def test_labels_sit_on_first_pieces(tokenizer):
    words = [["the", "Washingtonian", "spoke"], ["\x07", "war"]]
    features, labels, weights = encode_words(tf.ragged.constant(words), tf.ragged.constant([[0, 2, 1], [1, 3]]),
                                             tokenizer, 32)
    pieces = [tokenizer(tf.constant(w)).to_list() for w in words]
    long_word = pieces[0][1]
    assert len(long_word) > 1  # the test needs a word of several pieces
    ids = features["token_ids"].numpy()
    n = 2 + sum(map(len, pieces[0]))
    assert ids[0, :n].tolist() == [tokenizer.cls_token_id] + sum(pieces[0], []) + [tokenizer.sep_token_id]
    tags = [0, 2, 1]
    assert labels.numpy()[0, :n].tolist() == [0] + sum([[t] * len(p) for t, p in zip(tags, pieces[0])], []) + [0]
    assert weights.numpy()[0, :n].tolist() == [0] + sum([[1] + [0] * (len(p) - 1) for p in pieces[0]], []) + [0]
    # A word the tokenizer drops (a control character) becomes [UNK] and keeps its tag.
    assert ids[1, 1] == tokenizer.token_to_id("[UNK]") and labels.numpy()[1, 1] == 1
    assert weights.numpy()[1].tolist()[:4] == [0, 1, 1, 0]
    assert features["padding_mask"].numpy().sum(axis=1).tolist() == [n, 4]


def test_a_tagger_learns_word_tags_and_round_trips(tokenizer):
    rng = np.random.default_rng(0)
    vocabulary = {0: ["the", "of", "congress", "people", "year"], 1: ["war", "army", "navy", "soldiers"]}

    def sentences(n):
        tokens, tags = [], []
        for _ in range(n):
            t = rng.integers(0, 2, 8)
            tokens.append([str(rng.choice(vocabulary[int(k)])) for k in t])
            tags.append(t)
        return tokens, tags

    tf.keras.utils.set_random_seed(0)
    tagger = TokenClassifier(_backbone(tokenizer.vocabulary_size), 2, dropout=0.0)
    tagger.compile(learning_rate=3e-3, warmup_steps=5, total_steps=100, jit_compile=False)
    history = tagger.fit(tagging_batches(*sentences(320), tokenizer, 32, 32), epochs=10, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0], history.history["loss"]
    test_tokens, test_tags = sentences(50)
    features, labels, weights = encode_words(tf.ragged.constant(test_tokens), tf.ragged.constant(
        [t.tolist() for t in test_tags]), tokenizer, 32)
    predicted = np.argmax(tagger(features).numpy(), -1)
    w = weights.numpy() > 0
    assert np.mean(predicted[w] == labels.numpy()[w]) > 0.95  # majority tag: about 0.5
    run_model_saving_test(tagger, features)
