"""Fine-tuning end to end on real labelled text: a small masked-LM run -> BBC News topic
classifier (`run_finetuning`) -> reports, confusion matrix, export -> the CLI (`predict`,
`evaluate classification`, `export`) on the export and the run directory; text pairs; the
few-shot experiment; and the bad-input errors, each with its message."""

import csv
import json
import os

import numpy as np
import pytest

from tests.helpers import tfssl_cli
from tfssl.config import ConfigError, FewShotConfig, FineTuneConfig
from tfssl.config_loading import load_config
from tfssl.data.labeled_examples import load_labeled_examples
from tfssl.data.labeled_sources import LabeledDataError
from tfssl.training.few_shot_experiment import run_few_shot_experiment
from tfssl.training.finetuning import load_splits, run_finetuning


@pytest.fixture(scope="module")
def mlm_run(tmp_path_factory, sotu_mlm_run):
    """This module's root: `runs/mlm` is the shared tiny masked-LM run (tests/integration/conftest.py)."""
    root = tmp_path_factory.mktemp("finetune")
    (root / "runs").mkdir()
    (root / "runs" / "mlm").symlink_to(sotu_mlm_run.run_dir, target_is_directory=True)
    return root


def _overrides(root, *extra):
    return [f"--init_from={root / 'runs' / 'mlm'}", f"--output_dir={root / 'runs'}",
            f"--export_dir={root / 'saved_models'}", "--sequence_length=64", "--verbose=0", *extra]


@pytest.fixture(scope="module")
def bbc(mlm_run):
    config = load_config(FineTuneConfig, overrides=_overrides(
        mlm_run, "--name=bbc", "--max_train_examples=600", "--test_fraction=0.2", "--epochs=1", "--min_steps=150",
        "--learning_rate=1e-3", "--jit_compile=false"))
    return config, run_finetuning(config)


