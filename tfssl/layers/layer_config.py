"""Configs of tfssl layers and models: arguments stored under their own names, and old names.

Every tfssl layer and backbone stores each constructor argument as an attribute of the same name
(DESIGN.md, Keras contract): `store_arguments` does it (converting the shared size names to their
types), and `arguments_config` reads the config back off the constructor's signature, so neither
list is written out per class. `upgrade_config` renames arguments a config saved by an older tfssl
has under a previous name, so those `.keras` files still load.

Example (in a layer's `__init__`, before any other local variable):

>>> super().__init__(**kwargs)
>>> store_arguments(self, locals())      # self.hidden_dim = int(hidden_dim), ...
"""

import inspect

# Old argument name -> current name, for configs saved before a rename (issue 18).
RENAMED_ARGUMENTS = {"sequence_length": "max_sequence_length"}

# Types of the argument names tfssl layers and models share (DESIGN.md's vocabulary of names).
ARGUMENT_TYPES = {
    **dict.fromkeys(("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                     "max_sequence_length", "num_segments"), int),
    **dict.fromkeys(("dropout", "layer_norm_epsilon", "initializer_range", "residual_scale"), float),
    **dict.fromkeys(("norm_first", "causal", "rotary"), bool),
}


def store_arguments(obj, arguments):
    """Sets `obj.NAME = value` for each constructor argument in `arguments` (the constructor's
    `locals()`), converted by `ARGUMENT_TYPES`; skips `self`, `kwargs` and dunder names."""
    for name, value in arguments.items():
        if name not in ("self", "kwargs") and not name.startswith("__"):
            setattr(obj, name, ARGUMENT_TYPES[name](value) if name in ARGUMENT_TYPES else value)


def arguments_config(obj, skip=()):
    """`{name: getattr(obj, name)}` for each named argument of `type(obj).__init__` except
    `self`, `*args`/`**kwargs` and the names in `skip`."""
    parameters = inspect.signature(type(obj).__init__).parameters.values()
    names = [p.name for p in parameters if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return {name: getattr(obj, name) for name in names if name not in skip}


def upgrade_config(config, renamed=None):
    """A copy of `config` with old argument names (`RENAMED_ARGUMENTS`) changed to the current
    ones; a config that has both keeps the current one."""
    config = dict(config)
    for old, new in (renamed or RENAMED_ARGUMENTS).items():
        if old in config:
            value = config.pop(old)
            config.setdefault(new, value)
    return config
