"""Strategy choice, and masked-LM training under MirroredStrategy on 2 logical CPU devices
giving the same losses as one device with the same global batch (a fresh process, since
logical devices must be set before TensorFlow starts)."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tfssl.training.strategy import choose_strategy

SCRIPT = r"""
import json, sys
import numpy as np, tensorflow as tf, keras
from tests.synthetic_mlm import masked_lm_examples, two_logical_cpus
two_logical_cpus()
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
from tfssl.training.strategy import choose_strategy

x, y, w = masked_lm_examples()
losses = {}
for name in ("one_device", "mirrored"):
    strategy = choose_strategy(name)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = MaskedLMPretrainer(EncoderBackbone(60, 2, 2, 32, 64, max_sequence_length=16, dropout=0.0))
        model.build()
        model.compile(learning_rate=1e-3, warmup_steps=1, total_steps=100, jit_compile=False)
    ds = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(16)
    hist = model.fit(ds, epochs=3, verbose=0, shuffle=False).history
    losses[name] = {"loss": hist["loss"], "replicas": strategy.num_replicas_in_sync}
print(json.dumps(losses))
"""


def test_choose_strategy_names():
    assert choose_strategy("auto").num_replicas_in_sync == 1
    assert isinstance(choose_strategy("one_device"), tf.distribute.OneDeviceStrategy)
    with pytest.raises(ValueError, match="Unknown strategy"):
        choose_strategy("tpu-pod")


def test_mirrored_on_two_cpus_matches_one_device():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600,
                          cwd=os.path.join(os.path.dirname(__file__), "..", ".."))  # the script imports tests.synthetic_mlm
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["mirrored"]["replicas"] == 2 and result["one_device"]["replicas"] == 1
    one, mirrored = result["one_device"]["loss"], result["mirrored"]["loss"]
    assert one[-1] < one[0]
    for a, b in zip(one, mirrored):
        assert abs(a - b) < 1e-4, (one, mirrored)


def test_worker_roles_and_outputs_follow_tf_config(monkeypatch):
    from tfssl.config import MLMPretrainConfig
    from tfssl.training.strategy import for_this_worker, worker_role

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert worker_role() == (0, True)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        choose_strategy("multi_worker")
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
    assert worker_role() == (1, False)
    config = for_this_worker(MLMPretrainConfig(name="run", output_dir="runs"))
    assert (config.output_dir, config.name, config.export) == (os.path.join("runs", "run", "workers"), "1", False)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": dict(cluster, chief=["127.0.0.1:3"]),
                                                "task": {"type": "worker", "index": 0}}))
    assert worker_role() == (0, False)  # with a chief task, worker 0 is not the chief
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        worker_role()



def test_xla_is_kept_for_one_replica_and_accelerator_replicas_only():
    from tfssl.training.strategy import jit_compile_for, xla_across

    one = tf.distribute.get_strategy()
    assert jit_compile_for(one, True) and not jit_compile_for(one, False)
    cpus = [f"/job:localhost/replica:0/task:0/device:CPU:{i}" for i in range(2)]
    assert xla_across(cpus[:1]) and not xla_across(cpus)
    assert not xla_across([f"/job:worker/replica:0/task:{i}/device:CPU:0" for i in range(2)])
    assert xla_across([f"/job:localhost/replica:0/task:0/device:GPU:{i}" for i in range(2)])
