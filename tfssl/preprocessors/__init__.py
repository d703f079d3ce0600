"""Preprocessor layers: raw strings -> the features a task model trains on, inside tf.data (with
a per-batch seed: masks are drawn anew every epoch). `Task.fit/evaluate/predict` apply a task's
preprocessor to raw strings; each is also a plain Keras layer (`.keras` round trip)."""

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "CausalLMPreprocessor": "tfssl.preprocessors.causal_lm_preprocessor",
    "MaskedLMPreprocessor": "tfssl.preprocessors.masked_lm_preprocessor",
    "Preprocessor": "tfssl.preprocessors.preprocessor",
    "SentencePreprocessor": "tfssl.preprocessors.sentence_preprocessor",
    "TextClassifierPreprocessor": "tfssl.preprocessors.text_classifier_preprocessor",
})
