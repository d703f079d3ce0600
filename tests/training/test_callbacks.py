import json
import os

import numpy as np

from tfssl.training.callbacks import TrainingCurves


def test_curves_recover_window_means_from_keras_running_means(tmp_path):
    path = str(tmp_path / "curves.png")
    curves = TrainingCurves(path, metrics=("loss",), every_steps=2, epoch_metrics=("sts_spearman",))
    losses = [[8.0, 6.0, 4.0, 2.0], [3.0, 1.0, 2.0, 0.0]]  # per-step values, two epochs
    for epoch, values in enumerate(losses):
        curves.on_epoch_begin(epoch)
        for batch in range(len(values)):
            curves.on_train_batch_end(batch, {"loss": float(np.mean(values[: batch + 1]))})  # what Keras reports
        curves.on_epoch_end(epoch, {"val_loss": 5.0 - epoch, "sts_spearman": 0.5 + epoch / 10})
    assert curves.train["loss"] == [(2, 7.0), (4, 3.0), (6, 2.0), (8, 1.0)]
    assert curves.validation["loss"] == [(4, 5.0), (8, 4.0)]
    assert curves.validation["sts_spearman"] == [(4, 0.5), (8, 0.6)]
    assert open(path, "rb").read(4) == b"\x89PNG"
    assert json.load(open(path + ".json"))["validation"]["loss"] == [[4, 5.0], [8, 4.0]]
    assert os.path.getsize(path) > 5000
