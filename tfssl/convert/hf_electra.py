"""Hugging Face ELECTRA in and out: a discriminator (`ElectraForPreTraining`, or a base `ElectraModel`) and
its generator (`ElectraForMaskedLM`) <-> one tfssl `ElectraPretrainer`.

    pretrainer, tokenizer, architecture = load_hf_electra("electra-small-discriminator/",
                                                          "electra-small-generator/")
    export_to_hf("runs/electra", "hf/electra", "electra")   # hf/electra/ + hf/electra/generator/

tfssl's generator shares the discriminator's whole embedding layer (tokens, positions, segments and their
LayerNorm), as ELECTRA pretrains and as Google's released pairs hold them; transformers keeps a copy in each
checkpoint. A pair is checked from its config.json and vocabulary files before any weights are read (one
vocabulary, one embedding width, the same shared settings, a generator no larger than the discriminator),
then the generator's embeddings against the discriminator's. Differing embeddings are an error, not a
warning: the generator would run on embeddings it was not trained with and propose poor replacements, and
continued pretraining would degrade with nothing in its logs to say why.

A discriminator alone gets a fresh generator `GENERATOR_SIZE` (1/4) as wide: the paper's choice for its small
and large models (1/3 for base; 1/4 to 1/2 did best in its Figure 3), and the scale the model card of
google/electra-small-generator recommends in place of that release (as large as its discriminator). A
generator alone converts as a `MaskedLMPretrainer` (`load_hf_model`), as a BERT does.
"""

import dataclasses
import os
import shutil
import types

import numpy as np

from tfssl.convert.checkpoint_files import CheckpointError, read_hf_config, read_hf_directory, write_hf_directory
from tfssl.convert.hf_architectures import (
    ARCHITECTURES,
    ELECTRA_DISCRIMINATOR_CLASS,
    ELECTRA_DISCRIMINATOR_HEAD_LINKS,
    IGNORED_SUFFIXES,
    backbone_arguments,
    backbone_links,
    electra_generator_problem,
    electra_role,
    export_problems,
    hf_config_for,
)
from tfssl.convert.hf_import import check_tied, checked_plan, hf_lowercase, load_hf_tokenizer, strip_prefix
from tfssl.convert.tensor_links import assign, collect

GENERATOR_SIZE = 0.25
GENERATOR_DIR = "generator"  # the generator's folder inside an exported pair
# Settings the generator takes from the discriminator (`ElectraPretrainer`): a pair must agree on them.
SHARED_SETTINGS = {"max_sequence_length": "max_position_embeddings", "num_segments": "type_vocab_size",
                   "layer_norm_epsilon": "layer_norm_eps", "activation": "hidden_act"}
_EMBEDDINGS = "backbone.embeddings."  # tfssl paths of the shared embedding layer
_ALONE = ("Convert the discriminator alone (tfssl convert from-hf DISCRIMINATOR: a fresh generator learns on its "
          "embeddings) or give the generator trained with it")


def load_hf_electra(discriminator_dir, generator_dir=None, generator_size=GENERATOR_SIZE):
    """`(ElectraPretrainer, tokenizer or None, architecture)` from an ELECTRA discriminator directory and,
    optionally, its generator's (sizes from the generator's config.json); without one the generator is fresh,
    `generator_size` times as wide. Every pair check on files runs before any weights are read."""
    discriminator_dir = str(discriminator_dir)
    if generator_dir is not None:
        generator_dir = str(generator_dir)
        check_electra_pair(discriminator_dir, read_hf_config(discriminator_dir),
                           generator_dir, read_hf_config(generator_dir))
    generator = None if generator_dir is None else (generator_dir,) + _electra_checkpoint(generator_dir)
    return electra_from_checkpoints((discriminator_dir,) + _electra_checkpoint(discriminator_dir), generator,
                                    generator_size)


def _electra_checkpoint(directory):
    """`(config, weights)` of an ELECTRA directory, `electra.` taken off the base model's names."""
    config, weights = read_hf_directory(directory)
    _require_electra(directory, config)
    return config, strip_prefix(weights, ARCHITECTURES["electra"].prefix)


def _require_electra(directory, config):
    if config.get("model_type") != "electra":
        raise CheckpointError(f"{directory}/config.json has model_type {config.get('model_type')!r}, not 'electra'; "
                              "convert it alone (tfssl convert from-hf DIRECTORY, without --generator).")


