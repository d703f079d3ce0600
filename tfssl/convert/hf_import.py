"""Hugging Face model directories -> tfssl models (and run directories).

    pretrainer, tokenizer, architecture = load_hf_model("all-MiniLM-L6-v2/")
    convert_to_run_directory("all-MiniLM-L6-v2/", "runs/minilm")   # then --init_from=runs/minilm

Encoders (BERT, RoBERTa, DistilBERT, an ELECTRA generator) become a `MaskedLMPretrainer`, decoders
(GPT-2) a `CausalLMPretrainer`, an ELECTRA discriminator an `ElectraPretrainer` (see `hf_electra`,
which also converts a discriminator + generator pair). A masked-LM head in the checkpoint is loaded;
without one (a base model such as a sentence-transformers checkpoint) the head starts fresh, tied to
the token embeddings.
WordPiece vocabularies (`vocab.txt`) become tfssl's in-graph WordPiece with the checkpoint's
lower-casing, byte-level BPE (GPT-2, RoBERTa: `tokenizer.json` or `vocab.json` + `merges.txt`)
tfssl's in-graph `ByteLevelBPETokenizer`, so converted models take raw strings. (tfssl's encoder
pipelines read WordPiece only, so RoBERTa fine-tunes and serves by token ids for now.)
"""

import json
import os
import shutil
import tempfile

import numpy as np

from tfssl.convert.checkpoint_files import TOKENIZER_FILES, CheckpointError, read_hf_config, read_hf_directory
from tfssl.convert.hf_architectures import (
    IGNORED_SUFFIXES,
    architecture_for,
    backbone_arguments,
    backbone_links,
    electra_generator_problem,
    electra_role,
)
from tfssl.convert.tensor_links import assign, plan_assignment
from tfssl.run_directory import RunDirectory


def load_hf_model(directory):
    """`(pretrainer, tokenizer or None, architecture)` from a Hugging Face model directory. An ELECTRA
    discriminator (`ElectraForPreTraining` or a base `ElectraModel`) becomes an `ElectraPretrainer` with a fresh
    generator (`hf_electra.load_hf_electra`); an ELECTRA generator (`ElectraForMaskedLM`) a `MaskedLMPretrainer`."""
    from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer
    from tfssl.models.decoder_backbone import DecoderBackbone
    from tfssl.models.encoder_backbone import EncoderBackbone
    from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer

    directory = str(directory)
    config, weights = read_hf_directory(directory)
    architecture = architecture_for(config, directory)
    weights = strip_prefix(weights, architecture.prefix)
    if architecture.model_type == "electra":
        if electra_role(weights) != "generator":
            from tfssl.convert.hf_electra import electra_from_checkpoints

            return electra_from_checkpoints((directory, config, weights))
        problem = electra_generator_problem(config.get("hidden_act", "gelu"))
        if problem:
            raise CheckpointError(f"{directory}: {problem}.")
    arguments = backbone_arguments(architecture, config, directory)
    if architecture.kind == "encoder":
        pretrainer = MaskedLMPretrainer(EncoderBackbone(**arguments))
    else:
        pretrainer = CausalLMPretrainer(DecoderBackbone(**arguments))
    pretrainer.build()
    tokenizer = load_hf_tokenizer(directory, pretrainer.backbone.vocabulary_size)

    links = backbone_links(architecture, config) + list(architecture.head_links)
    check_tied(directory, architecture, weights)
    ignored = [n for n in weights if n.endswith(IGNORED_SUFFIXES)] + list(architecture.tied_names)
    assign(pretrainer, checked_plan(directory, architecture, pretrainer, links, weights, ignored))
    return pretrainer, tokenizer, architecture


def strip_prefix(weights, prefix):
    """`weights` with the task class's `prefix` ("bert.", "electra.", ...) taken off the base model's names."""
    return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in weights.items()}


def check_tied(directory, architecture, weights):
    """Refuses a checkpoint whose output projection is stored apart from the token embedding with other
    values: tfssl's heads are tied to the embedding, so an untied one cannot convert."""
    embedding = weights.get("wte.weight" if architecture.kind == "decoder" else "embeddings.word_embeddings.weight")
    for name in architecture.tied_names:
        if name in weights and embedding is not None and not np.array_equal(weights[name], embedding):
            raise CheckpointError(f"{directory}: {name} differs from the token embedding (an untied output layer); "
                                  "tfssl ties them. Convert a checkpoint saved with tie_word_embeddings=true.")


def checked_plan(directory, architecture, model, links, weights, ignored):
    """`plan_assignment`'s values, or a `CheckpointError` listing every missing, unexpected and mis-shaped tensor."""
    values, problems = plan_assignment(model, links, weights, ignored)
    if problems:
        raise CheckpointError(f"{directory} does not match a {architecture.model_type} of its config.json: "
                              + "; ".join(problems) + ". Re-save the checkpoint, or fix config.json to describe it.")
    return values


