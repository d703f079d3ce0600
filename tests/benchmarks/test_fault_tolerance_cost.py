"""The fault-tolerance benchmark runs and prints the JSON it promises (figures are not asserted)."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "fault_tolerance_cost.py")


@pytest.mark.slow  # 15 s (suite time)
def test_benchmark_prints_json():
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--preset=tiny", "--vocabulary-size=300", "--batch-size=8", "--sequence-length=16",
         "--rounds=1", "--steps=4", "--save-freq=2", "--micro-batches=2", "--no-jit-compile"],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["benchmark"] == "fault_tolerance_cost"
    assert result["backup"]["save_seconds"] > 0 and result["backup"]["megabytes"] > 0
    assert set(result["fit_steps_per_s"]) == {"no_backup", "backup_every_2_steps", "overhead_percent"}
    assert result["accumulation_steps_per_s"]["2_micro_batches"] > 0
