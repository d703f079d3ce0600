import random

import keras
import tensorflow as tf

from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer
from tfssl.tokenizers.wordpiece_trainer import train_wordpiece


def corpus_lines(documents, n=2000, seed=0):
    lines = [line for d in documents for line in d.text.split("\n") if line.strip()]
    random.Random(seed).shuffle(lines)
    return lines[:n]


def test_in_graph_ids_equal_hf_fast_tokenizer_on_2000_corpus_lines(sotu_documents, tmp_path):
    """In-graph (tensorflow-text) ids must equal transformers' fast tokenizer's on >= 99.5%."""
    from transformers import AutoTokenizer

    vocab_dir = train_wordpiece([d.text for d in sotu_documents], str(tmp_path), 8192, show_progress=False)
    hf = AutoTokenizer.from_pretrained(vocab_dir)
    tokenizer = WordPieceTokenizer.from_directory(vocab_dir)
    lines = corpus_lines(sotu_documents)
    ours = tokenizer(tf.constant(lines)).to_list()
    mismatches = [
        line for line, ids in zip(lines, ours) if hf(line, add_special_tokens=False)["input_ids"] != ids
    ]
    assert len(lines) == 2000
    assert len(mismatches) <= 0.005 * len(lines), mismatches[:10]


def test_accents_case_and_punctuation_match_hf(vocab_dir):
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(vocab_dir)
    tokenizer = WordPieceTokenizer.from_directory(vocab_dir)
    texts = ["Résumé of the CONGRESS, 1790!", "  tabs\tand\nnewlines  ", "", "naïve café—“quotes”"]
    assert tokenizer(tf.constant(texts)).to_list() == [hf(t, add_special_tokens=False)["input_ids"] for t in texts]


def test_literal_mask_token_becomes_mask_id(tokenizer):
    out = tokenizer.tokenize_with_masks(tf.constant(["The [MASK] is strong.", "no mask", "[MASK] a [MASK]"])).to_list()
    mask = tokenizer.mask_token_id
    assert out[0].count(mask) == 1 and out[0][0] != mask
    assert mask not in out[1]
    assert out[2][0] == mask and out[2][-1] == mask and out[2].count(mask) == 2
    plain = tokenizer(tf.constant(["The", " is strong."])).to_list()
    assert out[0] == plain[0] + [mask] + plain[1]


def test_runs_inside_dataset_map_and_round_trips_config(tokenizer):
    ds = tf.data.Dataset.from_tensor_slices(["the union", "of states"]).batch(2).map(tokenizer)
    (batch,) = list(ds)
    assert batch.to_list() == tokenizer(tf.constant(["the union", "of states"])).to_list()
    clone = WordPieceTokenizer.from_config(tokenizer.get_config())
    assert clone(tf.constant(["the union"])).to_list() == tokenizer(tf.constant(["the union"])).to_list()
    assert keras.saving.get_registered_object("tfssl>WordPieceTokenizer") is WordPieceTokenizer


def test_id_to_token_inverts_ids(tokenizer):
    ids = tokenizer(tf.constant(["the union"]))
    tokens = tokenizer.id_to_token(ids.flat_values).numpy().tolist()
    assert b"".join(t.replace(b"##", b"") for t in tokens) == b"theunion"
