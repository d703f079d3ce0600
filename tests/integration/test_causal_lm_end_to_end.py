"""Generative pretraining end to end on real text: a user's local corpus -> `tfssl pretrain clm`
(SentencePiece, fit, best checkpoint, sliding-window perplexity vs unigram, samples, export) ->
`tfssl generate` and `tfssl evaluate perplexity` in fresh processes; bad input on the CLI."""

import json
import os

import pytest

from tests.data_locations import excerpt
from tests.helpers import copy_sotu_speeches, non_core_ops, tfssl_cli
from tfssl.config import CausalLMPretrainConfig, ConfigError
from tfssl.config_loading import load_config
from tfssl.export.saved_model_loading import generate, score
from tfssl.training.causal_lm_pretraining import run_causal_lm_pretraining


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpt")
    corpus = copy_sotu_speeches(root / "corpus", count=30)
    config = load_config(
        CausalLMPretrainConfig,
        overrides=[f"--corpus={corpus}", f"--output_dir={root / 'runs'}", f"--export_dir={root / 'saved_models'}",
                   "--name=gpt", "--vocabulary_size=1024", "--sequence_length=64", "--batch_size=16", "--steps=240",
                   "--eval_every_steps=80", "--learning_rate=2e-3", "--held_out_fraction=0.1", "--verbose=0",
                   "--sample_prompt=The Congress"],
    )
    return root, config, run_causal_lm_pretraining(config)


def test_the_run_learns_far_beyond_a_unigram_model(run):
    root, config, result = run
    losses = result["history"]["loss"]
    assert len(losses) == 3 and losses[-1] < losses[0], losses
    assert result["held_out"]["perplexity"] < 0.5 * result["unigram"]["perplexity"], result
    assert result["held_out"]["context"] == 64 and result["held_out"]["stride"] == 32
    # Two measures of the same text: sliding windows (more context, every token) and disjoint blocks.
    assert abs(result["held_out"]["perplexity"] / result["held_out_blocks"]["perplexity"] - 1) < 0.1, result
    run_dir = root / "runs" / "gpt"
    for name in ("config.json", "model.keras", "checkpoint.weights.h5", "history.csv", "training_curves.png",
                 "samples.txt", "metrics.json", "tokenizer/sentencepiece.model"):
        assert (run_dir / name).is_file(), name
    samples = (run_dir / "samples.txt").read_text(encoding="utf-8")
    assert samples.count("The Congress") == 3 and len(samples) > 100


def test_export_generates_and_scores_in_a_fresh_process(run):
    root, config, result = run
    export = result["export"]
    assert os.path.basename(export) == "1"
    assert sorted(os.listdir(os.path.join(export, "assets"))) == [
        "config.json", "sentencepiece.model", "tfssl_run_tokenizer.json", "tfssl_tokenizer.json"]
    cli = tfssl_cli("generate", str(root / "saved_models" / "gpt"), "The Congress", "", "--max-new-tokens=20", "--json")
    assert cli.returncode == 0, cli.stderr[-2000:]
    lines = [json.loads(line) for line in cli.stdout.strip().splitlines()]
    assert [line["prompt"] for line in lines] == ["The Congress", ""]
    assert lines[0]["completion"] == generate(export, ["The Congress"], max_new_tokens=20)[0]
    assert all(line["completion"] for line in lines)
    scores = score(export, ["The Congress of the United States.", "States United the of Congress The."])
    assert scores[0]["perplexity"] < scores[1]["perplexity"]
    # Core TensorFlow ops plus TensorFlow Text's SentencePiece kernels: what TF Serving (with TF Text) runs.
    extra = non_core_ops(export)
    assert extra and all(op.startswith("Sentencepiece") for op in extra), extra


def test_evaluate_perplexity_on_a_text_file(run, tmp_path):
    root, _, result = run
    held_out_text = tmp_path / "held_out.txt"
    with open(excerpt("tinyshakespeare", "input.txt"), encoding="utf-8") as f:
        held_out_text.write_text(f.read()[:5000], encoding="utf-8")
    cli = tfssl_cli("evaluate", "perplexity", str(root / "runs" / "gpt"), str(held_out_text), "--stride=16")
    assert cli.returncode == 0, cli.stderr[-2000:]
    figures = json.loads(cli.stdout)
    assert figures["stride"] == 16 and figures["context"] == 64 and figures["tokens"] > 1000
    assert figures["perplexity"] > result["held_out"]["perplexity"]  # Shakespeare is not a State of the Union


def test_bad_input_on_the_command_line(run, tmp_path, cli):
    root, _, result = run
    cases = [
        (["generate", result["export"], "x", "--temperature=-1"], "temperature must be >= 0"),
        (["generate", result["export"], "x", "--max-new-tokens=64"], "max_new_tokens must be in [1, 63]"),
        (["pretrain", "clm", "--tokenizer=words"], "tokenizer must be one of sentencepiece, character"),
        (["pretrain", "clm", "--sample_top_p=0"], "top_p must be in (0, 1]"),
        (["pretrain", "clm", "--sequence_lenght=64"], "Did you mean 'sequence_length'"),
        (["pretrain", "clm", f"--corpus={tmp_path / 'missing'}"], "missing"),
        (["evaluate", "perplexity", str(tmp_path), str(tmp_path)], "tfssl_tokenizer.json"),
    ]
    for args, message in cases:
        proc = cli(*args, cwd=str(tmp_path))
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr[-1500:])


def test_continuing_with_another_vocabulary_is_refused(run, tmp_path):
    root, _, _ = run
    config = load_config(CausalLMPretrainConfig, overrides=[
        f"--init_from={root / 'runs' / 'gpt'}", "--tokenizer=character", f"--corpus={root / 'corpus'}",
        f"--output_dir={tmp_path}", "--verbose=0", "--sequence_length=64"])
    with pytest.raises(ConfigError, match="does not match the checkpoint"):
        run_causal_lm_pretraining(config)
