"""Export a causal LM as a SavedModel that generates from, and scores, raw strings.

Signatures (plain TensorFlow + TensorFlow Text ops, servable by TF Serving):

* `generate` (= `serving_default`): `prompt` (batch,) strings, `max_new_tokens`, `temperature`,
  `top_k`, `top_p`, `seed` (scalars) -> `completions` (batch,) strings, `token_ids` (batch,
  longest) int32 padded with -1, `num_tokens`, `prompt_tokens` (batch,), `stopped_at_end_of_text`.
  Key/value-cached; `temperature=0` is greedy; prompts longer than the context keep their end
  (see `tfssl.models.text_generator`). Invalid settings fail with INVALID_ARGUMENT and a message.
* `score`: `text` (batch,) strings -> `log_likelihood`, `num_tokens`, `perplexity` (batch,).

The tokenizer files and the run's `config.json` travel in `assets/`.

Example:

>>> export_text_generator(TextGenerator(pretrainer, tokenizer), "saved_models/sotu-gpt", asset_paths)
>>> tfssl generate saved_models/sotu-gpt "The state of the Union"
"""

import os

import tensorflow as tf

from tfssl.export.serving_variables import serving_variables
from tfssl.export.versioning import atomic_version_dir


def export_text_generator(generator, model_dir, asset_paths=()):
    """Writes the next integer version under `model_dir` atomically; returns its path."""
    missing = [p for p in asset_paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(f"Cannot export: asset files missing: {missing}.")
    generator.assets = [tf.saved_model.Asset(p) for p in asset_paths]
    generator.serving_variables = serving_variables(generator.pretrainer, generator.tokenizer)
    generate = generator.generate.get_concrete_function()
    signatures = {"serving_default": generate, "generate": generate, "score": generator.score.get_concrete_function()}
    with atomic_version_dir(model_dir) as target:
        tf.saved_model.save(generator, target.path, signatures=signatures)
    return target.final
