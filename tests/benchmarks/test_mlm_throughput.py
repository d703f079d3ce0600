"""The benchmark script runs and prints the JSON it promises (figures are not asserted)."""

import json
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "mlm_throughput.py")


def test_benchmark_prints_json():
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--preset=tiny", "--vocabulary-size=1000", "--rounds=1", "--steps=2", "--skip-pipeline"],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["benchmark"] == "mlm_train_throughput" and result["tfssl_tokens_per_s"] > 0
    assert len(result["tfssl_round_tokens_per_s"]) == 1
