"""`ResumableFit`: a run stopped after a backup resumes to the step and ends where an
uninterrupted run ends, dropout's random state included."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.text_classifier import TextClassifier
from tfssl.training.resumable_fit import ResumableFit


def small_classifier(dropout=0.0):
    keras.utils.set_random_seed(0)
    model = TextClassifier(EncoderBackbone(40, 1, 2, 16, 32, max_sequence_length=8, dropout=dropout), 2, dropout=dropout)
    model.build()
    model.compile(learning_rate=1e-2, warmup_steps=1, total_steps=12, jit_compile=False)
    return model


def batches():
    rng = np.random.default_rng(0)
    ids = rng.integers(3, 40, (32, 8)).astype("int32")
    x = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
    y = (ids[:, 0] > 20).astype("int32")  # learnable from the first token
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat()


def test_a_run_stopped_after_a_backup_resumes_to_the_step_and_ends_like_an_uninterrupted_one(tmp_path):
    """With dropout: its random state is not in `save_weights`, so the backup keeps it."""
    full = small_classifier(dropout=0.3)
    ResumableFit(full, str(tmp_path / "full"), epochs=3, steps_per_epoch=4, save_freq=2).run(
        lambda step: batches().skip(step), verbose=0)

    class Crash(keras.callbacks.Callback):  # the process dies right after step 6's backup
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 7:
                raise KeyboardInterrupt

    interrupted = small_classifier(dropout=0.3)
    with pytest.raises(KeyboardInterrupt):
        ResumableFit(interrupted, str(tmp_path / "cut"), epochs=3, steps_per_epoch=4, save_freq=2).run(
            lambda step: batches().skip(step), callbacks=[Crash()], verbose=0)
    restarted = small_classifier(dropout=0.3)
    fit = ResumableFit(restarted, str(tmp_path / "cut"), epochs=3, steps_per_epoch=4, save_freq=2)
    assert fit.start_step == 6 and fit.resumed
    history = fit.run(lambda step: batches().skip(step), verbose=0)
    assert len(history.history["loss"]) == 2  # the rest of epoch 2, then epoch 3
    assert int(restarted.optimizer.iterations.numpy()) == 12
    for a, b in zip(full.weights, restarted.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    fit.finish()
    assert ResumableFit(small_classifier(), str(tmp_path / "cut"), 3, 4).start_step == 0
