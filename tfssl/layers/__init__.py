"""Keras layers: preprocessing (masker) and modeling (embedding, attention, transformer blocks,
masked-LM head, pooling, hash dropout). Names are imported on first use."""

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "CachedSelfAttention": "tfssl.layers.cached_self_attention",
    "apply_rotary": "tfssl.layers.cached_self_attention",
    "HashDropout": "tfssl.layers.hash_dropout",
    "MaskedLMHead": "tfssl.layers.masked_lm_head",
    "MaskedLMMasker": "tfssl.layers.masked_lm_masker",
    "ReplacedTokenHead": "tfssl.layers.replaced_token_head",
    "SentencePooling": "tfssl.layers.sentence_pooling",
    "SinusoidalInitializer": "tfssl.layers.sinusoidal_initializer",
    "TokenAndPositionEmbedding": "tfssl.layers.token_and_position_embedding",
    "TransformerBlock": "tfssl.layers.transformer_block",
    "TransformerDecoderBlock": "tfssl.layers.transformer_decoder_block",
    "TransformerEncoderBlock": "tfssl.layers.transformer_encoder_block",
})
