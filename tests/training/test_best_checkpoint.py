"""`BestCheckpoint`: the best epoch is saved atomically, never by a NaN epoch, and its score
survives a resume (a worse epoch after the restart does not overwrite it); a full disk leaves
the previous checkpoint whole."""

import json
import os

import pytest

from tests.training.test_resumable_fit import small_classifier
from tfssl.training.best_checkpoint import BestCheckpoint


def epoch_end(callback, model, epoch, value):
    callback.set_model(model)
    callback.on_epoch_end(epoch, {"val_loss": value})


def test_best_checkpoint_keeps_the_best_score_across_a_resume_and_ignores_nan(tmp_path):
    path = str(tmp_path / "checkpoint.weights.h5")
    model = small_classifier()
    first = BestCheckpoint(path, monitor="val_loss")
    epoch_end(first, model, 0, 0.5)
    saved = open(path, "rb").read()
    epoch_end(first, model, 1, float("nan"))  # a diverged epoch never counts as better
    epoch_end(first, model, 2, 0.7)
    assert open(path, "rb").read() == saved
    assert json.loads(open(path + ".json").read()) == {"best": 0.5, "monitor": "val_loss", "epoch": 1}

    resumed = BestCheckpoint(path, monitor="val_loss", resume=True)  # after a restart
    for v in model.trainable_weights:
        v.assign(v + 1.0)
    epoch_end(resumed, model, 3, 0.6)  # worse than the epoch before the interruption
    assert open(path, "rb").read() == saved
    epoch_end(resumed, model, 4, 0.4)
    assert open(path, "rb").read() != saved and resumed.best == 0.4
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.weights.h5", "checkpoint.weights.h5.json"]

    fresh = BestCheckpoint(path, monitor="val_loss")  # a new run (not a resume) starts from no score
    assert fresh.best is None


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_full_disk_while_saving_the_best_checkpoint_keeps_the_previous_one(tmp_path):
    path = str(tmp_path / "checkpoint.weights.h5")
    model = small_classifier()
    callback = BestCheckpoint(path)
    epoch_end(callback, model, 0, 0.5)
    saved = open(path, "rb").read()
    os.symlink("/dev/full", tmp_path / "partial.checkpoint.weights.h5")
    with pytest.raises(OSError, match="No space left on device.*previous best checkpoint is intact.*rerun"):
        epoch_end(callback, model, 1, 0.1)
    assert open(path, "rb").read() == saved and callback.best == 0.5
