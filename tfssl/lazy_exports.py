"""Lazy re-exports for tfssl's package `__init__` files (PEP 562 module `__getattr__`).

A package lists `{public name: module that defines it}`; a name is imported on first use, so
`import tfssl.data` does not import TensorFlow until a TensorFlow-backed name is touched.

Example (in `tfssl/losses/__init__.py`):

>>> __getattr__, __dir__, __all__ = lazy_exports(__name__, {"info_nce_loss": "tfssl.losses.info_nce"})
"""

import importlib


def lazy_exports(package, names):
    """Returns `(__getattr__, __dir__, __all__)` for `package` exporting `names` lazily."""
    exported = sorted(names)

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}; it exports {exported}.")
        value = getattr(importlib.import_module(names[name]), name)
        setattr(importlib.import_module(package), name, value)  # later look-ups skip this function
        return value

    def __dir__():
        return sorted(set(exported) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__, exported
