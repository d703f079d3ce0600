"""A Hugging Face BERT checkpoint directory -> a tfssl `EncoderBackbone` (and masked-LM head),
read with `safetensors.numpy`: no PyTorch at run time.

    <dir>/config.json                      model_type "bert": sizes, hidden_act, layer_norm_eps
    <dir>/model.safetensors                or model.safetensors.index.json + shards
    <dir>/vocab.txt (+ tokenizer_config.json: do_lower_case)

Every tensor is assigned with its shape checked; a checkpoint that lacks a tensor, has one this
mapping does not know, or has one of the wrong shape is a `CheckpointError` listing all of them.
The masked-LM head (`cls.predictions.*`) and the pooler are loaded when present; otherwise they
stay freshly initialised (the masked-LM head tied to the token embeddings).

Example:

>>> pretrainer, tokenizer = load_hf_bert("all-MiniLM-L6-v2/")
>>> pretrainer.backbone({"token_ids": ids, "padding_mask": mask, "segment_ids": 0 * ids})["sequence_output"]
"""

import json
import os

import numpy as np

SUPPORTED = ("bert",)


class CheckpointError(ValueError):
    """A checkpoint directory cannot be converted; the message names the files/tensors and the fix."""


def read_hf_directory(directory):
    """`(config, weights)`: config.json as a dict and every safetensors tensor as NumPy."""
    from safetensors.numpy import load_file

    config_path = os.path.join(directory, "config.json")
    if not os.path.isfile(config_path):
        raise CheckpointError(f"{directory} has no config.json; point at a Hugging Face model directory "
                              "(config.json + model.safetensors).")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    elif os.path.isfile(os.path.join(directory, "model.safetensors")):
        files = ["model.safetensors"]
    else:
        raise CheckpointError(f"{directory} has no model.safetensors (or sharded index). Save the model with "
                              "safe_serialization=True (transformers' default).")
    weights = {}
    for name in files:
        weights.update(load_file(os.path.join(directory, name)))
    return config, weights


def bert_tensor_map(config):
    """{Hugging Face name: (tfssl path, transform)} for a BERT encoder of this config.

    tfssl paths are (layer attribute chain, weight index); transforms turn a PyTorch tensor into
    the Keras layout (`t`: transpose a Linear weight)."""
    mapping = {
        "embeddings.word_embeddings.weight": ("embeddings.token_embedding", 0, None),
        "embeddings.position_embeddings.weight": ("embeddings.position_embedding", 0, None),
        "embeddings.token_type_embeddings.weight": ("embeddings.segment_embedding", 0, None),
        "embeddings.LayerNorm.weight": ("embeddings.layer_norm", 0, None),
        "embeddings.LayerNorm.bias": ("embeddings.layer_norm", 1, None),
        "pooler.dense.weight": ("pooler", 0, "t"),
        "pooler.dense.bias": ("pooler", 1, None),
    }
    for i in range(config["num_hidden_layers"]):
        p, b = f"encoder.layer.{i}.", f"blocks.{i}."
        mapping.update({
            p + "attention.output.dense.weight": (b + "output_dense", 0, "t"),
            p + "attention.output.dense.bias": (b + "output_dense", 1, None),
            p + "attention.output.LayerNorm.weight": (b + "attention_layer_norm", 0, None),
            p + "attention.output.LayerNorm.bias": (b + "attention_layer_norm", 1, None),
            p + "intermediate.dense.weight": (b + "intermediate_dense", 0, "t"),
            p + "intermediate.dense.bias": (b + "intermediate_dense", 1, None),
            p + "output.dense.weight": (b + "ffn_output_dense", 0, "t"),
            p + "output.dense.bias": (b + "ffn_output_dense", 1, None),
            p + "output.LayerNorm.weight": (b + "ffn_layer_norm", 0, None),
            p + "output.LayerNorm.bias": (b + "ffn_layer_norm", 1, None),
        })
    return mapping


_HEAD = {
    "cls.predictions.transform.dense.weight": ("transform", 0, "t"),
    "cls.predictions.transform.dense.bias": ("transform", 1, None),
    "cls.predictions.transform.LayerNorm.weight": ("layer_norm", 0, None),
    "cls.predictions.transform.LayerNorm.bias": ("layer_norm", 1, None),
    "cls.predictions.bias": ("output_bias", None, None),
}
_IGNORED = ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias", "embeddings.position_ids",
            "cls.seq_relationship.weight", "cls.seq_relationship.bias")


