import numpy as np
import pytest

from tfssl.metrics.sts_correlation import _rank, alignment, pearson, spearman, sts_correlations, uniformity


def test_ranks_share_ties_and_spearman_is_rank_pearson():
    np.testing.assert_array_equal(_rank([10, 20, 20, 5]), [2, 3.5, 3.5, 1])
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert spearman(x, x ** 3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert pearson(x, x ** 3) < 0.99
    # A known value: d = rank differences (0, 0, 1, -1, 0) -> 1 - 6 * 2 / (5 * 24) = 0.9
    assert spearman([1, 2, 3, 4, 5], [1, 2, 4, 3, 5]) == pytest.approx(0.9)


def test_sts_correlations_on_embeddings():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 16))
    noise = rng.normal(size=(200, 16)) * np.linspace(0.1, 3.0, 200)[:, None]
    b = a + noise
    gold = np.linspace(5.0, 0.0, 200)  # more noise, lower gold similarity
    result = sts_correlations(a, b, gold)
    assert result["spearman"] > 0.6 and result["pairs"] == 200
    assert sts_correlations(a, b, gold[::-1])["spearman"] < -0.6
    with pytest.raises(ValueError, match="must be equal"):
        sts_correlations(a, b[:10], gold)


def test_alignment_and_uniformity():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8))
    assert alignment(x, x) == pytest.approx(0.0)
    assert alignment(x, x + 0.1 * rng.normal(size=x.shape)) < alignment(x, rng.normal(size=x.shape))
    collapsed = np.ones((300, 8)) + 1e-6 * rng.normal(size=(300, 8))
    assert uniformity(collapsed) == pytest.approx(0.0, abs=1e-6)
    assert uniformity(x) < -2.0  # spread on the sphere
