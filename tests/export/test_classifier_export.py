"""The classifier SavedModel, as TF Serving sees it: a fresh process gets the in-memory
probabilities for raw strings, versions accumulate without touching earlier ones, the graph holds
only core TensorFlow + TensorFlow Text ops, `saved_model_cli` shows and runs it, a
`tensorflow_serving.apis` PredictRequest carries its inputs, and bad serving input fails clearly."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import FRESH_ENV, non_core_ops, saved_model_cli
from tests.models.test_text_classifier import _backbone, _word_task
from tfssl.data.classification_pipeline import classification_batches
from tfssl.export.classifier_export import TextClassificationModule, export_text_classifier
from tfssl.export.saved_model_loading import ServedClassifier, load_saved_model
from tfssl.models.text_classifier import TextClassifier

LABELS = ["trade", "war"]
TEXT_OPS = {"FastBertNormalize", "FastWordpieceTokenizeWithOffsets", "RegexSplitWithOffsets",
            "FastBertNormalizeV2", "TFText>FastWordpieceTokenizeWithOffsets", "TFText>FastBertNormalize",
            "NormalizeUTF8", "CaseFoldUTF8", "UnicodeScriptTokenizeWithOffsets", "WhitespaceTokenizeWithOffsetsV2",
            "TFText>RoundRobinTrim", "TFText>RoundRobinGenerateMasks"}

FRESH_PROCESS = """
import json, sys
import tensorflow as tf
from tfssl.export.saved_model_loading import load_saved_model
model, _ = load_saved_model(sys.argv[1])
out = model.signatures["serving_default"](text=tf.constant(json.loads(sys.argv[2])))
print(json.dumps({"probabilities": out["probabilities"].numpy().tolist(),
                  "label": [l.decode() for l in out["label"].numpy()]}))
