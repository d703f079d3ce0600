"""The accelerator suite runs every objective at both precisions beside KerasHub and prints the JSON it promises
(figures are not asserted: speed is measured in benchmarks, not tests)."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "accelerator_suite.py")


def test_suite_prints_tokens_per_second_and_mfu_for_each_objective_and_precision():
    pytest.importorskip("keras_hub")
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--objectives", "clm", "simcse", "--batch-size=4", "--sequence-length=16", "--vocabulary-size=300", "--rounds=1",
         "--steps=1", "--no-xla", "--matmul-size=256"],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["benchmark"] == "accelerator_suite" and result["device"].startswith("CPU")
    assert set(result["results"]) == {"clm", "simcse"}  # the masked LM beside KerasHub: test_mlm_throughput.py
    for objective, by_precision in result["results"].items():
        assert {"float32", "mixed_bfloat16", "mixed_bfloat16_over_float32"} <= set(by_precision), objective
        for precision in ("float32", "mixed_bfloat16"):
            implementations = {"tfssl"} if objective == "simcse" else {"tfssl", "keras_hub", "tfssl_over_keras_hub"}
            assert set(by_precision[precision]) == implementations, (objective, precision)
            tfssl = by_precision[precision]["tfssl"]
            assert tfssl["tokens_per_s"] > 0 and 0 < tfssl["mfu_measured_matmul"]
        assert result["models"][objective]["flops_per_token"] > 0
