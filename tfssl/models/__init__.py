"""Backbones, pretrainers, task models and their presets.

Names are imported on first use, but importing this package registers every tfssl Keras class
(layers, tokenizers, preprocessors, models, metrics, optimizers), so
`keras.saving.load_model("run/model.keras")` works after `import tfssl.models`.
"""

import glob
import importlib
import os

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Backbone": "tfssl.models.backbone",
    "EncoderBackbone": "tfssl.models.encoder_backbone",
    "DecoderBackbone": "tfssl.models.decoder_backbone",
    "ENCODER_PRESETS": "tfssl.models.presets",
    "DECODER_PRESETS": "tfssl.models.presets",
    "Task": "tfssl.models.task",
    "MaskedLMPretrainer": "tfssl.models.masked_lm_pretrainer",
    "masked_lm_loss": "tfssl.models.masked_lm_pretrainer",
    "ElectraPretrainer": "tfssl.models.electra_pretrainer",
    "generator_sizes": "tfssl.models.electra_pretrainer",
    "CausalLMPretrainer": "tfssl.models.causal_lm_pretrainer",
    "next_token_loss": "tfssl.models.causal_lm_pretrainer",
    "ContrastivePretrainer": "tfssl.models.contrastive_pretrainer",
    "with_dropout": "tfssl.models.contrastive_pretrainer",
    "SentenceEmbedder": "tfssl.models.sentence_embedder",
    "embed_texts": "tfssl.models.sentence_embedder",
    "TextClassifier": "tfssl.models.text_classifier",
    "TokenClassifier": "tfssl.models.token_classifier",
    "TextGenerator": "tfssl.models.text_generator",
    "GradientAccumulation": "tfssl.models.gradient_accumulation",
    "PRECISIONS": "tfssl.models.precision",
    "resolve_precision": "tfssl.models.precision",
    "set_precision": "tfssl.models.precision",
})



def _import_registering_modules():
    """Imports every module below tfssl's Keras packages that registers a class (`package="tfssl"`), found by
    reading the files, so a new or renamed module is registered without a list to keep up to date."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for package in REGISTERING_PACKAGES:
        for path in sorted(glob.glob(os.path.join(root, package, "*.py"))):
            with open(path, encoding="utf-8") as f:
                if "register_keras_serializable" in f.read():
                    importlib.import_module(f"tfssl.{package}.{os.path.basename(path)[:-3]}")


# Packages whose classes `.keras` files may name (training/, export/, convert/ sit on top and register none).
REGISTERING_PACKAGES = ("layers", "losses", "metrics", "optimizers", "tokenizers", "preprocessors", "models")
_import_registering_modules()
