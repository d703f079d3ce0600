"""The best epoch's weights, kept atomically and remembered across a resume.

Keras' `ModelCheckpoint(save_best_only=True)` writes in place (a kill or a full disk mid-save
leaves a broken file where the best weights were) and forgets its best score when the process
ends, so a resumed run overwrites the best checkpoint with its first epoch, however bad.

Example:

>>> callbacks = [BestCheckpoint("runs/x/checkpoint.weights.h5", monitor="val_loss", resume=fit.resumed)]
"""

import json
import math
import os

import keras

from tfssl.training.step_backup import write_atomically, write_json


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the weights to `path` whenever the epoch-end `monitor` beats the best so far; a
    NaN/Inf score never does. Written atomically (a full disk or a kill mid-save leaves the
    previous best whole); the best score is kept in `path`.json so a resumed run compares with
    the epochs before the interruption, not from scratch."""

    def __init__(self, path, monitor="val_loss", mode="min", resume=False):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be min or max, got {mode!r}.")
        self.path, self.monitor, self.mode = path, monitor, mode
        self.best = None
        if resume and os.path.isfile(path + ".json"):
            with open(path + ".json", encoding="utf-8") as f:
                self.best = json.load(f)["best"]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        value = float(value)
        if self.best is not None and (value >= self.best if self.mode == "min" else value <= self.best):
            return
        try:
            write_atomically(self.model.save_weights, self.path)
            write_atomically(lambda p: write_json(p, {"best": value, "monitor": self.monitor, "epoch": epoch + 1}),
                             self.path + ".json")
        except OSError as e:
            raise OSError(f"Could not write {self.path} ({e}); the previous best checkpoint is intact. Free disk "
                          "space and rerun the same command: it resumes from backup/.") from e
        self.best = value