def load_hf_bert(directory):
    """`(MaskedLMPretrainer, WordPieceTokenizer)` from a Hugging Face BERT directory."""
    from tfssl.models.encoder_backbone import EncoderBackbone
    from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
    from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    config, weights = read_hf_directory(directory)
    model_type = config.get("model_type")
    if model_type not in SUPPORTED:
        raise CheckpointError(f"{directory}: model_type {model_type!r} is not supported here; supported: "
                              f"{', '.join(SUPPORTED)}.")
    if config.get("hidden_act", "gelu") != "gelu":
        raise CheckpointError(f"{directory}: hidden_act {config.get('hidden_act')!r}; only exact GELU BERTs convert.")
    weights = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in weights.items()}
    backbone = EncoderBackbone(
        config["vocab_size"], config["num_hidden_layers"], config["num_attention_heads"], config["hidden_size"],
        config["intermediate_size"], sequence_length=config["max_position_embeddings"],
        num_segments=config.get("type_vocab_size", 2), dropout=0.0, activation="gelu",
        layer_norm_epsilon=config.get("layer_norm_eps", 1e-12), initializer_range=config.get("initializer_range", 0.02),
        position_initializer="truncated_normal", rotary=False,
    )
    pretrainer = MaskedLMPretrainer(backbone)
    pretrainer.build()
    tokenizer_path = os.path.join(directory, "vocab.txt")
    if not os.path.isfile(tokenizer_path):
        raise CheckpointError(f"{directory} has no vocab.txt; a BERT WordPiece vocabulary is needed to serve raw text.")
    lowercase = _lowercase(directory)
    tokenizer = WordPieceTokenizer.from_directory(directory, lowercase=lowercase)
    if tokenizer.vocabulary_size != backbone.vocabulary_size:
        raise CheckpointError(f"{tokenizer_path} has {tokenizer.vocabulary_size} tokens but the embedding table has "
                              f"{backbone.vocabulary_size} rows; the vocabulary does not belong to this checkpoint.")
    _assign(backbone, pretrainer.masked_lm_head, weights, config, directory)
    return pretrainer, tokenizer


def _lowercase(directory):
    path = os.path.join(directory, "tokenizer_config.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            return bool(json.load(f).get("do_lower_case", True))
    return True


def _assign(backbone, head, weights, config, directory):
    """Shape-checked assignment of every mapped tensor; all problems reported at once."""
    mapping = bert_tensor_map(config)
    hidden = config["hidden_size"]
    missing, wrong, values = [], [], {}
    for name, (path, index, transform) in mapping.items():
        if name not in weights:
            if not name.startswith("pooler."):  # masked-LM checkpoints have no pooler: a fresh one stays
                missing.append(name)
            continue
        values[(path, index)] = weights[name].T if transform == "t" else weights[name]
    for i in range(config["num_hidden_layers"]):  # q, k, v -> one fused (hidden, 3 * hidden) projection
        names = [f"encoder.layer.{i}.attention.self.{p}.{w}" for w in ("weight", "bias") for p in ("query", "key", "value")]
        absent = [n for n in names if n not in weights]
        missing.extend(absent)
        if not absent:
            values[(f"blocks.{i}.qkv_dense", 0)] = np.concatenate([weights[n].T for n in names[:3]], axis=1)
            values[(f"blocks.{i}.qkv_dense", 1)] = np.concatenate([weights[n] for n in names[3:]])
    head_present = [n for n in _HEAD if n in weights]
    known = set(mapping) | {n for i in range(config["num_hidden_layers"]) for p in ("query", "key", "value")
                            for n in (f"encoder.layer.{i}.attention.self.{p}.weight",
                                      f"encoder.layer.{i}.attention.self.{p}.bias")} | set(_HEAD) | set(_IGNORED)
    unexpected = sorted(set(weights) - known)
    for (path, index), value in values.items():
        variable = _variable(backbone, path, index)
        if tuple(variable.shape) != value.shape:
            wrong.append(f"{path}[{index}]: checkpoint {value.shape} vs model {tuple(variable.shape)}")
    if head_present and len(head_present) < len(_HEAD):
        missing.extend(sorted(set(_HEAD) - set(head_present)))
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{directory} does not match a BERT of its config.json (hidden {hidden}): "
            + "; ".join(part for part in (
                f"missing {missing[:10]}" if missing else "", f"unexpected {unexpected[:10]}" if unexpected else "",
                f"mis-shaped {wrong[:10]}" if wrong else "") if part)
            + ". Re-save the checkpoint, or fix config.json to describe it."
        )
    for (path, index), value in values.items():
        _variable(backbone, path, index).assign(value)
    for name in head_present:
        path, index, transform = _HEAD[name]
        value = weights[name].T if transform == "t" else weights[name]
        target = head.output_bias if path == "output_bias" else getattr(head, path).weights[index]
        if tuple(target.shape) != value.shape:
            raise CheckpointError(f"{directory}: {name} has shape {value.shape}, the head needs {tuple(target.shape)}.")
        target.assign(value)


def _variable(backbone, path, index):
    obj = backbone
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj.weights[index]


def convert_to_run_directory(directory, run_dir):
    """Writes a tfssl run directory (`model.keras`, `tokenizer/`, `config.json`) from a Hugging
    Face BERT directory, so `tfssl finetune --init_from`, `tfssl experiment few-shot` and
    `tfssl evaluate sts` take it like a pretraining run. Returns `run_dir`."""
    pretrainer, tokenizer = load_hf_bert(directory)
    os.makedirs(os.path.join(run_dir, "tokenizer"), exist_ok=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        if os.path.isfile(os.path.join(directory, name)):
            with open(os.path.join(directory, name), "rb") as src, \
                    open(os.path.join(run_dir, "tokenizer", name), "wb") as dst:
                dst.write(src.read())
    with open(os.path.join(run_dir, "tokenizer", "tfssl_tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump({"converted_from": os.path.abspath(directory), "lowercase": tokenizer.lowercase}, f)
    with open(os.path.join(run_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump({"name": os.path.basename(os.path.normpath(run_dir)), "converted_from": os.path.abspath(directory),
                   "lowercase": tokenizer.lowercase, "sequence_length": pretrainer.backbone.sequence_length}, f, indent=2)
    pretrainer.save(os.path.join(run_dir, "model.keras"))
    return run_dir
