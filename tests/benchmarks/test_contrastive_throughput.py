"""The contrastive benchmark runs every variant and prints the JSON it promises (figures are not asserted)."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "contrastive_throughput.py")


@pytest.mark.slow  # 29 s; the accelerator suite's test runs SimCSE steps through the same code (suite time)
def test_benchmark_prints_json():
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--preset=tiny", "--vocabulary-size=500", "--batch-size=8", "--sequence-length=16",
         "--rounds=1", "--steps=2", "--skip-pipeline"],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["benchmark"] == "contrastive_train_throughput"
    assert set(result["sentences_per_s"]) == {"unsupervised", "supervised", "moco"}
    assert all(v > 0 for v in result["sentences_per_s"].values())