def check_electra_pair(discriminator_dir, discriminator_config, generator_dir, generator_config):
    """Raises a `CheckpointError` naming both directories and the fix when the generator cannot share the
    discriminator's embeddings and settings. Reads config.json and vocabulary files only."""
    for directory, config in ((discriminator_dir, discriminator_config), (generator_dir, generator_config)):
        _require_electra(directory, config)
    architecture = ARCHITECTURES["electra"]
    ours = backbone_arguments(architecture, discriminator_config, discriminator_dir)
    theirs = backbone_arguments(architecture, generator_config, generator_dir)
    pair = f"{generator_dir} cannot be the generator of {discriminator_dir}"
    if ours["vocabulary_size"] != theirs["vocabulary_size"]:
        raise CheckpointError(f"{pair}: their vocabularies differ (vocab_size {theirs['vocabulary_size']} vs "
                              f"{ours['vocabulary_size']} in config.json), and ELECTRA's two models share one "
                              f"embedding table. {_ALONE}.")
    _check_vocabulary_files(pair, discriminator_dir, generator_dir)
    if ours["embedding_dim"] != theirs["embedding_dim"]:
        raise CheckpointError(f"{pair}: embedding_size {theirs['embedding_dim']} vs {ours['embedding_dim']} in "
                              f"config.json, and the two models share one embedding layer. {_ALONE}.")
    differing = [f"{hf} {generator_config.get(hf)!r} vs {discriminator_config.get(hf)!r}"
                 for ours_name, hf in SHARED_SETTINGS.items() if ours[ours_name] != theirs[ours_name]]
    if differing:
        raise CheckpointError(f"{pair}: config.json differs in {', '.join(differing)}; tfssl's generator takes "
                              f"these from the discriminator. {_ALONE}.")
    problem = electra_generator_problem(generator_config.get("hidden_act", "gelu"))
    if problem:
        raise CheckpointError(f"{generator_dir}: {problem}.")
    from tfssl.models.electra_pretrainer import GENERATOR_SIZES, check_generator

    sizes = {k: theirs[k] for k in GENERATOR_SIZES}
    try:  # sizes only: the vocabulary and embedding width were checked above, with the files named
        check_generator(types.SimpleNamespace(**ours, token_embedding_dim=ours["embedding_dim"]), sizes)
    except ValueError as e:
        raise CheckpointError(f"{pair}: {e}") from e


def _check_vocabulary_files(pair, discriminator_dir, generator_dir):
    """Both `vocab.txt` files (where both have one) must list the same tokens and lower-case alike."""
    paths = [os.path.join(d, "vocab.txt") for d in (discriminator_dir, generator_dir)]
    if not all(os.path.isfile(p) for p in paths):
        return
    ours, theirs = (_lines(p) for p in paths)
    if ours != theirs:
        line = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
        raise CheckpointError(f"{pair}: {paths[1]} and {paths[0]} differ (first at line {line + 1}); the two models "
                              f"must share one tokenizer. {_ALONE}.")
    if hf_lowercase(discriminator_dir) != hf_lowercase(generator_dir):
        raise CheckpointError(f"{pair}: one tokenizer lower-cases and the other does not (tokenizer_config.json "
                              f"do_lower_case); they must tokenize alike. {_ALONE}.")


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def electra_from_checkpoints(discriminator, generator=None, generator_size=GENERATOR_SIZE):
    """`(ElectraPretrainer, tokenizer or None, architecture)` from checkpoints already read, each
    `(directory, config, weights)` with `electra.` taken off the base model's names (`load_hf_model` hands a
    lone discriminator here). Files are checked by `check_electra_pair` first when there is a generator."""
    from tfssl.models.electra_pretrainer import GENERATOR_SIZES, ElectraPretrainer, generator_sizes
    from tfssl.models.encoder_backbone import EncoderBackbone

    architecture = ARCHITECTURES["electra"]
    directory, config, weights = discriminator
    if electra_role(weights) == "generator":
        raise CheckpointError(f"{directory} is an ELECTRA generator ({architecture.head_class}). Convert it alone "
                              "(a masked-LM run), or give it as the generator: tfssl convert from-hf DISCRIMINATOR "
                              f"--generator {directory}.")
    embedding_links = [link for link in backbone_links(architecture, config) if link.path.startswith(_EMBEDDINGS)]
    if generator is not None:
        generator_dir, generator_config, generator_weights = generator
        if electra_role(generator_weights) != "generator":
            head = sorted({n.split(".")[0] + ".*" for link in architecture.head_links for n in link.hf_names})
            raise CheckpointError(f"{generator_dir} has no generator head ({', '.join(head)}); give an "
                                  f"{architecture.head_class} checkpoint as the generator.")
        check_tied(generator_dir, architecture, generator_weights)
        _check_shared_embeddings(discriminator, generator, embedding_links)
    backbone = EncoderBackbone(**backbone_arguments(architecture, config, directory))
    if generator is None:
        sizes = generator_sizes(backbone, generator_size)
    else:
        arguments = backbone_arguments(architecture, generator_config, generator_dir)
        sizes = {k: arguments[k] for k in GENERATOR_SIZES}
    pretrainer = ElectraPretrainer(backbone, sizes)
    pretrainer.build()
    vocabulary_size = backbone.vocabulary_size
    tokenizer = load_hf_tokenizer(directory, vocabulary_size)
    if tokenizer is None and generator is not None:
        tokenizer = load_hf_tokenizer(generator_dir, vocabulary_size)

    ignored = lambda names: [n for n in names if n.endswith(IGNORED_SUFFIXES)]
    links = backbone_links(architecture, config) + list(ELECTRA_DISCRIMINATOR_HEAD_LINKS)
    values = checked_plan(directory, architecture, pretrainer, links, weights, ignored(weights))
    if generator is not None:  # its embeddings are the discriminator's (checked equal above): not assigned again
        links = generator_links(architecture, generator_config, with_embeddings=False)
        shared = [n for link in embedding_links for n in link.hf_names] + list(architecture.tied_names)
        values.update(checked_plan(generator_dir, architecture, pretrainer, links, generator_weights,
                                   ignored(generator_weights) + shared))
    assign(pretrainer, values)
    return pretrainer, tokenizer, architecture


