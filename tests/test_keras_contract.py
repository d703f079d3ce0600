"""The Keras contract, over every class registered with
`keras.saving.register_keras_serializable(package="tfssl")` (DESIGN.md, convention 4):

* config: `get_config()` is JSON-safe, holds every `__init__` argument under its own name, and
  `from_config(get_config())` (directly and through `serialize_keras_object`) gives an equal config;
* saving: a `.keras` round trip gives equal outputs on the same inputs (eager and graph), the
  same class, and as many trainable and non-trainable weights;
* fit: one training step runs and changes trainable weights (for trainable things);
* mixed precision: under `mixed_bfloat16` it builds and calls, outputs are finite, and every
  floating variable stays float32.

The class list comes from Keras' registry after importing every tfssl module that registers
classes, so a new class gets these tests without asking; without a case in
`tests/keras_contract_cases.py` its tests fail and say so.
"""

import contextlib
import importlib
import json
import os
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.keras_contract_cases import CASES, LayerHarness, fit_harness
from tests.keras_contract_factories import BATCH, HIDDEN_DIM, LENGTH, MAX_LENGTH, SLOTS, VOCABULARY_SIZE

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1] / "tfssl"


def registered_names():
    """Imports every tfssl module that registers a Keras class; returns the registered names."""
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        if "register_keras_serializable" in path.read_text(encoding="utf-8"):
            module = ".".join(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
            importlib.import_module(module)
    return sorted(name for name in keras.saving.get_custom_objects() if name.startswith("tfssl>"))


REGISTERED = registered_names()


def case_for(name):
    if name not in CASES:
        pytest.fail(f"{name} is registered with keras.saving.register_keras_serializable(package='tfssl') but has "
                    "no Keras contract case: add one to CASES in tests/keras_contract_cases.py.")
    return CASES[name]


def test_every_case_is_a_registered_class():
    stale = sorted(set(CASES) - set(REGISTERED))
    assert not stale, f"Contract cases for classes no longer registered: {stale}; remove them from CASES."


# ---------------------------------------------------------------------------------------------
# Helpers


@contextlib.contextmanager
def dtype_policy(name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def assert_same_outputs(expected, actual, atol=1e-5):
    expected, actual = tf.nest.flatten(expected), tf.nest.flatten(actual)
    assert len(expected) == len(actual)
    for a, b in zip(expected, actual):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
        if np.issubdtype(a.dtype, np.floating):
            np.testing.assert_allclose(a, b, atol=atol)
        else:
            np.testing.assert_array_equal(a, b)


def assert_finite(outputs):
    for t in tf.nest.flatten(outputs):
        t = tf.convert_to_tensor(t)
        if t.dtype.is_floating:
            assert np.isfinite(tf.cast(t, "float32").numpy()).all(), f"non-finite output of dtype {t.dtype.name}"


def as_json(config):
    """`config` as it reads back from a file (tuples become lists)."""
    return json.loads(json.dumps(config))


def values(variables):
    return [keras.ops.convert_to_numpy(v) for v in variables]


def weight_counts(obj):
    """(variables, elements) of the trainable and the non-trainable weights."""
    count = lambda weights: (len(weights), int(sum(np.prod(w.shape) for w in weights)))
    return count(obj.trainable_weights), count(obj.non_trainable_weights)


def assert_float32_variables(variables):
    bad = [(v.path, v.dtype) for v in variables if "float" in str(v.dtype) and str(v.dtype) != "float32"]
    assert not bad, f"Variables not float32 under mixed_bfloat16: {bad[:5]}"


def save_and_load(model, tmp_path):
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    return keras.saving.load_model(path)


def subject(name):
    """The built object the checks drive: a layer inside a `LayerHarness`, a model as it is."""
    case = CASES[name]
    obj = case.build()
    if case.kind == "layer":
        obj = LayerHarness(obj, name)
        obj(case.inputs())
    else:
        case.run(obj, case.inputs())
    return obj


_SHARED = {}


def shared_subject(name):
    """`subject(name)` under float32, built once per class and shared by the `.keras` round trip and then the fit
    step (which runs after it and may change its weights), so each class is built and traced once for both."""
    if name not in _SHARED:
        _SHARED[name] = subject(name)
    return _SHARED[name]


# Metrics, initializers, schedules and optimizers are checked inside a tiny Dense model.

AUX_X, AUX_Y = np.random.default_rng(0).normal(size=(6, 4)).astype("float32"), np.array([0, 1, 2, 0, 1, 2])
AUX_IDS = np.random.default_rng(0).integers(0, MAX_LENGTH, (6, LENGTH)).astype("int32")


def auxiliary_model(kind, obj):
    """(compiled model, x, y) using `obj` as its metric, embedding initializer, schedule, optimizer or loss."""
    if kind == "initializer":
        inputs = keras.Input((LENGTH,), dtype="int32")
        x = keras.layers.Embedding(MAX_LENGTH, HIDDEN_DIM, embeddings_initializer=obj, name="embedding")(inputs)
        x = keras.layers.GlobalAveragePooling1D()(x)
        data = AUX_IDS
    else:
        inputs = keras.Input((4,))
        x = keras.layers.Dense(HIDDEN_DIM, activation="tanh")(inputs)
        data = AUX_X
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    optimizer = {"schedule": lambda: keras.optimizers.Adam(learning_rate=obj),
                 "optimizer": lambda: obj}.get(kind, lambda: keras.optimizers.Adam(1e-2))()
    loss = obj if kind == "loss" else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizer, loss=loss,
                  weighted_metrics=[obj] if kind == "metric" else None, jit_compile=False)
    return model, data, AUX_Y


# ---------------------------------------------------------------------------------------------
# The checks


@pytest.mark.parametrize("name", REGISTERED)
def test_config_round_trip(name):
    import inspect

    case = case_for(name)
    obj = case.build()
    config = obj.get_config()
    json.dumps(config)  # JSON-safe
    cls = type(obj)
    assert cls.from_config(config).get_config() == config
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(obj)))
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is cls and restored.get_config() == config
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"]
    # An optional Keras object left out while it is None (a task without a preprocessor) is fine.
    unset = {p.name for p in params if p.default is None and getattr(obj, p.name, None) is None}
    missing = {p.name for p in params} - set(config) - set(case.unserialized) - unset
    assert not missing, f"{name}.get_config() lacks __init__ arguments {sorted(missing)}"
    if case.kind == "schedule":
        steps = tf.constant([0, 1, 5, 10, 20])
        np.testing.assert_allclose(restored(steps), obj(steps))
    if case.kind == "initializer":
        np.testing.assert_allclose(restored((MAX_LENGTH, HIDDEN_DIM)), obj((MAX_LENGTH, HIDDEN_DIM)))


