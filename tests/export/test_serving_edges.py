"""Every exported signature at the serving boundary: an empty batch gets an empty answer, a `[MASK]` cut off by
truncation gets no made-up tokens, and padding a batch to its longest row (not to the model's sequence length)
changes no output. The exports are loaded in a fresh process with `tfssl.export.load`, as a Python client of
TF Serving would load them."""

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import json_from_fresh_process
from tests.models.test_text_classifier import _backbone
from tfssl.data.sentence_pipeline import encode_sentences
from tfssl.export import (TextClassificationModule, export_fill_mask, export_sentence_embedder,
                          export_text_classifier, export_text_generator)
from tfssl.layers.sentence_pooling import SentencePooling
from tfssl.models import (CausalLMPretrainer, DecoderBackbone, MaskedLMPretrainer, SentenceEmbedder, TextClassifier,
                          TextGenerator, embed_texts)
from tfssl.tokenizers import CharacterTokenizer

SENTENCES = ["the union", "war and trade of the people of the united states of america", "", "navy",
             "congress " * 40]

FRESH_PROCESS = """
import json, sys
import tensorflow as tf
import tfssl.export
paths = json.loads(sys.argv[1])
empty = tf.constant([], tf.string)
settings = dict(max_new_tokens=tf.constant(4), temperature=tf.constant(0.0), top_k=tf.constant(0),
                top_p=tf.constant(1.0), seed=tf.constant(0))
calls = {
    "embed": lambda m: m.signatures["embed"](text=empty),
    "similarity": lambda m: m.signatures["similarity"](first=empty, second=empty),
    "classify": lambda m: m.signatures["serving_default"](text=empty),
    "classify_pairs": lambda m: m.signatures["serving_default"](text=empty, text_pair=empty),
    "fill_mask": lambda m: m.signatures["serving_default"](text=empty),
    "generate": lambda m: m.signatures["generate"](prompt=empty, **settings),
    "score": lambda m: m.signatures["score"](text=empty),
}
export_of = {"similarity": "embed", "score": "generate"}  # the others: their own name
out = {}
for name, call in calls.items():
    model = tfssl.export.load(paths[export_of.get(name, name)])
    out[name] = {key: list(value.shape) for key, value in call(model).items()}
fill = tfssl.export.load(paths["fill_mask"]).signatures["serving_default"](
    text=tf.constant(["the union " * 40 + "[MASK]", "the [MASK] of the union"]))
out["cut_mask"] = {"mask_count": fill["mask_count"].numpy().tolist(),
                   "tokens": [[[t.decode() for t in slot] for slot in row] for row in fill["tokens"].numpy()],
                   "scores": fill["scores"].numpy().tolist(), "token_ids": fill["token_ids"].numpy().tolist()}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def exports(tokenizer, tmp_path_factory):
    root = tmp_path_factory.mktemp("edges")
    tf.keras.utils.set_random_seed(0)
    backbone = _backbone(tokenizer.vocabulary_size)
    classifier = TextClassifier(backbone, 2)
    classifier.build()
    pretrainer = MaskedLMPretrainer(backbone)
    pretrainer.build()
    characters = CharacterTokenizer.from_texts(SENTENCES)
    lm = CausalLMPretrainer(DecoderBackbone(characters.vocabulary_size, 1, 2, 32, 64, max_sequence_length=32))
    lm.build()
    return {
        "embed": export_sentence_embedder(SentenceEmbedder(backbone, tokenizer, "mean", 64), str(root / "embed")),
        "classify": export_text_classifier(TextClassificationModule(classifier, tokenizer, ["a", "b"], 64),
                                           str(root / "classify")),
        "classify_pairs": export_text_classifier(
            TextClassificationModule(classifier, tokenizer, ["a", "b"], 64, pairs=True), str(root / "pairs")),
        "fill_mask": export_fill_mask(pretrainer, tokenizer, str(root / "fill"), 64),
        "generate": export_text_generator(TextGenerator(lm, characters), str(root / "generate")),
    }


def test_every_signature_answers_an_empty_batch_with_empty_outputs(exports):
    import json

    out = json_from_fresh_process(FRESH_PROCESS.replace("sys.argv[1]", repr(json.dumps(exports))))
    for name in ("embed", "similarity", "classify", "classify_pairs", "fill_mask", "generate", "score"):
        shapes = out[name]
        assert shapes and all(shape[0] == 0 for shape in shapes.values()), (name, shapes)
    assert out["embed"]["embeddings"] == [0, 32] and out["classify"]["probabilities"] == [0, 2]
    assert out["fill_mask"]["tokens"] == [0, 16, 5]
    # A mask past the 62-token truncation is not answered, and no slot without a mask holds a made-up token.
    cut = out["cut_mask"]
    assert cut["mask_count"] == [0, 1]
    assert all(t == "" for slot in cut["tokens"][0] for t in slot) and not any(map(any, cut["scores"][0]))
    assert all(t != "" for t in cut["tokens"][1][0]) and all(t == "" for slot in cut["tokens"][1][1:] for t in slot)
    assert set(np.ravel(cut["token_ids"][1][1:])) == {-1} and sum(cut["scores"][1][0]) > 0


def test_padding_to_the_longest_row_gives_the_full_length_outputs(tokenizer):
    tf.keras.utils.set_random_seed(1)
    backbone = _backbone(tokenizer.vocabulary_size)
    embedder = SentenceEmbedder(backbone, tokenizer, "mean", 64)
    texts = tf.constant(SENTENCES[:4])  # short rows: the batch is 16 wide, not 64
    assert encode_sentences(texts, tokenizer, 64, embedder.pad_to_multiple)["token_ids"].shape[1] == 16
    full = encode_sentences(texts, tokenizer, 64)  # every row padded to 64
    expected = tf.math.l2_normalize(SentencePooling("mean").pool(backbone(full), full["padding_mask"]), axis=-1)
    np.testing.assert_allclose(embedder(texts).numpy(), expected.numpy(), atol=1e-5)

    classifier = TextClassifier(backbone, 3)
    module = TextClassificationModule(classifier, tokenizer, ["a", "b", "c"], 64)
    from tfssl.data.classification_pipeline import encode_texts

    texts = tf.constant([t for t in SENTENCES if t])  # the classifier refuses an empty string
    np.testing.assert_allclose(module.predict(texts)["logits"].numpy(),
                               classifier(encode_texts(texts, tokenizer, 64, pad_to_multiple=None)).numpy(), atol=1e-5)


def test_batches_sorted_by_length_come_back_in_the_callers_order(tokenizer):
    embedder = SentenceEmbedder(_backbone(tokenizer.vocabulary_size), tokenizer, "mean", 64)
    texts = SENTENCES * 3
    one_call = embedder(tf.constant(texts)).numpy()
    np.testing.assert_allclose(embed_texts(embedder, texts, batch_size=4), one_call, atol=1e-5)
