"""The task base class: configs saved before it existed still load, compile defaults, raw strings in."""

import json

import keras
import numpy as np
import pytest

from tests.helpers import assert_all_close, run_model_saving_test
from tfssl.models.contrastive_pretrainer import ContrastivePretrainer
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
from tfssl.models.task import Task
from tfssl.models.text_classifier import TextClassifier
from tfssl.models.token_classifier import TokenClassifier
from tfssl.preprocessors.masked_lm_preprocessor import MaskedLMPreprocessor
from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [str(i) for i in range(40)]
OLD_BACKBONE = {  # an EncoderBackbone as `.keras` files before the task base class stored it
    "module": "tfssl.models.encoder_backbone", "class_name": "EncoderBackbone",
    "registered_name": "tfssl>EncoderBackbone",
    "config": {"name": "encoder_backbone", "trainable": True, "vocabulary_size": 45, "num_layers": 1, "num_heads": 2,
               "hidden_dim": 16, "intermediate_dim": 32, "sequence_length": 32, "num_segments": 2, "dropout": 0.1,
               "activation": "gelu", "layer_norm_epsilon": 1e-12, "norm_first": False, "initializer_range": 0.02,
               "position_initializer": "sinusoidal", "rotary": False},
}


def old_form(class_name, module, **config):
    return {"module": module, "class_name": class_name, "registered_name": f"tfssl>{class_name}",
            "config": {"name": class_name.lower(), "trainable": True, "backbone": OLD_BACKBONE, **config}}


@pytest.mark.parametrize("serialized", [
    old_form("MaskedLMPretrainer", "tfssl.models.masked_lm_pretrainer"),
    old_form("TextClassifier", "tfssl.models.text_classifier", num_classes=3, task="classification", pooling="mean",
             dropout=0.1, freeze_backbone=False, freeze_token_embeddings=True),
    old_form("TokenClassifier", "tfssl.models.token_classifier", num_tags=5, dropout=0.1, freeze_backbone=True),
    old_form("ContrastivePretrainer", "tfssl.models.contrastive_pretrainer", pooling="cls_mlp", temperature=0.05,
             symmetric=False, hard_negative_weight=0.0, queue_size=4, momentum=0.999),
])
def test_configs_saved_before_the_task_base_class_still_load(serialized):
    model = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    model.build_from_config({})
    assert isinstance(model, Task) and model.preprocessor is None and model.built
    assert model.backbone.vocabulary_size == 45 and model.backbone.max_sequence_length == 32
    saved = model.get_config()
    assert "preprocessor" not in saved  # saved as before when there is none
    for key, value in serialized["config"].items():
        if key not in ("backbone", "name"):
            assert saved[key] == value


def backbone():
    return EncoderBackbone(len(VOCABULARY), 1, 2, 16, 32, max_sequence_length=32, dropout=0.0)


def test_compile_defaults_and_overrides():
    model = TextClassifier(backbone(), 2)
    model.compile(learning_rate=5e-4, total_steps=10)
    assert float(model.optimizer.learning_rate) == pytest.approx(5e-4)  # warmup_steps=0 by default: the peak at once
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy) and model.jit_compile
    tagger = TokenClassifier(backbone(), 3)
    tagger.compile(optimizer="adam", jit_compile=False)
    assert isinstance(tagger.optimizer, keras.optimizers.Adam) and tagger.get_compile_config() is None
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        ContrastivePretrainer(backbone(), pooling="cls").compile(gradient_accumulation_steps=2)


def test_a_pretrainer_fits_raw_documents_and_saves_its_preprocessor():
    keras.utils.set_random_seed(0)  # before the weights are made: the test must not depend on the run's seed
    tokenizer = WordPieceTokenizer(VOCABULARY)
    documents = [" ".join(str((start + i) % 40) for i in range(60)) for start in range(80)]  # counting: learnable
    preprocessor = MaskedLMPreprocessor(tokenizer, sequence_length=16, seed=0)
    model = MaskedLMPretrainer(EncoderBackbone(len(VOCABULARY), 2, 2, 64, 128, max_sequence_length=32, dropout=0.0),
                               preprocessor=preprocessor)
    model.compile(learning_rate=3e-3, warmup_steps=10, total_steps=130, jit_compile=False)
    history = model.fit(documents, batch_size=16, epochs=6, verbose=0, validation_data=documents[:8])
    assert history.history["loss"][-1] < 0.85 * history.history["loss"][0], history.history
    assert history.history["val_masked_accuracy"][-1] > 3 / 40  # well above chance (1 in 40)
    assert "val_masked_accuracy" in history.history
    x, _, _ = preprocessor(np.array(documents[:2]), seed=np.array([0, 1]))
    restored = run_model_saving_test(model, x)
    assert isinstance(restored.preprocessor, MaskedLMPreprocessor) and restored.preprocessor.sequence_length == 16
    assert_all_close(restored.predict(documents[:4], verbose=0), model.predict(documents[:4], verbose=0))
