"""The accelerator suite runs the causal LM (beside KerasHub's GPT2CausalLM) and SimCSE at both precisions and prints
the JSON it promises (figures are not asserted: speed is measured in benchmarks, not tests). The masked LM beside
KerasHub's BertMaskedLM is run by test_mlm_throughput.py. In-process: the script's `main` takes its arguments."""

import importlib.util
import json
import os

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "accelerator_suite.py")


def test_suite_prints_tokens_per_second_and_mfu_for_each_objective_and_precision(capsys):
    pytest.importorskip("keras_hub")
    spec = importlib.util.spec_from_file_location("accelerator_suite", SCRIPT)
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    suite.main(["--objectives", "clm", "simcse", "--batch-size=4", "--sequence-length=16", "--vocabulary-size=300",
                "--rounds=1", "--steps=1", "--no-xla", "--matmul-size=256"])
    out = capsys.readouterr().out
    result = json.loads(out[out.index("{"):])
    assert result["benchmark"] == "accelerator_suite" and result["device"].startswith("CPU")
    assert set(result["results"]) == {"clm", "simcse"}
    for objective, by_precision in result["results"].items():
        assert {"float32", "mixed_bfloat16", "mixed_bfloat16_over_float32"} <= set(by_precision), objective
        for precision in ("float32", "mixed_bfloat16"):
            implementations = {"tfssl"} if objective == "simcse" else {"tfssl", "keras_hub", "tfssl_over_keras_hub"}
            assert set(by_precision[precision]) == implementations, (objective, precision)
            tfssl = by_precision[precision]["tfssl"]
            assert tfssl["tokens_per_s"] > 0 and 0 < tfssl["mfu_measured_matmul"]
        assert result["models"][objective]["flops_per_token"] > 0
