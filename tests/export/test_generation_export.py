"""The `generate`/`score` SavedModel: a fresh process gets the in-process tokens, versions
accumulate, and bad serving input fails with a message."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.helpers import FRESH_ENV, non_core_ops, saved_model_cli, tfssl_cli
from tfssl.export.generation_export import export_text_generator
from tfssl.export.saved_model_loading import generate, load_saved_model
from tfssl.models.text_generator import TextGenerator

PROMPTS = ["the cat", "a d", "", "the dog ran. a cat ran. the c"]

FRESH_PROCESS = """
import json, sys
import tensorflow as tf
from tfssl.export.saved_model_loading import load_saved_model
model, _ = load_saved_model(sys.argv[1])
prompts = json.loads(sys.argv[2])
greedy = model.signatures["generate"](prompt=tf.constant(prompts), max_new_tokens=tf.constant(20),
    temperature=tf.constant(0.0), top_k=tf.constant(0), top_p=tf.constant(1.0), seed=tf.constant(0))
sampled = model.signatures["serving_default"](prompt=tf.constant(prompts), max_new_tokens=tf.constant(20),
    temperature=tf.constant(1.0), top_k=tf.constant(3), top_p=tf.constant(0.9), seed=tf.constant(5))
score = model.signatures["score"](text=tf.constant(prompts))
print(json.dumps({"greedy": greedy["token_ids"].numpy().tolist(), "sampled": sampled["token_ids"].numpy().tolist(),
                  "completions": [c.decode() for c in greedy["completions"].numpy()],
                  "log_likelihood": score["log_likelihood"].numpy().tolist()}))
"""


@pytest.fixture(scope="module")
def exported(pattern_lm, tmp_path_factory):
    pretrainer, tokenizer, _ = pattern_lm
    root = tmp_path_factory.mktemp("gpt-export")
    tokenizer_dir = tokenizer.save_to_directory(str(root / "tokenizer"))
    assets = [os.path.join(tokenizer_dir, f) for f in sorted(os.listdir(tokenizer_dir))]
    generator = TextGenerator(pretrainer, tokenizer)
    path = export_text_generator(generator, str(root / "saved_models" / "pattern"), assets)
    return generator, path, root


def test_a_fresh_process_generates_the_in_process_tokens(exported):
    generator, path, _ = exported
    prompts = tf.constant(PROMPTS)
    greedy = generator.generate(prompts, 20, 0.0, 0, 1.0, 0)
    sampled = generator.generate(prompts, 20, 1.0, 3, 0.9, 5)
    score = generator.score(prompts)
    out = subprocess.run([sys.executable, "-c", FRESH_PROCESS, path, json.dumps(PROMPTS)], capture_output=True,
                         text=True, env=FRESH_ENV, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    served = json.loads(out.stdout.strip().splitlines()[-1])
    assert served["greedy"] == greedy["token_ids"].numpy().tolist()
    assert served["sampled"] == sampled["token_ids"].numpy().tolist()
    assert served["completions"] == [c.decode() for c in greedy["completions"].numpy()]
    assert served["completions"][0] in (" sat.", " ran.")
    assert served["log_likelihood"] == pytest.approx(score["log_likelihood"].numpy().tolist(), abs=1e-4)
    assert sorted(os.listdir(os.path.join(path, "assets"))) == ["characters.json", "tfssl_tokenizer.json"]


def test_the_cli_generates_and_a_second_export_is_version_2(exported):
    generator, path, root = exported
    result = tfssl_cli("generate", os.path.dirname(path), "the cat", "a dog r", "--max-new-tokens=20", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line["prompt"] for line in lines] == ["the cat", "a dog r"] and lines[1]["completion"] == "an."
    # Without --max-new-tokens: 100, cut to fit this model's 32-token context.
    result = tfssl_cli("generate", path, "the dog r")
    assert result.returncode == 0 and result.stdout.strip() == "the dog ran.", result.stderr[-2000:]
    second = export_text_generator(generator, os.path.dirname(path))
    assert os.path.basename(second) == "2" and os.path.isfile(os.path.join(path, "saved_model.pb"))


def test_bad_input_is_refused_with_a_message(exported):
    _, path, _ = exported
    for kwargs, message in [({"temperature": -1.0}, "temperature must be >= 0"),
                            ({"top_p": 1.5}, "top_p must be in \\(0, 1\\]"),
                            ({"max_new_tokens": 40}, "max_new_tokens must be in \\[1, 31\\]")]:
        with pytest.raises(ValueError, match=message):
            generate(path, ["the"], **kwargs)
    with pytest.raises(ValueError, match="one or more strings"):
        generate(path, [3, 4])
    model, _ = load_saved_model(path)
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError)):
        model.signatures["generate"](prompt=tf.constant([1, 2]), max_new_tokens=tf.constant(5), temperature=tf.constant(0.0),
                                     top_k=tf.constant(0), top_p=tf.constant(1.0), seed=tf.constant(0))
    # The served graph checks settings itself (callers that skip the Python helpers).
    with pytest.raises(tf.errors.InvalidArgumentError, match="top_p must be in"):
        model.signatures["generate"](prompt=tf.constant(["a"]), max_new_tokens=tf.constant(5), temperature=tf.constant(1.0),
                                     top_k=tf.constant(0), top_p=tf.constant(0.0), seed=tf.constant(0))
    result = tfssl_cli("generate", path, "the", "--top-p=2")
    assert result.returncode == 2 and "top_p must be in (0, 1]" in result.stderr


def test_the_graph_uses_only_ops_tf_serving_runs(exported):
    """No XLA-only ops (e.g. XlaDynamicUpdateSlice from keras' slice_update) and no Python ops:
    stock TF Serving runs core TensorFlow (+ TensorFlow Text) kernels only."""
    assert non_core_ops(exported[1]) == set()


def test_tf_servings_loader_restores_the_weights(exported):
    """`saved_model_cli run` loads through the C++/TF1 loader TF Serving uses (see `serving_variables`)."""
    run = saved_model_cli("run", "--dir", exported[1], "--tag_set", "serve", "--signature_def", "score",
                          "--input_exprs", "text=['the cat sat.']")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Result for output key perplexity" in run.stdout, run.stdout
