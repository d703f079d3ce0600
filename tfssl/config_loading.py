"""Run configs from JSON/YAML files and `--key=value` overrides, and back to `config.json`.

Defaults <- file <- command-line overrides <- keyword values, then the config's `validate()`. Unknown keys and
wrong types are errors that say what was received and what is allowed (with the closest key's name):

>>> config = load_config(MLMPretrainConfig, "my.yaml", ["--epochs=2", "--preset=mini"])
"""

import collections.abc
import dataclasses
import difflib
import json
import os
import typing
from typing import Optional, Sequence

from tfssl.config_fields import ConfigError


def _field_types(cls):
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(key, value, annotation, origin_label):
    """Converts `value` to the field's type, or raises ConfigError."""
    optional = typing.get_origin(annotation) is typing.Union and type(None) in typing.get_args(annotation)
    base = next((a for a in typing.get_args(annotation) if a is not type(None)), annotation) if optional else annotation
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null") and optional):
        if optional:
            return None
        raise ConfigError(f"{origin_label}: {key} may not be null (expected {base.__name__}).")
    if typing.get_origin(base) in (list, tuple, collections.abc.Sequence):
        return _coerce_sequence(key, value, typing.get_args(base)[0], origin_label)
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
                return value.lower() in ("true", "1", "yes")
            raise ValueError
        if base is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if base is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if base is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        pass
    raise ConfigError(f"{origin_label}: {key}={value!r} is not a valid {base.__name__}.")


def _coerce_sequence(key, value, item_type, origin_label):
    """A list field from a YAML/JSON list or a comma-separated override (`--seeds=0,1,2`)."""
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{origin_label}: {key}={value!r} is not a list (write it as a,b,c).")
    return tuple(_coerce(key, v, item_type, origin_label) for v in value)


def _apply(config, values: dict, origin_label: str):
    types = _field_types(type(config))
    for key, value in values.items():
        if key not in types:
            close = difflib.get_close_matches(key, types, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" Known keys: {', '.join(sorted(types))}."
            raise ConfigError(f"{origin_label}: unknown config key {key!r}.{hint}")
        setattr(config, key, _coerce(key, value, types[key], origin_label))


# Short names accepted on the command line.
ALIASES = {"init": "init_from"}


def parse_overrides(overrides: Sequence[str]) -> dict:
    """`["--epochs=2", "preset=mini", "--init", "dir"]` -> `{"epochs": "2", "preset": "mini",
    "init_from": "dir"}` (strings; `--key value` and `--key=value` both work)."""
    values = {}
    items = list(overrides)
    i = 0
    while i < len(items):
        item = items[i]
        key, sep, value = item.lstrip("-").partition("=")
        if not sep and item.startswith("--") and key and i + 1 < len(items) and not items[i + 1].startswith("--"):
            value, sep = items[i + 1], "="
            i += 1
        if not sep or not key:
            raise ConfigError(f"Override {item!r} is not of the form --key=value (or --key value).")
        key = key.replace("-", "_")
        values[ALIASES.get(key, key)] = value
        i += 1
    return values


def read_config_file(path: str) -> dict:
    """Reads a JSON or YAML mapping, naming the file in every error."""
    if not os.path.isfile(path):
        raise ConfigError(f"Config file {path} does not exist.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            values = yaml.safe_load(text)
        else:
            values = json.loads(text)
    except Exception as e:  # yaml and json raise different types
        raise ConfigError(f"Config file {path} is not valid {'YAML' if path.endswith(('.yaml', '.yml')) else 'JSON'}: {e}") from e
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"Config file {path} must hold a mapping of keys to values, got {type(values).__name__}.")
    return values


def load_config(cls, path: Optional[str] = None, overrides: Sequence[str] = (), **values):
    """Defaults <- file <- `--key=value` overrides <- keyword values, then `validate()`."""
    config = cls()
    if path:
        _apply(config, read_config_file(path), path)
    _apply(config, parse_overrides(overrides), "command line")
    _apply(config, values, "arguments")
    return config.validate()


def save_config(config, path: str) -> None:
    """Writes the resolved config as JSON (kept beside every checkpoint and export)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(dataclasses.asdict(config), f, indent=2)
