"""STS evaluation of any sentence embedder: correlation with gold scores, alignment, uniformity.

`embed` is any callable from a list of strings to an (n, dim) array: a `SentenceEmbedder`
through `embed_texts`, a SavedModel's `embed` signature, or another library's encoder. The same
numbers therefore describe in-memory models, exports and baselines.

Example:

>>> pairs = load_sts_pairs("../shared/data/stsbenchmark/sts-test.csv")
>>> evaluate_sts(lambda texts: embed_texts(embedder, texts), pairs)
{'spearman': 0.53, 'pearson': 0.51, 'pairs': 1379, 'alignment': 0.61, 'uniformity': -2.1}
"""

import numpy as np

from tfssl.metrics.sts_correlation import alignment, sts_correlations, uniformity


def evaluate_sts(embed, pairs, positive_score=4.0, uniformity_sample=2000, seed=0):
    """Spearman/Pearson (x1) of pair cosines vs. gold scores, plus Wang & Isola's alignment
    (over pairs scored >= `positive_score`) and uniformity (over up to `uniformity_sample`
    distinct sentences, sampled with `seed`)."""
    sentences = list(dict.fromkeys(pairs.first + pairs.second))
    index = {s: i for i, s in enumerate(sentences)}
    vectors = np.asarray(embed(sentences), dtype=np.float64)  # (distinct sentences, dim)
    if vectors.shape[0] != len(sentences) or not np.all(np.isfinite(vectors)):
        raise ValueError(f"The embedder returned {vectors.shape} vectors for {len(sentences)} sentences, or non-finite values.")
    first = vectors[[index[s] for s in pairs.first]]
    second = vectors[[index[s] for s in pairs.second]]
    result = sts_correlations(first, second, pairs.scores)
    positive = np.asarray(pairs.scores) >= positive_score
    if positive.any():
        result["alignment"] = alignment(first[positive], second[positive])
    rng = np.random.default_rng(seed)
    sample = rng.permutation(len(sentences))[:uniformity_sample]
    result["uniformity"] = uniformity(vectors[sample])
    return result
