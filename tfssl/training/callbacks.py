"""Keras callbacks for long runs: a wall-clock budget and loss/accuracy curves saved as PNG."""

import json
import time

import keras


class TimeBudget(keras.callbacks.Callback):
    """Stops training cleanly (after the current batch) once `minutes` of fit time have passed.

    The stop is recorded in `stopped_early` and the number of steps done in `steps_done`,
    so a report can say the run was cut short and where.
    """

    def __init__(self, minutes):
        super().__init__()
        self.minutes = float(minutes)
        self.stopped_early = False
        self.steps_done = 0

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        self.steps_done += 1
        if time.monotonic() - self._start > 60.0 * self.minutes:
            self.stopped_early = True
            self.model.stop_training = True


class TrainingCurves(keras.callbacks.Callback):
    """Records training metrics averaged over windows of `every_steps` steps and validation
    metrics each epoch, and draws them to `path` (PNG) at each epoch end, with the raw points
    in `path`.json.

    Keras reports running means that restart every epoch; the window averages are recovered
    from them (`k * mean_k - j * mean_j` is the sum over steps j+1..k), so the curve shows
    the recent loss, not a sawtooth of epoch-long averages.

    `epoch_metrics` are log keys other callbacks add at epoch end (e.g. `sts_spearman` from
    `STSEvaluation`, listed before this callback); each gets its own panel.
    """

    def __init__(self, path, metrics=("loss", "masked_accuracy"), every_steps=25, epoch_metrics=()):
        super().__init__()
        self.path = path
        self.metrics = tuple(metrics)
        self.epoch_metrics = tuple(epoch_metrics)
        self.every_steps = int(every_steps)
        self.step = 0
        self.train = {m: [] for m in self.metrics}
        self.validation = {m: [] for m in self.metrics + self.epoch_metrics}

    def on_epoch_begin(self, epoch, logs=None):
        self._window_start = 0
        self._window_sums = {m: 0.0 for m in self.metrics}

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        seen = batch + 1  # steps into this epoch
        if not logs or seen % self.every_steps:
            return
        for m in self.metrics:
            if m in logs:
                running_sum = seen * float(logs[m])
                window = (running_sum - self._window_sums[m]) / (seen - self._window_start)
                self.train[m].append((self.step, window))
                self._window_sums[m] = running_sum
        self._window_start = seen

    def on_epoch_end(self, epoch, logs=None):
        for m in self.metrics:
            if logs and f"val_{m}" in logs:
                self.validation[m].append((self.step, float(logs[f"val_{m}"])))
        for m in self.epoch_metrics:
            if logs and m in logs:
                self.validation[m].append((self.step, float(logs[m])))
        self.draw()

    def on_train_end(self, logs=None):
        self.draw()

    def draw(self):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        panels = self.metrics + self.epoch_metrics
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6))
        for ax, m in zip(list(getattr(axes, "flat", [axes])), panels):
            if self.train.get(m):
                ax.plot(*zip(*self.train[m]), label=f"train {m} ({self.every_steps}-step mean)")
            if self.validation[m]:
                label = f"held-out {m}" if m in self.metrics else m
                ax.plot(*zip(*self.validation[m]), "o-", label=label)
            ax.set_xlabel("step")
            ax.set_title(m)
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(self.path, dpi=100)
        plt.close(fig)
        with open(self.path + ".json", "w", encoding="utf-8") as f:
            json.dump({"train": self.train, "validation": self.validation}, f)
