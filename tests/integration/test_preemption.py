"""Preemption: a masked-LM run SIGKILLed mid-epoch after a backup resumes, when the same command
is rerun, from that backup's step (not step 0), with the optimizer's state restored, and ends on
the weights of a run that was never interrupted."""

import json
import os
import signal
import subprocess

import keras
import numpy as np

import tfssl.models  # noqa: F401  (registers the classes model.keras refers to)
from tests.helpers import FRESH_ENV, copy_sotu_speeches, kill_after_backup, small_mlm_command, two_worker_launch

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def command(name, corpus, vocab_dir, runs):
    return small_mlm_command(name, corpus, vocab_dir, runs)


def test_killed_run_resumes_from_its_backup_and_matches_an_uninterrupted_run(tmp_path, vocab_dir, cli):
    corpus = copy_sotu_speeches(tmp_path / "corpus", count=4)
    runs = tmp_path / "runs"
    full = cli(*command("full", corpus, vocab_dir, runs)[3:], cwd=ROOT)  # uninterrupted, in this process
    assert full.returncode == 0, full.stderr[-3000:]

    killed = subprocess.Popen(command("killed", corpus, vocab_dir, runs), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=FRESH_ENV, cwd=ROOT)
    state = runs / "killed" / "backup" / "backup.json"
    kill_after_backup(killed, state, 8)
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


def worker_pid(launch_pid, index):
    """The pid of worker `index` among the processes `tfssl launch` started."""
    with open(f"/proc/{launch_pid}/task/{launch_pid}/children") as f:
        children = [int(p) for p in f.read().split()]
    for pid in children:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        if json.loads(env[b"TF_CONFIG"])["task"]["index"] == index:
            return pid
    raise LookupError(f"no worker {index} among {children}")


def test_a_killed_worker_stops_the_launch_and_the_rerun_resumes_both_workers_from_one_step(two_worker_mlm_run, vocab_dir):
    """Multi-worker preemption: worker 1 is SIGKILLed mid-epoch, `tfssl launch` stops the chief and
    fails; rerunning it resumes both workers from the newest step they both hold (here worker 1
    is made one save behind the chief when they were level) and ends on the weights of an
    uninterrupted two-worker run (the shared `two_worker_mlm_run`, the same command)."""
    corpus, runs, full = two_worker_mlm_run
    assert full.returncode == 0, full.stdout[-3000:]

    def launch(name):
        return two_worker_launch(command(name, corpus, vocab_dir, runs))

    killed = subprocess.Popen(launch("killed"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=FRESH_ENV, cwd=ROOT)
    chief_backup, worker_backup = runs / "killed" / "backup", runs / "killed" / "workers" / "1" / "backup"
    kill_after_backup(killed, worker_backup / "backup.json", 8,
                      kill=lambda: os.kill(worker_pid(killed.pid, 1), signal.SIGKILL))
    out, _ = killed.communicate(timeout=120)
    assert killed.returncode != 0 and "worker 1 exited with code -9; stopped the other workers" in out, out[-3000:]
    steps = [json.loads((d / "backup.json").read_text())["step"] for d in (chief_backup, worker_backup)]
    if steps[0] == steps[1]:  # level: make worker 1 one save behind, as if killed before its last backup
        for name in ("backup.json", "backup.weights.h5"):
            os.replace(worker_backup / name.replace("backup", "previous"), worker_backup / name)
        steps[1] -= 4
    agreed = min(steps)

    resumed = subprocess.run(launch("killed"), capture_output=True, text=True, env=FRESH_ENV, cwd=ROOT, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    chief = json.loads((runs / "killed" / "metrics.json").read_text())
    other = json.loads((runs / "killed" / "workers" / "1" / "metrics.json").read_text())
    assert chief["resumed_from_step"] == other["resumed_from_step"] == agreed >= 4
    assert chief["steps"] == other["steps"] == 30

    a = keras.saving.load_model(str(runs / "full" / "model.keras"))
    b = keras.saving.load_model(str(runs / "killed" / "model.keras"))
    differences = [float(np.abs(x.numpy() - y.numpy()).max()) for x, y in zip(a.weights, b.weights)]
    print(f"2 workers: worker 1 killed at steps {steps}, both resumed at {agreed}; largest weight difference "
          f"{max(differences):.1e}")
    assert len(differences) > 30 and max(differences) < 1e-5, max(differences)
