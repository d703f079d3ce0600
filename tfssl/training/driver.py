"""The skeleton every tfssl driver (`pretrain mlm|clm|simcse`, `finetune`) fills in.

    strategy (first: multi-worker collectives are configured at startup) -> checks -> run directory
    (seeded, config.json) -> data -> model built and compiled in the strategy's scope -> resumable fit with
    the standard callbacks -> NaN check -> best weights -> model.keras -> evaluation -> export -> metrics.json

A driver subclass says only what differs: `load_data`, `build_model`, `compile_arguments`, the fit plan
(`epochs`, `steps_per_epoch`, `stream_from`, ...), `evaluate` and `export`. Everything it writes goes through
`self.directory` (a `RunDirectory`), so the layout is known in one place.

Example (what `run_mlm_pretraining(config)` does):

>>> result = MaskedLMDriver(MLMPretrainConfig(epochs=1)).run()
"""

import logging
import math
import os
import time

import keras

from tfssl.run_directory import RunDirectory
from tfssl.training.best_checkpoint import BestCheckpoint
from tfssl.training.callbacks import TimeBudget, TrainingCurves
from tfssl.training.resumable_fit import ResumableFit
from tfssl.training.strategy import choose_strategy, for_this_worker, jit_compile_for

logger = logging.getLogger("tfssl.training")


