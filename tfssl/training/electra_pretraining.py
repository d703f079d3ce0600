"""The ELECTRA pretraining driver behind `tfssl pretrain electra` (and its Python equivalent).

The masked-LM driver's run with another model: the same prepared corpus, WordPiece vocabulary, per-worker
readers and dynamic masking in tf.data, the same resumable fit; the model is an `ElectraPretrainer`
(generator + discriminator sharing embeddings, replacements sampled inside the train step). After training:
held-out generator masked accuracy and the discriminator's replaced-token accuracy beside the "always
original" baseline; the discriminator is exported as a sentence embedder (`saved_models/<name>/<version>/`),
and `tfssl finetune --init_from=runs/<name>` fine-tunes it like any encoder.

Example:

>>> from tfssl.config import ElectraPretrainConfig
>>> result = run_electra_pretraining(ElectraPretrainConfig(epochs=1))
>>> result["held_out"]["replaced_accuracy"], result["held_out"]["original_baseline_accuracy"]
"""

import os

from tfssl.config import ConfigError, ElectraPretrainConfig
from tfssl.convert.checkpoint_files import is_hf_directory
from tfssl.models.electra_pretrainer import ElectraPretrainer
from tfssl.run_directory import RunDirectory
from tfssl.training.mlm_pretraining import MaskedLMDriver


def run_electra_pretraining(config: ElectraPretrainConfig) -> dict:
    """Runs one ELECTRA pretraining job end to end; returns paths and figures (also in metrics.json)."""
    return ElectraDriver(config).run()


class ElectraDriver(MaskedLMDriver):
    """`tfssl pretrain electra` (see the module docstring)."""

    curve_metrics = ("loss", "replaced_accuracy", "masked_accuracy")

    def check(self):
        config = self.config
        if config.init_from and is_hf_directory(config.init_from):
            raise ConfigError(f"{config.init_from} is a Hugging Face directory; convert the ELECTRA pair first "
                              "(tfssl convert from-hf DISCRIMINATOR --generator GENERATOR) and pass the run directory.")
        super().check()

    def build_model(self):
        config = self.config
        if config.init_from:
            return RunDirectory(config.init_from).electra(self.tokenizer, config.sequence_length)
        masking = {k: getattr(config, k) for k in ("mask_selection_rate", "mask_token_rate", "random_token_rate",
                                                   "whole_word_masking")}
        return ElectraPretrainer.from_preset(
            config.preset, tokenizer=self.tokenizer, sequence_length=config.sequence_length, seed=config.seed,
            preprocessor_kwargs=masking, generator_size=config.generator_size,
            replaced_token_weight=config.replaced_token_weight, max_sequence_length=config.position_table_size,
            dropout=config.dropout, norm_first=config.norm_first, rotary=config.rotary,
            position_initializer=config.position_initializer, **config.size_overrides())

    def compile_arguments(self):
        arguments = super().compile_arguments()
        arguments.pop("gradient_accumulation_steps")
        return arguments

    def evaluate(self):
        result = super().evaluate()
        held_out = result.get("held_out")
        if held_out:
            held_out["original_baseline_accuracy"] = 1.0 - held_out["replaced_fraction"]
            self.log(f"Replaced-token accuracy {held_out['replaced_accuracy']:.4f} against "
                     f"{held_out['original_baseline_accuracy']:.4f} for always answering 'original'.")
        return result

    def export(self):
        config = self.config
        return self.directory.export(config.export_dir, config.name, signature="embed")
