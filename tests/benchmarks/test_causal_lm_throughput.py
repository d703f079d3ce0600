"""The causal-LM benchmark runs and prints the JSON it promises (figures are not asserted, except
that every path generated every token and the three generation paths agree)."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "causal_lm_throughput.py")


@pytest.mark.slow  # 17 s; the accelerator suite's test times causal-LM steps (suite time)
def test_benchmark_prints_json():
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--preset=tiny", "--vocabulary-size=300", "--batch-size=4", "--sequence-length=16",
         "--rounds=1", "--steps=2", "--new-tokens=12", "--generation-batches", "2"],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["benchmark"] == "causal_lm_throughput"
    assert set(result["training"]["tokens_per_s"]) == {"xla", "no_xla"}
    assert result["generation"]["cached_equals_uncached"]
    assert set(result["generation"]["tokens_per_s"]) == {"batch_2"}  # one batch size: batch 1 runs the same path
    for figures in result["generation"]["tokens_per_s"].values():
        assert figures["all_tokens_generated"] and figures["xla_step_tokens_equal_cached"]
        assert figures["uncached"] > 0 and figures["cached"] > 0
