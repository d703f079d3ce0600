"""tfssl: self-supervised learning of language models with TensorFlow and Keras 3.

Submodules are imported on use (`tfssl.models`, `tfssl.data`, ...), so `import tfssl` stays
light; `import tfssl.models` registers every Keras class tfssl saves in `.keras` files.
"""

__version__ = "0.1.0"