@pytest.mark.parametrize("name", REGISTERED)
def test_keras_file_round_trip(name, tmp_path):
    case = case_for(name)
    if case.kind in ("layer", "model"):
        model, inputs = shared_subject(name), case.inputs()
        expected = case.run(model, inputs) if case.kind == "model" else model(inputs)
        graph = tf.function(lambda x: case.run(model, x) if case.kind == "model" else model(x))(inputs)
        assert_same_outputs(expected, graph)
        restored = save_and_load(model, tmp_path)
        assert_same_outputs(expected, case.run(restored, inputs) if case.kind == "model" else restored(inputs), 1e-6)
        assert weight_counts(restored) == weight_counts(model)
        for a, b in zip(values(model.weights), values(restored.weights)):  # non-trainable state too (a MoCo queue)
            np.testing.assert_array_equal(a, b)
        inner = (lambda m: m.layer) if case.kind == "layer" else (lambda m: m)
        assert type(inner(restored)) is type(inner(model))
        assert as_json(inner(restored).get_config()) == as_json(inner(model).get_config())
        return
    model, x, y = auxiliary_model(case.kind, case.build())
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    restored = save_and_load(model, tmp_path)
    assert_same_outputs(model.predict(x, verbose=0), restored.predict(x, verbose=0), 1e-6)
    assert weight_counts(restored) == weight_counts(model)
    if case.kind == "metric":
        expected = model.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)
        got = restored.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)
        assert set(got) == set(expected) and restored.metrics[-1].metrics[0].name in got
        np.testing.assert_allclose([got[k] for k in sorted(got)], [expected[k] for k in sorted(expected)], rtol=1e-6)
    if case.kind == "loss":
        assert type(restored.loss) is type(model.loss) and restored.loss.get_config() == model.loss.get_config()
    if case.kind == "initializer":
        layer = restored.get_layer("embedding")
        assert type(layer.embeddings_initializer) is type(model.get_layer("embedding").embeddings_initializer)
    if case.kind in ("schedule", "optimizer"):
        optimizer = restored.optimizer
        assert type(optimizer) is type(model.optimizer)
        assert optimizer.get_config() == model.optimizer.get_config()
        assert len(optimizer.variables) == len(model.optimizer.variables)
        for a, b in zip(model.optimizer.variables, optimizer.variables):
            np.testing.assert_allclose(*values([a, b]))
    if case.kind == "schedule":
        assert type(restored.optimizer._learning_rate) is type(model.optimizer._learning_rate)


