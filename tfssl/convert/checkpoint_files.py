"""Hugging Face model directories on disk: `config.json` + safetensors (single or sharded) in,
the same written atomically out. Weights are NumPy arrays (`safetensors.numpy`): no PyTorch."""

import json
import os
import shutil
import tempfile

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "merges.txt", "vocab.json")


class CheckpointError(ValueError):
    """A checkpoint cannot be converted; the message names the files/tensors and the fix."""


def is_hf_directory(path):
    """True for a directory holding a Hugging Face `config.json` with a `model_type`."""
    config_path = os.path.join(str(path), "config.json")
    if not os.path.isdir(str(path)) or not os.path.isfile(config_path):
        return False
    try:
        with open(config_path, encoding="utf-8") as f:
            return "model_type" in json.load(f)
    except (OSError, ValueError):
        return False


def read_hf_config(directory):
    """config.json as a dict; a missing or broken file is a `CheckpointError`."""
    config_path = os.path.join(directory, "config.json")
    if not os.path.isfile(config_path):
        raise CheckpointError(f"{directory} has no config.json; point at a Hugging Face model directory "
                              "(config.json + model.safetensors).")
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except ValueError as e:
        raise CheckpointError(f"{config_path} is not valid JSON ({e}); re-save the model with save_pretrained.") from e
    if "model_type" not in config:
        raise CheckpointError(f"{config_path} has no model_type; it does not describe a transformers model.")
    return config


def read_hf_directory(directory):
    """`(config, weights)`: config.json as a dict and every safetensors tensor as NumPy."""
    from safetensors.numpy import load_file

    config = read_hf_config(directory)
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    elif os.path.isfile(os.path.join(directory, "model.safetensors")):
        files = ["model.safetensors"]
    elif os.path.isfile(os.path.join(directory, "pytorch_model.bin")):
        raise CheckpointError(f"{directory} holds only pytorch_model.bin (pickle). Re-save it as safetensors: "
                              "AutoModel.from_pretrained(dir).save_pretrained(dir) (transformers' default format).")
    else:
        raise CheckpointError(f"{directory} has no model.safetensors (or model.safetensors.index.json with shards).")
    weights = {}
    for name in files:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            raise CheckpointError(f"{index} lists the shard {name}, which is not in {directory}.")
        weights.update(load_file(path))
    return config, weights


def write_hf_directory(directory, config, weights, tokenizer_files=()):
    """Writes `config.json`, `model.safetensors` and the given tokenizer files into `directory`
    through a temporary sibling renamed into place, so a failure (a full disk) leaves either the
    old directory or none. An existing non-empty `directory` is refused: exports never overwrite."""
    from safetensors.numpy import save_file

    directory = os.path.abspath(directory)
    if os.path.isdir(directory) and os.listdir(directory):
        raise CheckpointError(f"{directory} already exists and is not empty; choose a new directory "
                              "(tfssl never overwrites an export).")
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(directory) + "-", dir=parent)
    try:
        with open(os.path.join(staging, "config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, sort_keys=True)
        save_file(weights, os.path.join(staging, "model.safetensors"), metadata={"format": "pt"})
        for path in tokenizer_files:
            shutil.copy(path, os.path.join(staging, os.path.basename(path)))
        if os.path.isdir(directory):
            os.rmdir(directory)
        os.rename(staging, directory)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise CheckpointError(f"Could not write {directory}: {e}. Nothing was left behind; free space or choose "
                              "another directory and rerun.") from e
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory
