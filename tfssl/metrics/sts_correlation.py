"""Semantic textual similarity scores: Spearman / Pearson of cosine similarity against gold
scores, and alignment / uniformity of embeddings (Wang & Isola, 2020).

Pure NumPy, so it runs on whatever produced the embeddings (a Keras model, a SavedModel
signature, another library).

Example:

>>> sts_correlations(embed(pairs.first), embed(pairs.second), pairs.scores)
{'spearman': 0.61, 'pearson': 0.58, 'pairs': 1379}
"""

import numpy as np


def _rank(values):
    """Ranks starting at 1, ties sharing their average rank (as scipy.stats.rankdata)."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    unique, inverse = np.unique(values, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks)
    counts = np.bincount(inverse)
    return (sums / counts)[inverse]


def pearson(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else 0.0


def spearman(x, y):
    return pearson(_rank(x), _rank(y))


def cosine_similarity(a, b):
    """Row-wise cosine of two (n, dim) arrays."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(axis=1)


def sts_correlations(first_embeddings, second_embeddings, gold_scores):
    """Spearman and Pearson correlation (x1, not x100) of pair cosines with gold scores."""
    if len(first_embeddings) != len(second_embeddings) or len(first_embeddings) != len(gold_scores):
        raise ValueError(
            f"Got {len(first_embeddings)} first and {len(second_embeddings)} second embeddings for "
            f"{len(gold_scores)} scores; they must be equal."
        )
    if len(gold_scores) < 2:
        raise ValueError("Correlation needs at least 2 pairs.")
    cosines = cosine_similarity(first_embeddings, second_embeddings)
    return {"spearman": spearman(cosines, gold_scores), "pearson": pearson(cosines, gold_scores), "pairs": len(gold_scores)}


def alignment(first_embeddings, second_embeddings, alpha=2):
    """Mean ||f(x) - f(y)||^alpha over positive pairs of L2-normalised embeddings (lower is better)."""
    a = np.asarray(first_embeddings, np.float64)
    b = np.asarray(second_embeddings, np.float64)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((np.linalg.norm(a - b, axis=1) ** alpha).mean())


def uniformity(embeddings, t=2):
    """log mean exp(-t ||f(x) - f(y)||^2) over distinct pairs of L2-normalised embeddings (lower is better)."""
    x = np.asarray(embeddings, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    squared = np.maximum(2.0 - 2.0 * x @ x.T, 0.0)  # (n, n) squared distances on the sphere
    upper = squared[np.triu_indices(len(x), k=1)]
    return float(np.log(np.exp(-t * upper).mean()))