class Driver:
    """One training job (see the module docstring). Subclasses set the fit plan in `load_data` and override
    the hooks; class attributes give the standard callbacks' settings."""

    #: What `BestCheckpoint` keeps: (metric, mode) with validation data and without it.
    monitor = ("val_loss", "min")
    monitor_without_validation = ("loss", "min")
    #: Whether the best checkpoint's weights are loaded back before model.keras is saved.
    restore_best = True
    #: Curves drawn into training_curves.png: per-step metrics, and per-epoch ones.
    curve_metrics = ("loss",)
    curve_epoch_metrics = ()
    #: What to try when the loss diverges.
    divergence_hint = "Lower learning_rate or raise warmup_steps"

    def __init__(self, config):
        self.strategy = choose_strategy(config.strategy)  # first: multi-worker collectives are configured at startup
        self.config = for_this_worker(config)
        # The fit plan, set by `load_data`.
        self.epochs = self.steps_per_epoch = None
        self.save_freq = None  # None: half an epoch
        self.global_batch_size = self.config.batch_size
        self.validation_data = None
        self.per_pipeline = False

    # Hooks ---------------------------------------------------------------------------------------

    def check(self):
        """Refuses a config that cannot work, before the run directory or any data work."""

    def load_data(self):
        """Reads the data and sets the fit plan: `epochs`, `steps_per_epoch`, `validation_data`, ..."""
        raise NotImplementedError

    def stream_from(self, step, *pipeline):
        """The training batches from global step `step` on (with `per_pipeline`: `(step, count, index)`, one
        input pipeline's share), built anew on each call (see `ResumableFit`)."""
        raise NotImplementedError

    def build_model(self):
        """The model, built (called inside the strategy's scope)."""
        raise NotImplementedError

    def compile_arguments(self):
        """Keyword arguments of the model's `compile`, beyond `jit_compile`."""
        return {}

    def extra_callbacks(self, fit):
        """Callbacks that run before the standard ones (e.g. an evaluation whose score is monitored)."""
        return []

    def evaluate(self):
        """Figures for metrics.json after training (the model holds its final weights)."""
        return {}

    def export(self):
        """Exports the trained model; returns the version directory."""
        return None

    # The skeleton --------------------------------------------------------------------------------

    def log(self, message):
        log(self.config, message)

    def start(self):
        """Validates the config, seeds Python/NumPy/TF, creates the run directory and writes config.json."""
        self.directory, self.started = start_run(self.config)

    def run(self):
        """Runs the job end to end; returns paths and figures (also in metrics.json)."""
        self.check()
        self.start()
        self.load_data()
        with self.strategy.scope():
            self.model = self.build_model()
            self.model.compile(jit_compile=jit_compile_for(self.strategy, self.config.jit_compile),
                               precision=self.config.precision, **self.compile_arguments())
        fit = ResumableFit(self.model, self.directory.path, self.epochs, self.steps_per_epoch, self.save_freq,
                           self.global_batch_size, log=self.log)
        minutes = getattr(self.config, "max_train_minutes", None)
        budget = TimeBudget(minutes) if minutes else None
        checkpoint = self.directory.file(RunDirectory.CHECKPOINT)
        monitor, mode = self.monitor if self.validation_data is not None else self.monitor_without_validation
        callbacks = self.extra_callbacks(fit) + [
            BestCheckpoint(checkpoint, monitor=monitor, mode=mode, resume=fit.resumed),
            keras.callbacks.CSVLogger(self.directory.file(RunDirectory.HISTORY), append=fit.resumed),
            keras.callbacks.TensorBoard(self.directory.file(RunDirectory.LOGS), update_freq=50),
            TrainingCurves(self.directory.file(RunDirectory.CURVES), metrics=self.curve_metrics,
                           every_steps=max(min(25, self.steps_per_epoch // 4), 1),
                           epoch_metrics=self.curve_epoch_metrics),
        ] + ([budget] if budget else [])
        fit_started = time.monotonic()
        history = fit.run(self.stream_from, callbacks, validation_data=self.validation_data,
                          verbose=self.config.verbose, budget=budget, per_pipeline=self.per_pipeline)
        fit_seconds = time.monotonic() - fit_started
        if not history_is_finite(history):
            raise FloatingPointError(
                f"Training diverged (NaN/Inf loss) in {self.directory.path}. {self.divergence_hint} (learning_rate is now "
                f"{self.config.learning_rate}); the last good weights are in {RunDirectory.CHECKPOINT} (best finished "
                f"epoch) and {RunDirectory.BACKUP}/ (last finite step).")
        steps = int(self.model.optimizer.iterations.numpy())  # before the best epoch's weights return
        if self.restore_best and os.path.isfile(checkpoint):
            self.model.load_weights(checkpoint)
        self.directory.save_model(self.model)
        fit.finish()
        result = {
            "run_dir": self.directory.path,
            "steps": steps,
            "resumed_from_step": fit.start_step,
            "stopped_by_time_budget": bool(budget and budget.stopped_early),
            "fit_seconds": fit_seconds,
            "history": {k: [float(x) for x in v] for k, v in history.history.items()},
        }
        result.update(self.evaluate())
        if self.config.export:
            result["export"] = self.export()
            self.log(f"Exported {result['export']}")
        return write_metrics(self.directory, result, self.started)


def start_run(config):
    """Validates `config`, seeds Python/NumPy/TF with `config.seed`, creates the run directory
    `<output_dir>/<name>/` and writes the resolved config.json into it. Returns `(RunDirectory, started)`,
    `started` a `time.monotonic()` value for `write_metrics`."""
    config.validate()
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    run = RunDirectory(os.path.join(config.output_dir, config.name)).create()
    run.save_config(config)
    return run, started


def write_metrics(run, result, started):
    """Adds `total_seconds` (since the `time.monotonic()` value `started`), writes metrics.json, returns `result`."""
    result["total_seconds"] = time.monotonic() - started
    run.write_json(RunDirectory.METRICS, result)
    return result


def history_is_finite(history):
    """False when any logged value of a Keras `History` is NaN or infinite."""
    return all(math.isfinite(v) for values in history.history.values() for v in values)


def log(config, message):
    """Logs `message`, and prints it when the run is verbose."""
    logger.info(message)
    if config.verbose:
        print(f"[tfssl] {message}", flush=True)


def run_job(config):
    """Runs the driver a config belongs to (`MLMPretrainConfig` -> masked-LM pretraining, ...); returns its result."""
    import importlib

    module, function = {
        "MLMPretrainConfig": ("mlm_pretraining", "run_mlm_pretraining"),
        "ElectraPretrainConfig": ("electra_pretraining", "run_electra_pretraining"),
        "ContrastivePretrainConfig": ("contrastive_pretraining", "run_contrastive_pretraining"),
        "CausalLMPretrainConfig": ("causal_lm_pretraining", "run_causal_lm_pretraining"),
        "FineTuneConfig": ("finetuning", "run_finetuning"),
        "FewShotConfig": ("few_shot_experiment", "run_few_shot_experiment"),
        "CompareConfig": ("pretraining_comparison", "run_pretraining_comparison"),
    }[type(config).__name__]
    return getattr(importlib.import_module(f"tfssl.training.{module}"), function)(config)
