"""`model.fit` that a rerun of the same command resumes to the step, for every tfssl driver.

A driver describes its training data as a function of the global step (`stream_from(step)`:
the batches an uninterrupted run sees from that step on, e.g. a seeded endless stream with
`.skip(step)`, built anew on each call: a dataset that reshuffles each iteration continues its
shuffle sequence in a second iterator, so reusing one object would not repeat the run), and
`ResumableFit` does the rest:

- restores `<run_dir>/backup/` (weights, optimizer moments, iteration count, hence the
  learning-rate schedule) and reports the step it resumes from;
- backs up every `save_freq` steps (`StepBackup`, atomic) and skips non-finite steps;
- gives each worker and replica its rows of every global batch (`distribute_global_batches`);
- runs `fit` in at most two parts: the rest of the interrupted epoch, then whole epochs, so
  epoch numbers, logs and curves line up with an uninterrupted run;
- stops on a NaN/Inf loss, keeping the last good backup and checkpoint.

Example (inside a driver):

>>> fit = ResumableFit(model, run_dir, epochs=4, steps_per_epoch=100, save_freq=50)
>>> history = fit.run(lambda step: make_batches().repeat().skip(step), callbacks=[...])
>>> fit.start_step   # 0 for a new run, the backup's step for a resumed one
"""

import warnings

import keras

from tfssl.run_directory import RunDirectory
from tfssl.training.distributed_input import describe_batch, distribute_global_batches, distribute_pipeline_batches
from tfssl.training.step_backup import StepBackup, remove_backup, restore_backup


class ResumableFit:
    """One run's resumable `fit` (see the module docstring). Construct it after the model is
    compiled: it restores the backup at once, so `start_step` is known before callbacks that
    depend on it (e.g. `CSVLogger(append=...)`) are built."""

    def __init__(self, model, run_dir, epochs, steps_per_epoch, save_freq=None, global_batch_size=None, log=print):
        self.model = model
        self.global_batch_size = global_batch_size  # rows per step, split over workers and replicas
        self.epochs, self.steps_per_epoch = int(epochs), int(steps_per_epoch)
        self.save_freq = int(save_freq or max(self.steps_per_epoch // 2, 1))
        self.backup_dir = RunDirectory(run_dir).file(RunDirectory.BACKUP)
        self.start_step = restore_backup(model, self.backup_dir)
        if self.resumed:
            log(f"Resuming from the backup at step {self.start_step} of {self.epochs * self.steps_per_epoch} "
                f"({self.backup_dir}).")
        if global_batch_size and model.distribute_strategy.num_replicas_in_sync > 1:
            log(describe_batch(model.distribute_strategy, global_batch_size))

    @property
    def resumed(self):
        return self.start_step > 0

    def run(self, stream_from, callbacks=(), validation_data=None, verbose=1, budget=None, per_pipeline=False):
        """Fits from `start_step` to `epochs * steps_per_epoch`; returns one `History` for all parts.

        With `per_pipeline=True`, `stream_from(step, num_pipelines, pipeline_id)` gives one input pipeline's
        share of every global batch (each worker reads its own shards) instead of whole global batches."""
        callbacks = [StepBackup(self.backup_dir, self.save_freq), keras.callbacks.TerminateOnNaN(), *callbacks]
        first_epoch, done = divmod(self.start_step, self.steps_per_epoch)
        parts = []  # (initial epoch, final epoch, steps per epoch, stream start)
        if done:
            parts.append((first_epoch, first_epoch + 1, self.steps_per_epoch - done, self.start_step))
            first_epoch += 1
        if first_epoch < self.epochs:
            parts.append((first_epoch, self.epochs, self.steps_per_epoch, first_epoch * self.steps_per_epoch))
        history = keras.callbacks.History()
        history.history = {}
        with warnings.catch_warnings():
            # Unused variables (a pooler under a token loss, segment rows under a sentence loss): Keras warns each step.
            warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
            warnings.filterwarnings("ignore", message="`shuffle=True` was passed")  # our datasets shuffle themselves
            for initial_epoch, epochs, steps, stream_start in parts:
                if budget is not None and budget.stopped_early:
                    break
                strategy = self.model.distribute_strategy
                if per_pipeline:
                    data = distribute_pipeline_batches(
                        strategy, lambda count, index, start=stream_start: stream_from(start, count, index),
                        self.global_batch_size)
                else:
                    data = distribute_global_batches(strategy, stream_from(stream_start), self.global_batch_size)
                part = self.model.fit(data, initial_epoch=initial_epoch, epochs=epochs,
                                      steps_per_epoch=steps, validation_data=validation_data, callbacks=callbacks,
                                      verbose=verbose)
                for key, values in part.history.items():
                    history.history.setdefault(key, []).extend(values)
        return history

    def finish(self):
        """Deletes the backup once the run's outputs are saved: a rerun is then a new run, not a resume."""
        remove_backup(self.backup_dir)

