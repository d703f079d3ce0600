"""Backbones saved before issue 18 still load: old config keys (`sequence_length`) and old weight
paths (attention weights on the block, the decoder's `mlp_*` sublayers)."""

import io
import json
import os
import tempfile
import zipfile

import h5py
import keras
import numpy as np

from tests.helpers import assert_all_close
from tfssl.layers.token_and_position_embedding import TokenAndPositionEmbedding
from tfssl.models.decoder_backbone import DecoderBackbone
from tfssl.models.encoder_backbone import EncoderBackbone

IDS = np.random.default_rng(0).integers(0, 31, (2, 7)).astype("int32")
SIZES = dict(vocabulary_size=31, num_layers=2, num_heads=2, hidden_dim=8, intermediate_dim=16)


def test_configs_with_old_key_names_load():
    for cls in (EncoderBackbone, DecoderBackbone):
        config = {"name": "old", "trainable": True, **SIZES, "sequence_length": 24}
        backbone = cls.from_config(config)
        assert backbone.max_sequence_length == 24 and "sequence_length" not in backbone.get_config()
        serialized = keras.saving.serialize_keras_object(cls(**SIZES, max_sequence_length=24))
        serialized["config"]["sequence_length"] = serialized["config"].pop("max_sequence_length")
        assert keras.saving.deserialize_keras_object(serialized).max_sequence_length == 24
    layer = TokenAndPositionEmbedding.from_config({"vocabulary_size": 31, "sequence_length": 12, "hidden_dim": 8})
    assert layer.max_sequence_length == 12


OLD_WEIGHT_PATHS = {  # current sublayer path inside a block -> its path before issue 18
    "attention/qkv_dense": "qkv_dense",
    "attention/output_dense": "output_dense",
}
OLD_DECODER_PATHS = {"ffn_layer_norm": "mlp_layer_norm", "ffn_output_dense": "mlp_output_dense"}


def _rewrite_as_old(path, renames):
    """Rewrites a `.keras` archive the way tfssl wrote it before issue 18 (checked against files
    saved by that version): `sequence_length` in the config, the old weight paths."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    config["config"]["sequence_length"] = config["config"].pop("max_sequence_length")
    files["config.json"] = json.dumps(config).encode()
    buffer = io.BytesIO(files["model.weights.h5"])
    with h5py.File(buffer, "a") as weights:
        for block in weights["blocks"]:
            group = weights["blocks"][block]
            for new, old in renames.items():
                group.move(new, old)
            del group["attention"]
    files["model.weights.h5"] = buffer.getvalue()
    old_path = path.replace(".keras", "_old.keras")
    with zipfile.ZipFile(old_path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return old_path


def test_keras_files_in_the_old_layout_load_with_the_same_outputs():
    for backbone, renames in ((EncoderBackbone(**SIZES, max_sequence_length=16), OLD_WEIGHT_PATHS),
                              (DecoderBackbone(**SIZES, max_sequence_length=16), {**OLD_WEIGHT_PATHS, **OLD_DECODER_PATHS})):
        expected = backbone({"token_ids": IDS})
        path = os.path.join(tempfile.mkdtemp(), "backbone.keras")
        backbone.save(path)
        restored = keras.saving.load_model(_rewrite_as_old(path, renames))
        assert restored.max_sequence_length == 16
        assert_all_close(expected, restored({"token_ids": IDS}), atol=1e-6)
