"""Losses for self-supervised objectives (InfoNCE with cross-replica negatives; the language
models' token cross-entropy). Names are
imported on first use."""

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "info_nce_loss": "tfssl.losses.info_nce",
    "InfoNCE": "tfssl.losses.info_nce",
    "token_cross_entropy": "tfssl.losses.token_cross_entropy",
    "token_hits": "tfssl.losses.token_cross_entropy",
    "TokenCrossEntropy": "tfssl.losses.token_cross_entropy",
})
