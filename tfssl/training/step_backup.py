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
BACKUPS = ((WEIGHTS, STATE), ("previous.weights.h5", "previous.json"))  # the latest, the one before


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
    """Writes the backup for `step` atomically (see `write_atomically`), keeping the one before it
    as `previous.*` (workers of one run may be killed one save apart; see `restore_backup`). On
    failure the earlier backups are intact and the error says so."""
    os.makedirs(directory, exist_ok=True)
    state = {"step": int(step), "seed_states": [g.state.numpy().tolist() for g in seed_generators(model)]}
    try:
        (weights, state_file), (previous_weights, previous_state) = [
            [os.path.join(directory, name) for name in pair] for pair in BACKUPS]
        if os.path.isfile(weights) and os.path.isfile(state_file):
            os.replace(state_file, previous_state)
            os.replace(weights, previous_weights)
        write_atomically(model.save_weights, weights)
        write_atomically(lambda path: write_json(path, state), state_file)  # last: marks the backup complete
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
    """Loads the latest complete backup in `directory` into `model` (compiled, built) and returns
    its step; 0 when there is none. Weights and state files are paired by the step the weights
    hold, so a kill between the two renames of a rotation loses nothing. Under a multi-worker
    strategy the workers first agree on the newest step they all hold (a worker killed first may
    be one save behind the others), so every worker resumes from the same step."""
    if model.optimizer is not None and not model.optimizer.built:
        with model.distribute_strategy.scope():  # the optimizer's variables belong to the model's strategy
            model.optimizer.build(model.trainable_variables)
    states = {}  # step -> (state file, saved state)
    for _, state in BACKUPS:
        try:
            with open(os.path.join(directory, state), encoding="utf-8") as f:
                saved = json.load(f)
            states[int(saved["step"])] = (os.path.join(directory, state), saved)
        except FileNotFoundError:
            continue
        except (ValueError, KeyError, TypeError):  # torn or foreign: the other file may still do
            continue
    found, errors = {}, []  # step -> (weights, state file, saved state)
    for weights, _ in BACKUPS:
        weights = os.path.join(directory, weights)
        if not os.path.isfile(weights):
            continue
        try:
            model.load_weights(weights)
        except (OSError, ValueError, KeyError) as e:
            errors.append(f"{weights} does not load ({e}).")
            continue
        step = int(model.optimizer.iterations.numpy())
        if step in states:
            found[step] = (weights, *states[step])
        else:
            errors.append(f"{weights} holds optimizer step {step} but the state files say "
                          f"{sorted(states) or 'nothing'}; the backup is inconsistent.")
    if errors and not found:
        raise ValueError(f"{errors[0]} Delete {directory} to start over.")
    step = max(found, default=0)
    from tfssl.training.keras_multi_worker import in_multi_worker_mode

    if in_multi_worker_mode(model.distribute_strategy):
        step = _step_every_worker_holds(model.distribute_strategy, step)
        if step and step not in found:
            raise ValueError(f"The other workers resume from step {step}, but {directory} holds steps "
                             f"{sorted(found) or 'none'}. Delete the backup/ directories of every worker to start "
                             "over.")
    if step:
        _load(model, *found[step])
    return step


def _load(model, weights, state, saved):
    """Loads one backup (weights, then dropout's random state) into `model`."""
    model.load_weights(weights)
    generators, seed_states = seed_generators(model), saved.get("seed_states")
    if seed_states is None:  # a backup from before tfssl kept them: the weights still resume
        return
    if len(generators) != len(seed_states):
        raise ValueError(f"{state} holds {len(seed_states)} random-seed states but the model has {len(generators)}; "
                         f"the backup is from another model. Delete {os.path.dirname(state)} to start over.")
    for generator, value in zip(generators, seed_states):
        generator.state.assign(np.asarray(value, dtype=generator.state.dtype))


def _step_every_worker_holds(strategy, step):
    """The smallest of the workers' latest backup steps (one all-gather across the cluster)."""
    import tensorflow as tf

    @tf.function
    def gather():
        return tf.distribute.get_replica_context().all_gather(tf.constant([step], tf.int64), axis=0)

    steps = strategy.experimental_local_results(strategy.run(gather))[0]  # (replicas,) every replica's step
    return int(tf.reduce_min(steps))


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
    for name in (name for pair in BACKUPS for name in pair):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            os.remove(path)
