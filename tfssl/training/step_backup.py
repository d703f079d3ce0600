"""Step-level backups that a rerun of the same command resumes from, to the step.

`StepBackup` saves the model's and the optimizer's variables (moments, iteration count, hence the
learning-rate schedule's position) every `save_freq` optimizer steps, with the global step and
the dropout layers' random-seed states beside them. Both files are written under temporary names
and renamed into place, so a process killed mid-save leaves the previous backup whole.
`restore_backup` loads it back and returns the step; the driver then restarts its data stream at
that step (`ResumableFit`), so the resumed run trains on exactly the batches the lost process
would have, and loses at most `save_freq` steps of work.

Keras' `BackupAndRestore` restores the epoch only: a run killed mid-epoch repeats that epoch's
first batches and ends on different weights; that is why tfssl has its own.
"""

import json
import math
import os

import keras
import numpy as np

WEIGHTS = "backup.weights.h5"
STATE = "backup.json"


class StepBackup(keras.callbacks.Callback):
    """Backs up every `save_freq` steps into `directory` (see the module docstring)."""

    def __init__(self, directory, save_freq):
        super().__init__()
        if int(save_freq) < 1:
            raise ValueError(f"save_freq must be >= 1 step, got {save_freq}.")
        self.directory = directory
        self.save_freq = int(save_freq)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        loss = (logs or {}).get("loss", 0.0)
        if step % self.save_freq == 0 and math.isfinite(float(loss)):  # never back up a diverged state
            save_backup(self.model, self.directory, step)


def save_backup(model, directory, step):
    """Writes the backup for `step` atomically (see `write_atomically`); on failure the previous
    backup is untouched and the error says so."""
    os.makedirs(directory, exist_ok=True)
    try:
        write_atomically(model.save_weights, os.path.join(directory, WEIGHTS))
        state = {"step": int(step), "seed_states": [g.state.numpy().tolist() for g in seed_generators(model)]}
        write_atomically(lambda path: write_json(path, state), os.path.join(directory, STATE))
    except OSError as e:
        raise OSError(f"Could not write the backup in {directory} ({e}); the previous backup is intact. Free disk "
                      "space and rerun the same command: it resumes from that backup.") from e


def save_model_file(model, path):
    """`model.save(path)` (a `.keras` file) atomically: a failed save leaves the old file whole."""
    try:
        write_atomically(model.save, path)
    except OSError as e:
        raise OSError(f"Could not write {path} ({e}); any earlier {os.path.basename(path)} is intact. Free disk "
                      "space and rerun the same command.") from e


def write_atomically(write, path):
    """Calls `write(scratch_path)` in memory-backed scratch space, copies the result beside `path`
    under a temporary name with plain file I/O, then renames it over `path`. A full disk surfaces as
    an `OSError` from the copy (HDF5 writing straight into a full disk can crash the process) and
    leaves `path` as it was."""
    import shutil
    import tempfile

    scratch = tempfile.mkdtemp(prefix="tfssl-save-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    partial = os.path.join(os.path.dirname(path) or ".", "partial." + os.path.basename(path))
    try:
        staged = os.path.join(scratch, os.path.basename(path))
        write(staged)
        shutil.copyfile(staged, partial)
        os.replace(partial, path)
    except OSError:
        if os.path.lexists(partial):
            os.remove(partial)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f)


def restore_backup(model, directory):
    """Loads the backup in `directory` into `model` (compiled, built) and returns its step; 0 when none."""
    weights, state = os.path.join(directory, WEIGHTS), os.path.join(directory, STATE)
    if not (os.path.isfile(weights) and os.path.isfile(state)):
        return 0
    with open(state, encoding="utf-8") as f:
        saved = json.load(f)
    step = int(saved["step"])
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(weights)
    restored = int(model.optimizer.iterations.numpy())
    if restored != step:
        raise ValueError(f"{weights} holds optimizer step {restored} but {state} says {step}; the backup is "
                         f"inconsistent. Delete {directory} to start over.")
    generators, seed_states = seed_generators(model), saved.get("seed_states")
    if seed_states is None:  # a backup from before tfssl kept them: the weights still resume
        return step
    if len(generators) != len(seed_states):
        raise ValueError(f"{state} holds {len(seed_states)} random-seed states but the model has {len(generators)}; "
                         f"the backup is from another model. Delete {directory} to start over.")
    for generator, value in zip(generators, seed_states):
        generator.state.assign(np.asarray(value, dtype=generator.state.dtype))
    return step


def seed_generators(model):
    """The model's Keras `SeedGenerator`s (dropout's random state), in a fixed order. Their state
    is not part of `save_weights`; a backup keeps it, so a resumed run draws the dropout masks an
    uninterrupted one would have."""
    found, seen = [], set()
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for generator in getattr(layer, "_seed_generators", ()):
            if id(generator) not in seen:
                seen.add(id(generator))
                found.append(generator)
    return found


def remove_backup(directory):
    """Deletes a finished run's backup (a rerun after success starts a new run, not a resume)."""
    for name in (WEIGHTS, STATE):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            os.remove(path)
