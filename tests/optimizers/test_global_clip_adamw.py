"""Clipping the global batch's gradient: 2 mirrored replicas with `GlobalClipAdamW` train like one
device with the clip active, where Keras' AdamW (clipping each replica's share) does not."""

import json
import subprocess
import sys

import keras
import numpy as np

from tests.helpers import FRESH_ENV
from tfssl.optimizers.global_clip_adamw import GlobalClipAdamW

SCRIPT = r"""
import json
import numpy as np, tensorflow as tf, keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfssl.optimizers.global_clip_adamw import GlobalClipAdamW
from tfssl.training.strategy import choose_strategy

rng = np.random.default_rng(0)
x, y = rng.normal(size=(64, 8)).astype("float32"), rng.normal(size=(64, 1)).astype("float32") * 10
out = {}
for optimizer in ("GlobalClipAdamW", "AdamW"):
    for name in ("one_device", "mirrored"):
        strategy = choose_strategy(name)
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(1)])
            cls = GlobalClipAdamW if optimizer == "GlobalClipAdamW" else keras.optimizers.AdamW
            model.compile(optimizer=cls(learning_rate=0.05, global_clipnorm=0.1), loss="mse", jit_compile=False)
        model.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0)
        out[f"{optimizer}/{name}"] = model.predict(x[:8], verbose=0).ravel().tolist()
print(json.dumps(out))
"""


def test_mirrored_replicas_clip_the_summed_gradient():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=FRESH_ENV, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = {k: np.array(v) for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}
    np.testing.assert_allclose(out["GlobalClipAdamW/mirrored"], out["GlobalClipAdamW/one_device"], atol=1e-5)
    # Keras' own AdamW clips each replica's half of the gradient (keras 3.15); when an upgrade fixes that,
    # this difference disappears and GlobalClipAdamW can go.
    keras_gap = float(np.max(np.abs(out["AdamW/mirrored"] - out["AdamW/one_device"])))
    print(f"keras AdamW mirrored vs one device: {keras_gap:.4f}")


def test_one_device_is_keras_adamw_and_config_round_trips():
    config = GlobalClipAdamW(learning_rate=1e-3, weight_decay=0.1, global_clipnorm=1.0).get_config()
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(GlobalClipAdamW.from_config(config)))
    assert isinstance(restored, GlobalClipAdamW) and restored.global_clipnorm == 1.0
