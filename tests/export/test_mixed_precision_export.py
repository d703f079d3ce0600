"""A model trained in mixed precision exports and serves float32 outputs equal to what it gives in process.

Exports keep the model's compute policy (the served model computes as the trained one did) and cast every
output to float32 at the signature. Loaded in a fresh process with `tfssl.export.load`, as a client would."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import json_from_fresh_process
from tests.models.test_text_classifier import _backbone
from tfssl.export import TextClassificationModule, export_sentence_embedder, export_text_classifier, export_text_generator
from tfssl.models import CausalLMPretrainer, DecoderBackbone, SentenceEmbedder, TextClassifier, TextGenerator, set_precision
from tfssl.tokenizers import CharacterTokenizer

TEXTS = ["the union", "war and trade of the people", "navy and army of the united states"]

FRESH_PROCESS = """
import json, sys
import tensorflow as tf
import tfssl.export
paths, texts = json.loads(sys.argv[1])
text = tf.constant(texts)
out = {}
for name, signature, kwargs in (("embed", "embed", {"text": text}), ("classify", "serving_default", {"text": text}),
                                ("score", "score", {"text": text})):
    result = tfssl.export.load(paths[name]).signatures[signature](**kwargs)
    out[name] = {key: [value.dtype.name, value.numpy().tolist()] for key, value in result.items() if value.dtype.is_floating}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def mixed_exports(tokenizer, tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    tf.keras.utils.set_random_seed(0)
    backbone = _backbone(tokenizer.vocabulary_size)
    classifier = TextClassifier(backbone, 3)
    classifier.build()
    float32_embeddings = SentenceEmbedder(backbone, tokenizer, "mean", 64)(tf.constant(TEXTS)).numpy()
    set_precision(classifier, "mixed_bfloat16")  # the backbone is shared: the embedder computes in bfloat16 too
    embedder = SentenceEmbedder(backbone, tokenizer, "mean", 64)
    set_precision(embedder, "mixed_bfloat16")
    module = TextClassificationModule(classifier, tokenizer, ["a", "b", "c"], 64)
    characters = CharacterTokenizer.from_texts(TEXTS)
    lm = CausalLMPretrainer(DecoderBackbone(characters.vocabulary_size, 1, 2, 32, 64, max_sequence_length=64))
    lm.build()
    set_precision(lm, "mixed_bfloat16")
    generator = TextGenerator(lm, characters)
    in_process = {"embed": {"embeddings": embedder(tf.constant(TEXTS))},
                  "classify": module.predict(tf.constant(TEXTS)), "score": generator.score(tf.constant(TEXTS))}
    paths = {"embed": export_sentence_embedder(embedder, str(root / "embed")),
             "classify": export_text_classifier(module, str(root / "classify")),
             "score": export_text_generator(generator, str(root / "generate"))}
    in_process["float32_embeddings"] = float32_embeddings
    return paths, in_process


def test_served_outputs_are_float32_and_equal_the_in_process_outputs(mixed_exports):
    paths, in_process = mixed_exports
    served = json_from_fresh_process(FRESH_PROCESS.replace("sys.argv[1]", repr(json.dumps([paths, TEXTS]))))
    compared = 0
    for name, outputs in in_process.items():
        if name == "float32_embeddings":
            continue
        for key, value in outputs.items():
            if not value.dtype.is_floating:
                continue
            dtype, numbers = served[name][key]
            assert dtype == "float32" and value.dtype == tf.float32, (name, key, dtype, value.dtype)
            np.testing.assert_allclose(np.array(numbers), value.numpy(), atol=1e-5, err_msg=f"{name}/{key}")
            compared += 1
    assert compared >= 5



def test_the_exports_computed_in_bfloat16(mixed_exports):
    """Not float32 in disguise: the same weights computed in float32 give other, nearby embeddings."""
    paths, in_process = mixed_exports
    gap = np.abs(in_process["embed"]["embeddings"].numpy() - in_process["float32_embeddings"]).max()
    assert 1e-4 < gap < 0.05, gap
