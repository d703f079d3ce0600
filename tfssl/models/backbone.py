"""What `EncoderBackbone` and `DecoderBackbone` share: preset sizes, config in and out, and
building every variable up front.

Arguments both take (the one vocabulary of names, DESIGN.md): `vocabulary_size`, `num_layers`,
`num_heads`, `hidden_dim`, `intermediate_dim`, `max_sequence_length` (the size of the position
table, the longest input accepted; data pipelines call the length they pack to
`sequence_length`), `dropout`, `activation`, `layer_norm_epsilon`, `initializer_range`, `rotary`.
"""

import keras

from tfssl.layers.layer_config import arguments_config, upgrade_config


class Backbone(keras.Model):
    """Base class: a subclass sets `presets` (name -> constructor arguments) and stores each
    constructor argument under its own name (`store_arguments(self, locals())`)."""

    presets = {}

    @property
    def head_dim(self):
        return self.hidden_dim // self.num_heads

    @classmethod
    def from_preset(cls, preset, vocabulary_size, **overrides):
        """Builds a preset size (see `presets`); keyword arguments override."""
        if preset not in cls.presets:
            raise ValueError(f"Unknown {cls.__name__} preset {preset!r}; choose one of {sorted(cls.presets)}.")
        return cls(vocabulary_size=vocabulary_size, **{**cls.presets[preset], **overrides})

    @classmethod
    def from_config(cls, config):
        """Also takes configs saved under old argument names (`sequence_length`)."""
        return cls(**upgrade_config(config))

    def build_from_config(self, config):
        """Variables do not depend on input shapes: build them all (needed to load `.keras`)."""
        self.build()

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **arguments_config(self)}