def hf_lowercase(directory):
    """Whether the checkpoint's tokenizer lower-cases (tokenizer_config.json, else tokenizer.json)."""
    path = os.path.join(directory, "tokenizer_config.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            settings = json.load(f)
        if "do_lower_case" in settings:
            return bool(settings["do_lower_case"])
    path = os.path.join(directory, "tokenizer.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            normalizer = json.load(f).get("normalizer") or {}
        if "lowercase" in normalizer:
            return bool(normalizer["lowercase"])
    return True


def tokenizer_kind(directory):
    """"wordpiece" (vocab.txt), "byte_level_bpe" (tokenizer.json with a byte-level BPE, or
    vocab.json + merges.txt), or None (no tokenizer tfssl can run in the graph)."""
    if os.path.isfile(os.path.join(directory, "vocab.txt")):
        return "wordpiece"
    if os.path.isfile(os.path.join(directory, "vocab.json")) and os.path.isfile(os.path.join(directory, "merges.txt")):
        return "byte_level_bpe"
    path = os.path.join(directory, "tokenizer.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        if (spec.get("model") or {}).get("type") == "BPE" and "ByteLevel" in json.dumps(spec.get("pre_tokenizer")):
            return "byte_level_bpe"
    return None


def load_hf_tokenizer(directory, vocabulary_size):
    """tfssl's in-graph tokenizer for the checkpoint's files (WordPiece from `vocab.txt`, with
    its lower-casing; byte-level BPE from `tokenizer.json` or `vocab.json` + `merges.txt`), or
    None for a model without either."""
    from tfssl.tokenizers.byte_level_bpe_tokenizer import ByteLevelBPETokenizer
    from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    kind = tokenizer_kind(directory)
    if kind is None:
        return None
    if kind == "wordpiece":
        tokenizer = WordPieceTokenizer.from_directory(directory, lowercase=hf_lowercase(directory))
    else:
        tokenizer = ByteLevelBPETokenizer.from_directory(directory)
    if tokenizer.vocabulary_size != vocabulary_size:
        raise CheckpointError(f"The tokenizer in {directory} has {tokenizer.vocabulary_size} tokens but the embedding "
                              f"table has {vocabulary_size} rows; the vocabulary does not belong to this checkpoint.")
    return tokenizer


def copy_tokenizer_files(directory, target, lowercase):
    """Copies the checkpoint's tokenizer files into `target` with tfssl's settings file."""
    os.makedirs(target, exist_ok=True)
    for name in TOKENIZER_FILES:
        if os.path.isfile(os.path.join(directory, name)):
            shutil.copy(os.path.join(directory, name), os.path.join(target, name))
    settings = {"converted_from": os.path.abspath(directory), "lowercase": lowercase}
    if tokenizer_kind(directory) == "byte_level_bpe":
        settings["type"] = "byte_level_bpe"  # read by load_decoder_tokenizer
    with open(os.path.join(target, "tfssl_tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(settings, f)


def convert_to_run_directory(directory, run_dir, generator_dir=None):
    """Writes a tfssl run directory from a Hugging Face model directory: `model.keras`,
    `tokenizer/`, `hf_config.json` (the checkpoint's config, reused on export) and `config.json`.
    `tfssl finetune --init_from`, `tfssl pretrain mlm|electra --init_from`, `tfssl evaluate sts` and
    `tfssl convert to-hf` then take it like a pretraining run. With `generator_dir`, `directory` is an
    ELECTRA discriminator and the two become one `ElectraPretrainer` (`hf_electra.load_hf_electra`).
    Written in a temporary directory and renamed into place; an existing non-empty `run_dir` is
    refused. Returns `run_dir`."""
    directory, run_dir = str(directory), os.path.abspath(str(run_dir))
    if os.path.isdir(run_dir) and os.listdir(run_dir):
        raise CheckpointError(f"{run_dir} already exists and is not empty; choose another --name or --output-dir.")
    if generator_dir is None:
        pretrainer, tokenizer, architecture = load_hf_model(directory)
    else:
        from tfssl.convert.hf_electra import load_hf_electra

        generator_dir = str(generator_dir)
        pretrainer, tokenizer, architecture = load_hf_electra(directory, generator_dir)
    tokenizer_source = directory if tokenizer_kind(directory) or generator_dir is None else generator_dir
    lowercase = hf_lowercase(tokenizer_source)
    os.makedirs(os.path.dirname(run_dir), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(run_dir) + "-", dir=os.path.dirname(run_dir))
    try:
        staged = RunDirectory(staging)
        copy_tokenizer_files(tokenizer_source, staged.tokenizer_dir, lowercase)
        staged.write_json(RunDirectory.HF_CONFIG, read_hf_config(directory))  # the generator's: the same but sizes
        settings = {"name": os.path.basename(run_dir), "converted_from": os.path.abspath(directory),
                    "hf_model_type": architecture.model_type, "lowercase": lowercase,
                    "in_graph_tokenizer": tokenizer is not None,
                    # Embedding/evaluation length (the position table stays whole); 128 is what
                    # sentence-transformers checkpoints' tokenizer.json truncate to.
                    "sequence_length": min(pretrainer.backbone.max_sequence_length, 128)}
        if generator_dir is not None:
            settings["converted_generator_from"] = os.path.abspath(generator_dir)
        staged.write_json(RunDirectory.CONFIG, settings)
        pretrainer.save(staged.model_file)
        if os.path.isdir(run_dir):
            os.rmdir(run_dir)
        os.rename(staging, run_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return run_dir
