"""Encoder sizes by name. `intermediate_dim` is 4x `hidden_dim`, heads are 64 wide (as BERT)."""

ENCODER_PRESETS = {
    "tiny": {"num_layers": 2, "num_heads": 2, "hidden_dim": 128, "intermediate_dim": 512},
    "mini": {"num_layers": 4, "num_heads": 4, "hidden_dim": 256, "intermediate_dim": 1024},
    "small": {"num_layers": 4, "num_heads": 8, "hidden_dim": 512, "intermediate_dim": 2048},
    "medium": {"num_layers": 8, "num_heads": 8, "hidden_dim": 512, "intermediate_dim": 2048},
    "base": {"num_layers": 12, "num_heads": 12, "hidden_dim": 768, "intermediate_dim": 3072},
}

# GPT-style decoders: the same sizes; `nanogpt_char` is nanoGPT's CPU shakespeare_char recipe.
DECODER_PRESETS = {
    "tiny": {"num_layers": 2, "num_heads": 2, "hidden_dim": 128, "intermediate_dim": 512},
    "nanogpt_char": {"num_layers": 4, "num_heads": 4, "hidden_dim": 128, "intermediate_dim": 512},
    "mini": {"num_layers": 4, "num_heads": 4, "hidden_dim": 256, "intermediate_dim": 1024},
    "small": {"num_layers": 6, "num_heads": 8, "hidden_dim": 512, "intermediate_dim": 2048},
    "gpt2": {"num_layers": 12, "num_heads": 12, "hidden_dim": 768, "intermediate_dim": 3072},
}
