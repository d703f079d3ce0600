"""Losses for self-supervised objectives (InfoNCE with cross-replica negatives). Names are
imported on first use."""

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "info_nce_loss": "tfssl.losses.info_nce",
    "InfoNCE": "tfssl.losses.info_nce",
})
