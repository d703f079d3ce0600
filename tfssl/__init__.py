"""tfssl: self-supervised learning of language models with TensorFlow and Keras 3.

Subpackages are imported on use (`tfssl.models`, `tfssl.data`, ...), so `import tfssl` stays
light (no TensorFlow); `import tfssl.models` registers every Keras class tfssl saves in `.keras`
files. Public names live one level down: `tfssl.models.MaskedLMPretrainer`,
`tfssl.preprocessors.MaskedLMPreprocessor`, `tfssl.data.load_corpus`, `tfssl.tokenizers.train_wordpiece`;
a run directory of any kind loads through `tfssl.RunDirectory("runs/NAME")`.
"""

import importlib

__version__ = "0.1.0"

SUBPACKAGES = ["convert", "data", "export", "layers", "losses", "metrics", "models", "optimizers", "preprocessors",
               "tokenizers", "training"]
TOP_LEVEL = {"RunDirectory": "tfssl.run_directory"}
__all__ = SUBPACKAGES + sorted(TOP_LEVEL) + ["__version__"]


def __getattr__(name):
    if name in SUBPACKAGES:
        return importlib.import_module(f"tfssl.{name}")
    if name in TOP_LEVEL:
        return getattr(importlib.import_module(TOP_LEVEL[name]), name)
    raise AttributeError(f"module 'tfssl' has no attribute {name!r}; its subpackages are {SUBPACKAGES}.")


def __dir__():
    return sorted(set(__all__) | set(globals()))