def _write_csv(path, rows, header=("text", "label")):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def test_fine_tuning_learns_the_topics(bbc):
    config, result = bbc
    losses = result["history"]["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert result["labels"] == ["business", "entertainment", "politics", "sports", "tech"]
    assert result["examples"]["train"] == 600 and result["examples"]["test"] > 400
    test = result["test"]
    assert test["accuracy"] > result["majority_class_accuracy"] + 0.4, (test["accuracy"], result["majority_class_accuracy"])
    assert set(test["per_class"]) == set(result["labels"])
    assert sum(map(sum, test["confusion_matrix"])) == result["examples"]["test"]
    run_dir = result["run_dir"]
    for name in ("config.json", "labels.txt", "model.keras", "checkpoint.weights.h5", "history.csv",
                 "training_curves.png", "confusion_matrix.png", "metrics.json", "tokenizer/vocab.txt"):
        assert os.path.isfile(os.path.join(run_dir, name)), name
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as f:
        assert json.load(f)["test"]["macro_f1"] == test["macro_f1"]


def test_cli_predicts_and_evaluates_from_the_export_and_the_run(bbc, tmp_path, cli):
    config, result = bbc
    model_dir = os.path.join(config.export_dir, config.name)
    texts = ["The company's shares rose after profits beat forecasts and the bank cut interest rates.",
             "The firm's chief executive said sales and profits grew as the market for its shares recovered.",
             "Oil prices and the dollar fell as investors sold shares of the bank."]
    fresh = tfssl_cli("predict", model_dir, *texts, "--json")  # the export, in a fresh process
    in_process = cli("predict", result["run_dir"], *texts, "--json")  # the run directory
    outputs = []
    for proc in (fresh, in_process):
        assert proc.returncode == 0, proc.stderr[-2000:]
        outputs.append([json.loads(line) for line in proc.stdout.strip().splitlines()[-3:]])
    assert [o["label"] for o in outputs[0]] == [o["label"] for o in outputs[1]]
    # A 150-step model on 600 examples: most plain business sentences, not every one (one flipped between runs).
    assert sum(o["label"] == "business" for o in outputs[0]) >= 2, outputs[0]
    for served, run in zip(*outputs):
        np.testing.assert_allclose(list(served["probabilities"].values()), list(run["probabilities"].values()),
                                   atol=1e-5)
    _, _, test = load_splits(config)
    test_file = _write_csv(tmp_path / "test.csv", zip(test.texts, test.labels))
    proc = cli("evaluate", "classification", model_dir, test_file, "--json", "--output-dir", str(tmp_path / "eval"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["accuracy"] == pytest.approx(result["test"]["accuracy"], abs=1e-12)
    assert os.path.isfile(tmp_path / "eval" / "confusion_matrix.png")
    proc = cli("export", result["run_dir"])
    assert proc.returncode == 0 and proc.stdout.strip().endswith(os.path.join("bbc", "2")), proc.stderr[-2000:]


def test_bad_input_gives_one_clear_line(bbc, mlm_run, tmp_path, cli):
    config, result = bbc
    model_dir = os.path.join(config.export_dir, config.name)
    unknown = _write_csv(tmp_path / "unknown.csv", [("Shares fell.", "business"), ("It rained all day.", "weather")])
    proc = cli("evaluate", "classification", model_dir, unknown)
    assert proc.returncode == 2 and "weather" in proc.stderr and "unknown.csv:3" in proc.stderr, proc.stderr
    proc = cli("predict", model_dir, "Shares fell.", "  ")
    assert proc.returncode == 2 and "empty" in proc.stderr, proc.stderr
    one_class = _write_csv(tmp_path / "one.csv", [("Shares fell.", "business"), ("Profits rose.", "business")])
    proc = cli("finetune", *_overrides(mlm_run, "--name=one", f"--train_file={one_class}"))
    assert proc.returncode == 2 and "one class" in proc.stderr, proc.stderr
    proc = cli("finetune", *_overrides(mlm_run, "--name=col", f"--train_file={unknown}", "--text_column=body"))
    assert proc.returncode == 2 and "'body'" in proc.stderr and "text" in proc.stderr, proc.stderr
    empty = _write_csv(tmp_path / "empty.csv", [("Shares fell.", "business"), ("", "politics")])
    with pytest.raises(LabeledDataError, match=r"empty.csv.*row 3"):
        load_labeled_examples(empty)
    proc = cli("finetune", *_overrides(mlm_run, "--name=none", "--init_from=runs/does-not-exist"))
    assert proc.returncode == 2 and "tfssl pretrain mlm" in proc.stderr, proc.stderr
    proc = cli("finetune", *_overrides(mlm_run, "--name=typo", "--learning_rat=1e-3"))
    assert proc.returncode == 2 and "learning_rate" in proc.stderr, proc.stderr


def test_text_pairs_fine_tune_and_serve_pairs(mlm_run, tmp_path, cli):
    topics = {"war": ["army", "navy", "war", "troops"], "trade": ["trade", "tariff", "commerce", "exports"]}
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(200):
        a, b = rng.choice(list(topics), 2)
        rows.append((f"the {rng.choice(topics[a])} of the nation", f"our {rng.choice(topics[b])} grew",
                     "same" if a == b else "different"))
    train = _write_csv(tmp_path / "pairs.csv", rows, header=("first", "second", "label"))
    config = load_config(FineTuneConfig, overrides=_overrides(
        mlm_run, "--name=pairs", f"--train_file={train}", "--text_column=first", "--text_pair_column=second",
        "--epochs=1", "--min_steps=60", "--learning_rate=1e-3", "--dropout=0", "--deduplicate=false", "--jit_compile=false"))
    # The 200 rows hold 64 distinct pairs: kept whole, they give 4 steps an epoch (15 epochs, not 60 one-step
    # epochs, each with its validation and plot); the same 60 steps of 32 pairs learn as much.
    result = run_finetuning(config)
    assert result["history"]["loss"][-1] < result["history"]["loss"][0], result["history"]["loss"]
    proc = cli("predict", result["export"], "the army of the nation", "--pair", "our troops grew", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    assert row["text_pair"] == "our troops grew" and set(row["probabilities"]) == {"different", "same"}
    proc = cli("predict", result["export"], "the army of the nation")
    assert proc.returncode == 2 and "pairs" in proc.stderr, proc.stderr


def test_few_shot_experiment_writes_a_table_and_a_curve_and_resumes(mlm_run, tmp_path):
    examples = load_labeled_examples("bbc_news", deduplicate=True)
    keep = np.random.default_rng(0).permutation(len(examples))[:150]  # plumbing: small runs (105 train, 45 test)
    data = _write_csv(tmp_path / "bbc150.csv", [(examples.texts[i][:600], examples.labels[i]) for i in keep])
    config = load_config(FewShotConfig, overrides=[
        f"--init_from={mlm_run / 'runs' / 'mlm'}", f"--output_dir={tmp_path}", f"--train_file={data}",
        "--test_fraction=0.3", "--examples=10,0", "--seeds=0", "--min_steps=12", "--sequence_length=64",
        "--jit_compile=false",  # 4 runs of 12 steps: compiling each step with XLA would cost more than it saves
        "--learning_rate=1e-3"])
    result = run_few_shot_experiment(config)
    run_dir = result["run_dir"]
    with open(os.path.join(run_dir, "results.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == 4 and {r["init"] for r in rows} == {"pretrained", "scratch"}  # one seed: seeds are
    # aggregated by summarize_runs, tested on its own (tests/metrics/test_learning_curve_plot.py)
    assert {r["examples_used"] for r in rows} == {10, 105}
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
    assert [(s["init"], s["examples"], s["runs"]) for s in result["summary"]] == [
        ("pretrained", 10, 1), ("pretrained", 105, 1), ("scratch", 10, 1), ("scratch", 105, 1)]
    assert "gain" in result["table"] and os.path.getsize(os.path.join(run_dir, "learning_curve.png")) > 1000
    again = run_few_shot_experiment(config)  # every run is already in results.jsonl
    assert again["summary"] == result["summary"] and again["total_seconds"] < result["total_seconds"] / 2
    config.learning_rate = 3e-4  # other settings must not be mixed into the same table
    with pytest.raises(ConfigError, match="other settings"):
        run_few_shot_experiment(config)