"""


@pytest.fixture(scope="module")
def exported(tokenizer, tmp_path_factory):
    texts, labels = _word_task(256, seed=0)
    tf.keras.utils.set_random_seed(0)
    classifier = TextClassifier(_backbone(tokenizer.vocabulary_size), 2, dropout=0.1)
    classifier.compile(learning_rate=3e-3, warmup_steps=5, total_steps=80, jit_compile=False)
    classifier.fit(classification_batches(texts, labels, tokenizer, 32, 16, seed=0), epochs=5, verbose=0)
    module = TextClassificationModule(classifier, tokenizer, LABELS, sequence_length=32)
    model_dir = str(tmp_path_factory.mktemp("exports") / "words")
    return module, export_text_classifier(module, model_dir)


def _strings():
    texts, _ = _word_task(96, seed=7)
    return texts + ["the navy", "free trade", "WAR!", " ".join(["congress"] * 80)]  # cased, long


def test_a_fresh_process_gets_the_in_memory_probabilities(exported):
    module, path = exported
    texts = _strings()
    expected = module.predict(tf.constant(texts))
    out = subprocess.run([sys.executable, "-c", FRESH_PROCESS, path, json.dumps(texts)], capture_output=True,
                         text=True, env=FRESH_ENV, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    served = json.loads(out.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(served["probabilities"], expected["probabilities"].numpy(), atol=1e-5)
    assert served["label"] == [LABELS[i] for i in expected["label_id"].numpy()]
    assert len(texts) == 100 and served["label"][96:99] == ["war", "trade", "war"]


def test_a_second_export_is_version_2_and_leaves_version_1_intact(exported, tmp_path):
    module, path = exported
    model_dir = os.path.dirname(path)

    def digest(directory):
        h = hashlib.sha256()
        for root, _, files in sorted(os.walk(directory)):
            for name in sorted(files):
                with open(os.path.join(root, name), "rb") as f:
                    h.update(name.encode() + f.read())
        return h.hexdigest()

    before = digest(path)
    second = export_text_classifier(module, model_dir)
    assert os.path.basename(path) == "1" and second == os.path.join(model_dir, "2")
    assert digest(path) == before
    assert sorted(os.listdir(model_dir)) == ["1", "2"]  # no temporary directory left behind
    with open(os.path.join(second, "assets", "labels.txt"), encoding="utf-8") as f:
        assert f.read().split() == LABELS


def test_the_graph_holds_only_core_and_tensorflow_text_ops(exported):
    extra = non_core_ops(exported[1])
    assert extra <= TEXT_OPS, sorted(extra - TEXT_OPS)


def test_saved_model_cli_shows_and_runs_the_signature(exported):
    path = exported[1]
    show = saved_model_cli("show", "--dir", path, "--all")
    assert show.returncode == 0, show.stderr[-2000:]
    assert "signature_def['serving_default']" in show.stdout and "inputs['text']" in show.stdout
    for output in ("label", "label_id", "probabilities", "logits"):
        assert f"outputs['{output}']" in show.stdout
    run = saved_model_cli("run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
                          "--input_exprs", "text=['the navy and the army']")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Result for output key label" in run.stdout and "b'war'" in run.stdout, run.stdout


def test_a_predict_request_carries_the_serving_inputs(exported):
    from tensorflow_serving.apis import predict_pb2

    module, path = exported
    texts = ["the army", "the tariff"]
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "words"
    request.model_spec.signature_name = "serving_default"
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string))
    wire = request.SerializeToString()  # what a gRPC client sends to :8500
    received = predict_pb2.PredictRequest.FromString(wire)
    model, _ = load_saved_model(path)
    signature = model.signatures[received.model_spec.signature_name]
    assert set(signature.structured_input_signature[1]) == set(received.inputs)
    out = signature(**{k: tf.constant(tf.make_ndarray(v)) for k, v in received.inputs.items()})
    assert [l.decode() for l in out["label"].numpy()] == ["war", "trade"]


def test_bad_serving_input_fails_with_a_message(exported):
    model, _ = load_saved_model(exported[1])
    serve = model.signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="text.i. is empty"):
        serve(text=tf.constant(["the army", "  "]))
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match="string"):
        serve(text=tf.constant([1, 2]))
    over_long = serve(text=tf.constant(["the army marched " * 20_000]))  # 340,000 characters: truncated, answered
    assert over_long["probabilities"].shape == (1, 2)
    assert abs(float(tf.reduce_sum(over_long["probabilities"])) - 1.0) < 1e-5
    served = ServedClassifier(exported[1])
    assert served.label_names == LABELS and not served.pairs
    with pytest.raises(ValueError, match="single texts"):
        served.predict(tf.constant(["a"]), tf.constant(["b"]))


def test_pair_and_regression_models_export_their_own_signatures(tokenizer, tmp_path):
    pair = TextClassificationModule(TextClassifier(_backbone(tokenizer.vocabulary_size), 3), tokenizer,
                                    ["entailment", "neutral", "contradiction"], 32, pairs=True)
    path = export_text_classifier(pair, str(tmp_path / "nli"))
    served = ServedClassifier(path)
    assert served.pairs and served.label_names == ["entailment", "neutral", "contradiction"]
    out = served.predict(tf.constant(["a man sleeps", "war"]), tf.constant(["someone rests", "peace"]))
    expected = pair.predict(tf.constant(["a man sleeps", "war"]), tf.constant(["someone rests", "peace"]))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected["probabilities"].numpy(), atol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="same number"):
        served.predict(tf.constant(["a", "b"]), tf.constant(["c"]))
    regression = TextClassificationModule(TextClassifier(_backbone(tokenizer.vocabulary_size), 1, task="regression"),
                                          tokenizer, [], 32, pairs=True)
    served = ServedClassifier(export_text_classifier(regression, str(tmp_path / "sts")))
    scores = served.predict(tf.constant(["a", "b c"]), tf.constant(["d", "e"]))["score"]
    assert served.regression and scores.shape == (2,) and scores.dtype == tf.float32
