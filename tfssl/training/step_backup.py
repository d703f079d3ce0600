"""Step-level backups that a rerun of the same command resumes from, to the step.

`StepBackup` saves the model's and the optimizer's variables (moments, iteration count, hence the
learning-rate schedule's position) every `save_freq` optimizer steps, with the global step beside
them. Both files are written under temporary names and renamed into place, so a process killed
mid-save leaves the previous backup whole. `restore_backup` loads it back and returns the step;
the driver then restarts its data stream at that step (`resumable_mask_batches(start_step=...)`),
so the resumed run trains on exactly the batches the lost process would have, and loses at most
`save_freq` steps of work.

Keras' `BackupAndRestore` restores the epoch only: a run killed mid-epoch repeats that epoch's
first batches and ends on different weights; that is why tfssl has its own.
"""

import json
import os

import keras

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
        if step % self.save_freq == 0:
            save_backup(self.model, self.directory, step)


def save_backup(model, directory, step):
    """Writes the backup for `step` atomically (temporary files renamed over the old ones)."""
    os.makedirs(directory, exist_ok=True)
    weights, state = os.path.join(directory, WEIGHTS), os.path.join(directory, STATE)
    partial = os.path.join(directory, "partial." + WEIGHTS)
    try:
        model.save_weights(partial)
        with open(state + ".partial", "w", encoding="utf-8") as f:
            json.dump({"step": int(step)}, f)
        os.replace(partial, weights)
        os.replace(state + ".partial", state)
    except OSError as e:
        for path in (partial, state + ".partial"):
            if os.path.exists(path):
                os.remove(path)
        raise OSError(f"Could not write the backup in {directory} ({e}); the previous backup is intact. Free disk "
                      "space and rerun the same command: it resumes from that backup.") from e


def restore_backup(model, directory):
    """Loads the backup in `directory` into `model` (compiled, built) and returns its step; 0 when none."""
    weights, state = os.path.join(directory, WEIGHTS), os.path.join(directory, STATE)
    if not (os.path.isfile(weights) and os.path.isfile(state)):
        return 0
    with open(state, encoding="utf-8") as f:
        step = int(json.load(f)["step"])
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(weights)
    restored = int(model.optimizer.iterations.numpy())
    if restored != step:
        raise ValueError(f"{weights} holds optimizer step {restored} but {state} says {step}; the backup is "
                         f"inconsistent. Delete {directory} to start over.")
    return step


def remove_backup(directory):
    """Deletes a finished run's backup (a rerun after success starts a new run, not a resume)."""
    for name in (WEIGHTS, STATE):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            os.remove(path)
