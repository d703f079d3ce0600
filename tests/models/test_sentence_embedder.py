import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import run_model_saving_test
from tfssl.metrics.sts_evaluation import evaluate_sts
from tfssl.data.sts_pairs import STSPairs
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.sentence_embedder import SentenceEmbedder, embed_texts


def make(tokenizer, pooling="mean"):
    backbone = EncoderBackbone(tokenizer.vocabulary_size, 2, 2, 32, 64, max_sequence_length=32, dropout=0.0)
    return SentenceEmbedder(backbone, tokenizer, pooling=pooling, sequence_length=16)


def test_embeddings_are_unit_vectors_of_mean_pooled_states(tokenizer):
    embedder = make(tokenizer)
    texts = ["The Congress of the United States.", "", "Peace and war, and a very long sentence " * 5]
    vectors = embed_texts(embedder, texts, batch_size=2)
    assert vectors.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    ids = tokenizer(tf.constant(texts[:1])).to_list()[0]
    states = embedder.backbone({"token_ids": tf.constant([[2] + ids + [3]])})["sequence_output"][0].numpy()
    mean = states.mean(0)
    np.testing.assert_allclose(vectors[0], mean / np.linalg.norm(mean), atol=1e-5)


def test_saving_round_trip_and_bad_inputs(tokenizer):
    embedder = make(tokenizer, "first_last_mean")
    embedder.build()
    restored = run_model_saving_test(embedder, tf.constant(["A nation at peace.", "Taxes."]))
    assert (restored.pooling, restored.sequence_length) == ("first_last_mean", 16)
    with pytest.raises(ValueError, match="No texts"):
        embed_texts(embedder, [])
    with pytest.raises(TypeError, match="item 1"):
        embed_texts(embedder, ["ok", None])
    with pytest.raises(ValueError, match="position table"):
        SentenceEmbedder(embedder.backbone, tokenizer, sequence_length=64)


def test_evaluate_sts_scores_a_perfect_and_a_random_embedder():
    """Second sentence at angle (5 - score) / 5 * 90 degrees from the first: cosine is monotone in
    the score, so Spearman is 1; random vectors score near 0."""
    rng = np.random.default_rng(0)
    first = [f"sentence {i}" for i in range(20)]
    second = [f"{s} copy" for s in first]
    scores = list(rng.uniform(0, 5, 20))
    vectors = {}
    for s, score in zip(first, scores):
        base, other = rng.normal(size=(2, 8))
        base /= np.linalg.norm(base)
        other -= (other @ base) * base
        other /= np.linalg.norm(other)
        angle = (5 - score) / 5 * np.pi / 2
        vectors[s], vectors[s + " copy"] = base, np.cos(angle) * base + np.sin(angle) * other
    pairs = STSPairs(first, second, scores)
    good = evaluate_sts(lambda texts: np.array([vectors[t] for t in texts]), pairs)
    bad = evaluate_sts(lambda texts: rng.normal(size=(len(texts), 8)), pairs)
    assert good["spearman"] > 0.999 and good["pearson"] > 0.9
    assert abs(bad["spearman"]) < 0.6
    assert good["pairs"] == 20 and good["alignment"] >= 0 and good["uniformity"] < 0
    with pytest.raises(ValueError, match="non-finite"):
        evaluate_sts(lambda texts: np.full((len(texts), 8), np.nan), pairs)
