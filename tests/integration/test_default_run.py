"""The README's main job with its default config (about 13 minutes on 2 cores): marked slow.

    python -m pytest -m slow tests/integration/test_default_run.py
"""

import pytest

from tfssl.config import MLMPretrainConfig, load_config
from tfssl.training.mlm_pretraining import run_mlm_pretraining


@pytest.mark.slow
def test_default_pretraining_reaches_20_percent_masked_accuracy(tmp_path):
    config = load_config(MLMPretrainConfig, overrides=[f"--output_dir={tmp_path}/runs",
                                                       f"--export_dir={tmp_path}/saved_models", "--verbose=0"])
    result = run_mlm_pretraining(config)
    assert result["held_out"]["masked_accuracy"] >= 0.20, result["held_out"]
    assert result["held_out"]["masked_accuracy"] > 0.141  # KerasHub BertMaskedLM, same size, 8 minutes
    assert result["total_seconds"] < 15 * 60