@pytest.mark.filterwarnings("ignore:Gradients do not exist")  # the pooler, under tasks that do not read it
@pytest.mark.parametrize("name", REGISTERED)
def test_one_fit_step_changes_trainable_weights(name):
    case = case_for(name)
    if case.kind in ("layer", "model"):
        model = shared_subject(name)
        _SHARED.pop(name, None)  # the fit step changes it: no later check reuses it
        if not case.trainable:
            assert not model.trainable_weights, f"{name} has trainable weights: give its case trainable=True"
            return
        before = values(model.trainable_weights)
        (case.fit or fit_harness)(model)
        weights = model.trainable_weights
    else:
        if not case.trainable:
            assert not getattr(case.build(), "trainable_weights", [])
            return
        model, x, y = auxiliary_model(case.kind, case.build())
        model.build(x.shape)
        before = values(model.trainable_weights)
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # 3 steps: past the schedule's warmup start at 0
        weights = model.trainable_weights
    after = values(weights)
    assert len(before) == len(after) and before
    assert all(np.isfinite(a).all() for a in after), f"{name}: non-finite weights after one step"
    unchanged = [w.path for w, a, b in zip(weights, after, before) if np.array_equal(a, b)
                 and not any(part in w.path for part in case.unused_weights)]
    assert not unchanged, f"{name}: trainable weights unchanged by one fit step: {unchanged}"


@pytest.mark.parametrize("name", REGISTERED)
def test_mixed_bfloat16(name):
    case = case_for(name)
    with dtype_policy("mixed_bfloat16"):
        if case.kind in ("layer", "model"):
            model = subject(name)
            for training in (False, True):
                outputs = case.run(model, case.inputs(), training) if case.kind == "model" else model(
                    case.inputs(), training=training)
                assert_finite(outputs)
            assert_float32_variables(model.weights)
            if case.trainable:  # the policy reaches the layers that compute
                assert any(layer.compute_dtype == "bfloat16" for layer in model._flatten_layers() if layer.weights)
        elif case.kind == "metric":
            metric = case.build()
            logits = tf.cast(tf.random.stateless_normal((BATCH, SLOTS, VOCABULARY_SIZE), [0, 1]), "bfloat16")
            labels = tf.constant([[1, 2, 3], [4, 5, 6]])
            metric.update_state(labels, logits, tf.constant([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]))
            assert_finite(metric.result())
            assert_float32_variables(metric.variables)
        else:
            obj = case.build()
            model, x, y = auxiliary_model(case.kind, obj)
            history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
            assert np.isfinite(history.history["loss"]).all()
            assert_finite(model.predict(x, verbose=0))
            assert_float32_variables(model.weights + model.optimizer.variables)
            if case.kind == "schedule":
                assert obj(tf.constant(3)).dtype == tf.float32
    assert keras.config.dtype_policy().name == "float32"