def generator_links(architecture, config, with_embeddings=True):
    """The generator's TensorLinks: an `ElectraForMaskedLM`'s names (as a `MaskedLMPretrainer`'s) with tfssl
    paths under `generator` and `generator_head`. Its embedding layer is the discriminator's, so
    `generator.embeddings` reaches the shared variables (`with_embeddings=False` leaves them out)."""
    links = backbone_links(architecture, config) + list(architecture.head_links)
    links = [link for link in links if with_embeddings or not link.path.startswith(_EMBEDDINGS)]
    retarget = lambda path: ("generator." + path[len("backbone."):] if path.startswith("backbone.")
                             else "generator_head." + path[len("masked_lm_head."):])
    return [dataclasses.replace(link, path=retarget(link.path)) for link in links]


def _check_shared_embeddings(discriminator, generator, embedding_links):
    """The generator's embedding tensors must equal the discriminator's (up to float16 rounding, rtol 1e-3)."""
    (directory, _, weights), (generator_dir, _, generator_weights) = discriminator, generator
    differing = []
    for name in (n for link in embedding_links for n in link.hf_names):
        if name not in weights:
            continue  # reported as missing by the discriminator's plan
        if name not in generator_weights:
            differing.append(f"{name} (missing)")
            continue
        ours, theirs = (np.asarray(w[name], np.float32) for w in (weights, generator_weights))
        if ours.shape != theirs.shape:
            differing.append(f"{name} {theirs.shape} vs {ours.shape}")
        elif not np.allclose(theirs, ours, rtol=1e-3, atol=1e-6):
            differing.append(f"{name} (max |difference| {np.abs(theirs - ours).max():.3g})")
    if differing:
        raise CheckpointError(
            f"The embeddings of {generator_dir} differ from those of {directory}: {'; '.join(differing)}. tfssl's "
            "generator shares the discriminator's embedding layer, as ELECTRA pretrains, so these two were not "
            f"trained together (or one was trained further alone). {_ALONE}, or convert the generator alone "
            "(a masked-LM run).")


def export_electra_pretrainer(model, output_dir, base=None, special_ids=None, tokenizer_files=(), where="the model"):
    """Writes `model`'s discriminator as `ElectraForPreTraining` into `output_dir` and its generator as
    `ElectraForMaskedLM` into `output_dir/generator/`, each with `tokenizer_files`, so `from_pretrained` loads
    both; all or nothing (a failed generator write removes `output_dir`). `base`: the discriminator's
    config.json a converted run kept (the generator's differs only in sizes). Returns a summary."""
    architecture = ARCHITECTURES["electra"]
    problems = (export_problems(architecture, model.backbone)
                + [f"its generator: {p}" for p in export_problems(architecture, model.generator, with_head=True)])
    if problems:
        raise CheckpointError(f"{where} cannot be written as electra: " + "; ".join(problems) + ".")
    config = hf_config_for(architecture, model.backbone, base, special_ids)
    config["architectures"] = [ELECTRA_DISCRIMINATOR_CLASS]
    weights = _hf_weights(model, backbone_links(architecture, config) + list(ELECTRA_DISCRIMINATOR_HEAD_LINKS),
                          architecture.prefix)
    generator_config = hf_config_for(architecture, model.generator, base, special_ids)
    generator_config["architectures"] = [architecture.head_class]
    generator_weights = _hf_weights(model, generator_links(architecture, generator_config), architecture.prefix)
    write_hf_directory(output_dir, config, weights, tokenizer_files)
    generator_dir = os.path.join(output_dir, GENERATOR_DIR)
    try:
        write_hf_directory(generator_dir, generator_config, generator_weights, tokenizer_files)
    except BaseException:
        shutil.rmtree(output_dir, ignore_errors=True)
        raise
    return {"directory": os.path.abspath(output_dir), "model_type": "electra", "class": ELECTRA_DISCRIMINATOR_CLASS,
            "tensors": len(weights), "tokenizer_files": [os.path.basename(p) for p in tokenizer_files],
            "generator": {"directory": os.path.abspath(generator_dir), "class": architecture.head_class,
                          "tensors": len(generator_weights)}}


def _hf_weights(model, links, prefix):
    """`{hf name: array}` of the links' backbone and head groups, `prefix` on the base model's names."""
    head = {n for link in links if link.group == "head" for n in link.hf_names}
    return {(n if n in head else prefix + n): a for n, a in collect(model, links, ("backbone", "head")).items()}
