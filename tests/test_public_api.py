"""The flat public API: light top-level imports, every exported name resolves, every class is exported."""

import ast
import importlib
import os
import subprocess
import sys

import pytest

PACKAGES = ["convert", "data", "export", "layers", "losses", "metrics", "models", "optimizers", "preprocessors",
            "tokenizers", "training"]
ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_import_tfssl_and_its_data_package_do_not_import_tensorflow():
    script = ("import sys, tfssl, tfssl.data, tfssl.tokenizers, tfssl.preprocessors, tfssl.layers, tfssl.export, "
              "tfssl.training; tfssl.RunDirectory('runs/x').config(); "
              "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves(name):
    package = importlib.import_module(f"tfssl.{name}")
    assert package.__all__ == sorted(package.__all__) and set(package.__all__) <= set(dir(package))
    for exported in package.__all__:
        assert getattr(package, exported) is not None
    with pytest.raises(AttributeError, match="exports"):
        getattr(package, "no_such_name")


@pytest.mark.parametrize("name", ["layers", "models", "preprocessors", "tokenizers", "losses", "optimizers"])
def test_every_public_class_is_exported(name):
    """A public class added to a package's modules must be added to its `__init__` (Path = concept)."""
    package = importlib.import_module(f"tfssl.{name}")
    directory = os.path.dirname(package.__file__)
    for file in sorted(os.listdir(directory)):
        if file.endswith(".py") and file != "__init__.py":
            tree = ast.parse(open(os.path.join(directory, file), encoding="utf-8").read())
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    assert node.name in package.__all__, f"tfssl.{name} does not export {node.name} ({file})"


def test_tfssl_models_registers_every_tfssl_keras_class():
    import keras

    import tfssl.models  # noqa: F401
    from tfssl.preprocessors.masked_lm_preprocessor import MaskedLMPreprocessor

    registered = keras.saving.get_custom_objects()
    for class_name in ("EncoderBackbone", "MaskedLMPretrainer", "WordPieceTokenizer", "MaskedLMPreprocessor",
                       "TextClassifierPreprocessor", "MaskedLMMasker", "WarmupDecay", "MaskedLMPerplexity"):
        assert f"tfssl>{class_name}" in registered
    assert registered["tfssl>MaskedLMPreprocessor"] is MaskedLMPreprocessor
    import tfssl

    assert tfssl.models is tfssl.__getattr__("models") and "preprocessors" in dir(tfssl)
