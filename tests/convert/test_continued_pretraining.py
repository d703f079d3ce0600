"""Domain-adaptive pretraining from a Hugging Face checkpoint: `tfssl pretrain mlm --init DIR`
continues a BERT on a local corpus with the checkpoint's own vocabulary (the loss falls), and
`tfssl convert to-hf` hands the result back: `transformers` loads it as `BertForMaskedLM` and
gives tfssl's masked-LM logits."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tests.helpers import copy_sotu_speeches, tfssl_cli  # noqa: E402


@pytest.fixture(scope="module")
def continued(tmp_path_factory, vocab_dir):
    root = tmp_path_factory.mktemp("continued")
    vocabulary_size = sum(1 for _ in open(os.path.join(vocab_dir, "vocab.txt"), encoding="utf-8"))
    config = transformers.BertConfig(vocab_size=vocabulary_size, hidden_size=64, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=128, max_position_embeddings=128)
    torch.manual_seed(0)
    transformers.BertForMaskedLM(config).save_pretrained(root / "hf-bert")
    shutil.copy(os.path.join(vocab_dir, "vocab.txt"), root / "hf-bert" / "vocab.txt")
    (root / "hf-bert" / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    corpus = copy_sotu_speeches(root / "corpus", count=8)
    done = tfssl_cli("pretrain", "mlm", "--init", str(root / "hf-bert"), "--name", "continued",
                     f"--corpus={corpus}", "--sequence_length=64", "--batch_size=16", "--epochs=3",
                     "--steps_per_epoch=25", "--learning_rate=1e-3", "--warmup_steps=10", "--jit_compile=false",
                     "--export=false", f"--output_dir={root / 'runs'}", "--verbose=0")
    assert done.returncode == 0, done.stderr[-3000:]
    return root


def test_continued_run_learned_with_the_checkpoint_vocabulary(continued, vocab_dir):
    run = continued / "runs" / "continued"
    with open(run / "metrics.json", encoding="utf-8") as f:
        metrics = json.load(f)
    losses = metrics["history"]["loss"]
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.9 * losses[0], losses
    assert (run / "tokenizer" / "vocab.txt").read_text() == open(os.path.join(vocab_dir, "vocab.txt")).read()
    assert not (run / "tokenizer" / "model.safetensors").exists()  # only tokenizer files travel
    assert json.loads((run / "hf_config.json").read_text())["model_type"] == "bert"


def test_continued_run_loads_in_transformers_with_the_same_logits(continued, tmp_path):
    import keras

    import tfssl.models  # noqa: F401
    from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    run = continued / "runs" / "continued"
    done = tfssl_cli("convert", "to-hf", str(run), str(tmp_path / "hf"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["class"] == "BertForMaskedLM"

    model, info = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "hf", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    text = "The state of the Union is strong, and our economy is growing."
    ids = np.array([hf_tokenizer(text)["input_ids"]], dtype="int32")
    ours = WordPieceTokenizer.from_directory(str(run / "tokenizer"))
    assert ids[0, 1:-1].tolist() == ours(tf.constant([text])).to_list()[0]
    with torch.no_grad():
        expected = model.eval()(input_ids=torch.tensor(ids, dtype=torch.long)).logits.numpy()
    pretrainer = keras.saving.load_model(str(run / "model.keras"))
    positions = np.arange(ids.shape[1], dtype="int32")[None]
    logits = pretrainer({"token_ids": ids, "padding_mask": np.ones_like(ids), "mask_positions": positions}).numpy()
    assert np.abs(logits - expected).max() < 1e-4
    original = transformers.AutoModelForMaskedLM.from_pretrained(continued / "hf-bert").eval()
    with torch.no_grad():
        before = original(input_ids=torch.tensor(ids, dtype=torch.long)).logits.numpy()
    assert np.abs(before - expected).max() > 0.1  # continued training changed the model
