"""Backbones by name, with the settings tfssl's drivers measured and train by default, so Python,
notebooks and the CLI build the same model from the same name: `EncoderBackbone.from_preset("tiny",
vocabulary_size=8192)` is the encoder `tfssl pretrain mlm` builds, and `DecoderBackbone.from_preset(
"tiny", vocabulary_size=4096)` the decoder of `tfssl pretrain clm`. Keyword arguments of
`from_preset` override any entry.

Sizes: `intermediate_dim` is 4x `hidden_dim`; encoder heads are 64 wide (as BERT).

The drivers' defaults (`tfssl/config.py`), for every size:
* encoders: rotary attention (plus the sinusoid-initialised learned table), no dropout,
  post-norm as BERT, a 512-position table (the masked-LM driver trains on 128-token blocks).
  SimCSE needs dropout: its driver passes `dropout=0.1`.
* decoders: learned positions over a 128-token context (the causal-LM driver passes its
  `sequence_length` as `max_sequence_length`), no dropout, GPT-2's tanh-approximated GELU.
"""

ENCODER_DEFAULTS = {"max_sequence_length": 512, "dropout": 0.0, "rotary": True, "norm_first": False,
                    "position_initializer": "sinusoidal"}


def with_defaults(defaults, sizes):
    """{name: sizes} -> {name: sizes + defaults}: every preset of a kind shares the driver's settings."""
    return {name: {**size, **defaults} for name, size in sizes.items()}


ENCODER_PRESETS = with_defaults(ENCODER_DEFAULTS, {
    "tiny": {"num_layers": 2, "num_heads": 2, "hidden_dim": 128, "intermediate_dim": 512},
    "mini": {"num_layers": 4, "num_heads": 4, "hidden_dim": 256, "intermediate_dim": 1024},
    "small": {"num_layers": 4, "num_heads": 8, "hidden_dim": 512, "intermediate_dim": 2048},
    "medium": {"num_layers": 8, "num_heads": 8, "hidden_dim": 512, "intermediate_dim": 2048},
    "base": {"num_layers": 12, "num_heads": 12, "hidden_dim": 768, "intermediate_dim": 3072},
})

DECODER_DEFAULTS = {"max_sequence_length": 128, "dropout": 0.0, "rotary": False, "activation": "gelu_approximate"}

# GPT-style decoders: the same sizes; `nanogpt_char` is nanoGPT's CPU shakespeare_char recipe.
DECODER_PRESETS = with_defaults(DECODER_DEFAULTS, {
    "tiny": {"num_layers": 2, "num_heads": 2, "hidden_dim": 128, "intermediate_dim": 512},
    "nanogpt_char": {"num_layers": 4, "num_heads": 4, "hidden_dim": 128, "intermediate_dim": 512},
    "mini": {"num_layers": 4, "num_heads": 4, "hidden_dim": 256, "intermediate_dim": 1024},
    "small": {"num_layers": 6, "num_heads": 8, "hidden_dim": 512, "intermediate_dim": 2048},
    "gpt2": {"num_layers": 12, "num_heads": 12, "hidden_dim": 768, "intermediate_dim": 3072},
})
