"""Backups survive a full disk: the failed save says what happened and what to do, and the
previous backup (weights, optimizer state, step) is restored intact. The disk is full for real:
the backup's temporary file is a link to /dev/full, where every write fails with ENOSPC."""

import os

import numpy as np
import pytest

from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
from tfssl.training.step_backup import WEIGHTS, restore_backup, save_backup, save_model_file


def small_model():
    model = MaskedLMPretrainer(EncoderBackbone(60, 1, 2, 32, 64, max_sequence_length=16, dropout=0.0))
    model.build()
    model.compile(jit_compile=False)
    model.optimizer.build(model.trainable_variables)
    return model


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_full_disk_during_backup_keeps_the_previous_one(tmp_path):
    model = small_model()
    model.optimizer.iterations.assign(4)
    save_backup(model, tmp_path, 4)
    saved = [v.numpy().copy() for v in model.weights] + [v.numpy().copy() for v in model.optimizer.variables]
    for v in model.weights:
        v.assign(v.numpy() + 1.0)
    model.optimizer.iterations.assign(8)
    os.symlink("/dev/full", tmp_path / ("partial." + WEIGHTS))  # the next write hits a full disk
    with pytest.raises(OSError, match="No space left on device.*the previous backup is intact.*rerun the same command"):
        save_backup(model, tmp_path, 8)
    # Nothing half-written left behind; step 4's files moved aside by the rotation, whole.
    assert sorted(os.listdir(tmp_path)) == ["previous.json", "previous.weights.h5"]

    fresh = small_model()
    assert restore_backup(fresh, tmp_path) == 4
    restored = [v.numpy() for v in fresh.weights] + [v.numpy() for v in fresh.optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(saved, restored))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_full_disk_while_saving_the_model_keeps_the_old_file(tmp_path):
    model = small_model()
    save_model_file(model, str(tmp_path / "model.keras"))
    before = (tmp_path / "model.keras").read_bytes()
    os.symlink("/dev/full", tmp_path / "partial.model.keras")
    with pytest.raises(OSError, match="No space left on device.*model.keras is intact"):
        save_model_file(model, str(tmp_path / "model.keras"))
    assert (tmp_path / "model.keras").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]


def test_inconsistent_backup_is_refused(tmp_path):
    model = small_model()
    model.optimizer.iterations.assign(3)
    save_backup(model, tmp_path, 3)
    (tmp_path / "backup.json").write_text('{"step": 7}')
    with pytest.raises(ValueError, match=r"holds optimizer step 3 but the state files say \[7\].*Delete .* to start over"):
        restore_backup(small_model(), tmp_path)


def test_the_previous_backup_is_kept_and_a_kill_between_the_rotations_renames_loses_nothing(tmp_path):
    model = small_model()
    for step in (4, 8):
        model.optimizer.iterations.assign(step)
        save_backup(model, tmp_path, step)
    assert sorted(os.listdir(tmp_path)) == ["backup.json", WEIGHTS, "previous.json", "previous.weights.h5"]
    assert restore_backup(small_model(), tmp_path) == 8

    # Killed while rotating for step 12: step 8's state file already renamed, its weights not yet.
    os.replace(tmp_path / "backup.json", tmp_path / "previous.json")
    assert restore_backup(small_model(), tmp_path) == 8  # weights and state paired by the step they hold
