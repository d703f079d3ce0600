"""The README quickstart (benchmarks/quickstart_parity.py), shortened: raw speeches in, the loss falls."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from benchmarks.quickstart_parity import quickstart  # noqa: E402


def test_quickstart_learns_from_raw_documents(small_texts, tmp_path):
    pretrainer, history, held_out = quickstart(small_texts[:12], small_texts[12:14], str(tmp_path / "tokenizer"),
                                               vocabulary_size=2000, epochs=3, steps_per_epoch=15, verbose=0)
    backbone = pretrainer.backbone
    assert (backbone.rotary, backbone.dropout, pretrainer.preprocessor.sequence_length) == (True, 0.0, 128)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 1.0, losses  # from ~ln(2000) = 7.6 down
    assert held_out["loss"] < losses[0] - 1.0, held_out  # held-out documents: learned, not memorised
    assert held_out["masked_accuracy"] > 0.02  # chance is 1 / 2000
