"""Preemption: a masked-LM run SIGKILLed mid-epoch after a backup resumes, when the same command
is rerun, from that backup's step (not step 0), with the optimizer's state restored, and ends on
the weights of a run that was never interrupted."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np

import tfssl.models  # noqa: F401  (registers the classes model.keras refers to)
from tests.helpers import FRESH_ENV, copy_sotu_speeches

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def command(name, corpus, vocab_dir, runs):
    return [sys.executable, "-m", "tfssl.cli", "pretrain", "mlm", f"--name={name}", f"--corpus={corpus}",
            f"--tokenizer_dir={vocab_dir}", "--sequence_length=32", "--batch_size=8", "--steps_per_epoch=10",
            "--epochs=3", "--save_freq=4", "--held_out_fraction=0.25", "--jit_compile=false", "--export=false",
            f"--output_dir={runs}", "--verbose=0"]


def test_killed_run_resumes_from_its_backup_and_matches_an_uninterrupted_run(tmp_path, vocab_dir):
    corpus = copy_sotu_speeches(tmp_path / "corpus", count=4)
    runs = tmp_path / "runs"
    full = subprocess.run(command("full", corpus, vocab_dir, runs), capture_output=True, text=True, env=FRESH_ENV,
                          cwd=ROOT, timeout=600)
    assert full.returncode == 0, full.stderr[-3000:]

    killed = subprocess.Popen(command("killed", corpus, vocab_dir, runs), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=FRESH_ENV, cwd=ROOT)
    state = runs / "killed" / "backup" / "backup.json"
    deadline = time.monotonic() + 300
    backed_up = 0
    while time.monotonic() < deadline and killed.poll() is None:
        if state.is_file():
            backed_up = json.loads(state.read_text())["step"]
            if backed_up >= 8:
                killed.send_signal(signal.SIGKILL)
                break
        time.sleep(0.01)
    killed.wait(timeout=60)
    assert killed.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    backed_up = json.loads(state.read_text())["step"]
    assert 8 <= backed_up < 30 and backed_up % 4 == 0

    resumed = subprocess.run(command("killed", corpus, vocab_dir, runs), capture_output=True, text=True,
                             env=FRESH_ENV, cwd=ROOT, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics = json.loads((runs / "killed" / "metrics.json").read_text())
    assert metrics["resumed_from_step"] == backed_up  # at most save_freq steps were lost
    assert metrics["steps"] == 30  # the optimizer's iteration count came back with the weights
    assert not state.exists()  # a finished run leaves no backup to resume

    a = keras.saving.load_model(str(runs / "full" / "model.keras"))
    b = keras.saving.load_model(str(runs / "killed" / "model.keras"))
    differences = [float(np.abs(x.numpy() - y.numpy()).max()) for x, y in zip(a.weights, b.weights)]
    assert len(differences) > 30 and max(differences) < 1e-5, max(differences)
