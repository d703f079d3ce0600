"""The README's main job with its default config (about 13 minutes on 2 cores), then the default
contrastive run on top of it (about 10 minutes more): marked slow.

    python -m pytest -m slow tests/integration/test_default_run.py
"""

import os

import pytest

from tests.data_locations import benchmark_file, needs_benchmark_data
from tfssl.config import ContrastivePretrainConfig, MLMPretrainConfig
from tfssl.config_loading import load_config
from tfssl.training.contrastive_pretraining import run_contrastive_pretraining
from tfssl.training.mlm_pretraining import run_mlm_pretraining

STSB = benchmark_file("stsbenchmark")


@pytest.fixture(scope="module")
def default_mlm_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("default")
    config = load_config(MLMPretrainConfig, overrides=[f"--output_dir={root}/runs", f"--export_dir={root}/saved_models",
                                                       "--verbose=0"])
    return root, run_mlm_pretraining(config)


@pytest.mark.slow
def test_default_pretraining_reaches_20_percent_masked_accuracy(default_mlm_run):
    _, result = default_mlm_run
    assert result["held_out"]["masked_accuracy"] >= 0.20, result["held_out"]
    assert result["held_out"]["masked_accuracy"] > 0.141  # KerasHub BertMaskedLM, same size, 8 minutes
    assert result["total_seconds"] < 15 * 60


@pytest.mark.slow
@needs_benchmark_data("stsbenchmark", "sts-test.csv")
def test_default_simcse_raises_sts_b_test_spearman_by_5_points(default_mlm_run):
    root, mlm = default_mlm_run
    config = load_config(ContrastivePretrainConfig, overrides=[
        f"--init_from={mlm['run_dir']}", f"--output_dir={root}/runs", f"--export_dir={root}/saved_models",
        f"--sts_file={STSB}/sts-dev.csv", f"--sts_test_file={STSB}/sts-test.csv", "--verbose=0"])
    result = run_contrastive_pretraining(config)
    before, after = result["sts_before_mean_pooled"]["sts_test"]["spearman"], result["sts"]["sts_test"]["spearman"]
    assert after >= before + 0.05, (before, after)
