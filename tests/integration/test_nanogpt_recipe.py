"""nanoGPT's CPU shakespeare_char recipe through `tfssl pretrain clm` reaches validation loss
<= 1.88 (slow: about 2.5 minutes on 2 cores; run with `python -m pytest -m slow`)."""

import json
import os

import pytest

from tests.data_locations import benchmark_file, needs_benchmark_data
from tests.helpers import tfssl_cli

RECIPE = ["--tokenizer=character", "--preset=nanogpt_char", "--activation=gelu", "--sequence_length=64",
          "--batch_size=12", "--steps=2000", "--eval_every_steps=250", "--held_out_split=tail",
          "--held_out_fraction=0.1", "--learning_rate=2e-3", "--sample_prompt=ROMEO:"]


@pytest.mark.slow
@needs_benchmark_data("tinyshakespeare", "input.txt")
def test_shakespeare_char_recipe_reaches_nanogpt_validation_loss(tmp_path):
    corpus = benchmark_file("tinyshakespeare", "input.txt")
    cli = tfssl_cli("pretrain", "clm", f"--corpus={corpus}", "--name=shakespeare-char", "--verbose=0", *RECIPE,
                    cwd=str(tmp_path))
    assert cli.returncode == 0, cli.stderr[-3000:]
    metrics = json.loads((tmp_path / "runs" / "shakespeare-char" / "metrics.json").read_text())
    # nanoGPT's measure: mean next-character loss over 64-character windows of the last 10%.
    assert metrics["held_out_blocks"]["loss"] <= 1.88, metrics["held_out_blocks"]
    assert metrics["held_out"]["perplexity"] < 0.3 * metrics["unigram"]["perplexity"]
