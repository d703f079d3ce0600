"""`tfssl prepare`: shards equal the in-graph pipeline's blocks, process count does not change a byte, a
SIGKILLed prepare resumes to identical shards, damaged shards and a wrong vocabulary fail with the fix, and a
write that fails (the file-size limit standing in for a full disk) leaves no half-written shard."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.helpers import FRESH_ENV, tfssl_cli
from tfssl.data.corpus import Document, load_corpus, split_documents
from tfssl.data.corpus_preparation import prepare_corpus
from tfssl.data.corpus_survey import vocabulary_sample
from tfssl.data.mlm_pipeline import packed_blocks
from tfssl.data.prepared_dataset import PreparedDataset, all_blocks
from tfssl.data.prepared_manifest import PreparedDataError, read_manifest, verify_hashes

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def shard_files(directory):
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory)) if name.endswith(".bin")}


def test_one_shard_equals_the_in_graph_tokenizer_and_packer(corpus, vocab_dir, tokenizer, tmp_path):
    out = prepare_corpus(corpus, str(tmp_path / "p"), tokenizer_dir=vocab_dir, sequence_length=64,
                         shard_characters=10**9, processes=0, show_progress=False)
    train, held_out = split_documents(load_corpus(corpus), 0.05, 0)
    expected = packed_blocks([d.text for d in train], tokenizer, 64)
    expected = np.stack(list(expected.as_numpy_iterator()))
    assert np.array_equal(all_blocks(out, "train"), expected)  # `tokenizers` ids == tensorflow-text ids
    held = np.stack(list(packed_blocks([d.text for d in held_out], tokenizer, 64).as_numpy_iterator()))
    assert np.array_equal(all_blocks(out, "held_out"), held)
    manifest = read_manifest(out)
    assert manifest["documents"] == {"train": len(train), "held_out": len(held_out)} and len(held_out) >= 1
    assert manifest["dtype"] == "uint16" and manifest["tokenizer"]["vocabulary_size"] == tokenizer.vocabulary_size


def test_process_pool_and_reruns_give_the_same_bytes(corpus, vocab_dir, tmp_path):
    args = dict(tokenizer_dir=vocab_dir, sequence_length=64, shard_characters=20_000, show_progress=False)
    pooled = prepare_corpus(corpus, str(tmp_path / "pool"), processes=2, **args)
    serial = prepare_corpus(corpus, str(tmp_path / "serial"), processes=0, **args)
    assert len(shard_files(tmp_path / "pool")) > 8  # many more shards than workers
    assert shard_files(tmp_path / "pool") == shard_files(tmp_path / "serial")
    assert read_manifest(pooled)["shards"] == read_manifest(serial)["shards"]
    verify_hashes(pooled)
    before = os.path.getmtime(tmp_path / "pool" / "manifest.json")
    assert prepare_corpus(corpus, pooled, processes=2, **args) == pooled  # already prepared: nothing redone
    assert os.path.getmtime(tmp_path / "pool" / "manifest.json") == before
    with pytest.raises(PreparedDataError, match="another source or with other settings"):
        prepare_corpus(corpus, pooled, processes=0, **{**args, "sequence_length": 32})


_PREPARE = """
import sys
from tfssl.data.corpus_preparation import prepare_corpus
if __name__ == "__main__":
    prepare_corpus(sys.argv[1], sys.argv[2], tokenizer_dir=sys.argv[3], sequence_length=64, shard_characters=5_000,
                   processes=1, show_progress=False)
"""


def test_a_killed_prepare_resumes_to_identical_shards(corpus, vocab_dir, tmp_path):
    command = [sys.executable, "-c", _PREPARE, corpus]
    full = subprocess.run(command + [str(tmp_path / "full"), vocab_dir], env=FRESH_ENV, capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert full.returncode == 0, full.stderr[-2000:]
    killed = subprocess.Popen(command + [str(tmp_path / "killed"), vocab_dir], env=FRESH_ENV, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and killed.poll() is None:
        if len(list((tmp_path / "killed").glob("*.done"))) >= 5:
            killed.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    killed.wait(timeout=60)
    assert killed.returncode == -signal.SIGKILL, "prepare finished before it could be killed"
    assert not (tmp_path / "killed" / "manifest.json").exists()
    finished_before = sorted(n for n in os.listdir(tmp_path / "killed") if n.endswith(".done"))
    resumed = subprocess.run(command + [str(tmp_path / "killed"), vocab_dir], env=FRESH_ENV, capture_output=True,
                             text=True, timeout=600, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert len(finished_before) >= 5
    assert shard_files(tmp_path / "killed") == shard_files(tmp_path / "full")
    assert read_manifest(str(tmp_path / "killed"))["shards"] == read_manifest(str(tmp_path / "full"))["shards"]
    assert not [n for n in os.listdir(tmp_path / "killed") if ".tmp" in n]


def test_damaged_shards_and_a_wrong_vocabulary_fail_with_the_fix(corpus, vocab_dir, tmp_path):
    out = prepare_corpus(corpus, str(tmp_path / "p"), tokenizer_dir=vocab_dir, sequence_length=64,
                         shard_characters=200_000, processes=0, show_progress=False)
    shard = tmp_path / "p" / "train-00001.bin"
    data = shard.read_bytes()
    shard.write_bytes(data[:-10])
    with pytest.raises(PreparedDataError, match=r"train-00001\.bin has .* bytes.*rerun the same `tfssl prepare`"):
        PreparedDataset(out)
    shard.write_bytes(data[:-2] + b"\xff\xff")
    PreparedDataset(out)  # sizes agree: only the hashes see it
    with pytest.raises(PreparedDataError, match=r"train-00001\.bin does not match its SHA-256"):
        verify_hashes(out)
    shard.write_bytes(data)

    other = tmp_path / "other-vocab"
    other.mkdir()
    words = (tmp_path / "p" / "tokenizer" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    (other / "vocab.txt").write_text("\n".join(words[:-1] + ["zzzz"]) + "\n", encoding="utf-8")
    cli = tfssl_cli("pretrain", "mlm", f"--corpus={out}", f"--tokenizer_dir={other}", "--sequence_length=64",
                    f"--output_dir={tmp_path / 'runs'}", "--verbose=0", cwd=str(tmp_path))
    assert cli.returncode == 2 and "is not the one" in cli.stderr and "prepared with" in cli.stderr, cli.stderr
    assert not (tmp_path / "runs" / "sotu-mlm" / "model.keras").exists()
    cli = tfssl_cli("pretrain", "mlm", f"--corpus={out}", "--sequence_length=128", f"--output_dir={tmp_path / 'runs'}",
                    "--verbose=0", cwd=str(tmp_path))
    assert cli.returncode == 2 and "--sequence_length=64" in cli.stderr, cli.stderr


_FULL_DISK = """
import resource, signal, sys
from tfssl.data.corpus_preparation import prepare_corpus
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (120_000, 120_000))
prepare_corpus(sys.argv[1], sys.argv[2], tokenizer_dir=sys.argv[3], sequence_length=64, shard_characters=10**9,
               processes=0, show_progress=False)
"""


def test_a_failed_write_leaves_no_half_written_shard(corpus, vocab_dir, tmp_path):
    done = subprocess.run([sys.executable, "-c", _FULL_DISK, corpus, str(tmp_path / "p"), vocab_dir], env=FRESH_ENV,
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode != 0 and "Could not write the shard" in done.stderr and "rerun" in done.stderr, \
        done.stderr[-2000:]
    names = os.listdir(tmp_path / "p")
    assert not [n for n in names if ".tmp" in n] and "manifest.json" not in names
    for name in (n for n in names if n.endswith(".bin")):  # every shard under a final name is whole
        assert json.loads((tmp_path / "p" / f"{name}.done").read_text())["bytes"] == (tmp_path / "p" / name).stat().st_size


def test_a_tiny_corpus_keeps_a_training_document_and_its_vocabulary(small_texts, tmp_path):
    (tmp_path / "corpus").mkdir()
    for i, text in enumerate(small_texts[:2]):
        (tmp_path / "corpus" / f"speech{i}.txt").write_text(text, encoding="utf-8")
    corpus = str(tmp_path / "corpus")
    out = prepare_corpus(corpus, str(tmp_path / "p"), held_out_fraction=0.999, vocabulary_size=300,
                         sequence_length=32, processes=0, show_progress=False)
    train, held_out = split_documents(load_corpus(corpus), 0.999, 0)
    manifest = read_manifest(out)
    assert manifest["documents"] == {"train": 1, "held_out": 1} == {"train": len(train), "held_out": len(held_out)}
    assert len(all_blocks(out, "train")) > 10  # the vocabulary was trained on the document that trains


@pytest.mark.parametrize("kind", ["sentencepiece", "character"])
def test_causal_windows_equal_the_in_graph_tokenizer_and_cut(kind, small_texts, tmp_path):
    from tfssl.data.causal_lm_pipeline import token_stream
    from tfssl.data.prepared_dataset import PreparedDataset
    from tfssl.tokenizers.decoder_tokenizers import load_decoder_tokenizer

    (tmp_path / "corpus").mkdir()
    for i, text in enumerate(small_texts[:6]):
        (tmp_path / "corpus" / f"speech{i}.txt").write_text(text, encoding="utf-8")
    corpus = str(tmp_path / "corpus")
    out = prepare_corpus(corpus, str(tmp_path / "p"), layout="causal", tokenizer=kind, vocabulary_size=600,
                         sequence_length=16, shard_characters=10**9, processes=2, show_progress=False)
    train, held_out = split_documents(load_corpus(corpus), 0.05, 0)
    stream = token_stream([d.text for d in train], load_decoder_tokenizer(os.path.join(out, "tokenizer")))
    windows = np.stack([stream[i * 16:i * 16 + 17] for i in range((len(stream) - 1) // 16)])
    assert np.array_equal(all_blocks(out, "train"), windows)  # `sentencepiece`/numpy ids == the in-graph layer's
    prepared = PreparedDataset(out)
    assert prepared.record_length == 17 and np.array_equal(prepared.causal_stream("train"), stream[:len(windows) * 16 + 1])
    assert read_manifest(out)["tokenizer"]["kind"] == kind


def test_each_objective_refuses_the_other_layout(small_texts, vocab_dir, tmp_path):
    from tfssl.config import CausalLMPretrainConfig, ConfigError, MLMPretrainConfig
    from tfssl.training.causal_lm_pretraining import run_causal_lm_pretraining
    from tfssl.training.mlm_pretraining import run_mlm_pretraining

    (tmp_path / "corpus").mkdir()
    for i, text in enumerate(small_texts[:3]):
        (tmp_path / "corpus" / f"speech{i}.txt").write_text(text, encoding="utf-8")
    masked = prepare_corpus(str(tmp_path / "corpus"), str(tmp_path / "masked"), tokenizer_dir=vocab_dir,
                            sequence_length=32, processes=0, show_progress=False)
    causal = prepare_corpus(str(tmp_path / "corpus"), str(tmp_path / "causal"), layout="causal",
                            tokenizer="character", sequence_length=32, processes=0, show_progress=False)
    runs = dict(output_dir=str(tmp_path / "runs"), sequence_length=32, verbose=0, export=False)
    with pytest.raises(ConfigError, match="holds causal-LM windows"):
        run_mlm_pretraining(MLMPretrainConfig(corpus=causal, **runs).validate())
    with pytest.raises(ConfigError, match="holds masked-LM blocks.*--layout=causal"):
        run_causal_lm_pretraining(CausalLMPretrainConfig(corpus=masked, **runs).validate())


def test_vocabulary_sample_is_bounded_seeded_and_order_free():
    docs = [Document(f"d{i}", "x" * (10 + i % 7)) for i in range(500)]
    sample = vocabulary_sample(docs, 1000, seed=1)
    assert 900 < sum(len(d.text) for d in sample) <= 1000
    assert [d.id for d in sample] == [d.id for d in docs if d in set(sample)]  # corpus order
    assert {d.id for d in vocabulary_sample(reversed(docs), 1000, seed=1)} == {d.id for d in sample}
    assert {d.id for d in vocabulary_sample(docs, 1000, seed=2)} != {d.id for d in sample}
    assert vocabulary_sample(docs, 10**6) == docs  # a corpus under the budget is sampled whole


def test_cli_prepares_and_pretraining_reads_the_directory(corpus, vocab_dir, tmp_path):
    cli = tfssl_cli("prepare", corpus, str(tmp_path / "p"), "--sequence-length=64", "--vocabulary-size=1500",
                    "--processes=1", "--shard-characters=50000", "--verify", cwd=str(tmp_path))
    assert cli.returncode == 0, cli.stderr[-3000:]
    summary = json.loads(cli.stdout)
    assert summary["blocks"]["train"] > 1000 and summary["shards"]["train"] >= 4
    assert "Training a 1500-token WordPiece vocabulary" in cli.stderr
    data = PreparedDataset(str(tmp_path / "p"))
    assert len(open(os.path.join(data.tokenizer_dir, "vocab.txt")).read().splitlines()) <= 1500
    cli = tfssl_cli("pretrain", "mlm", f"--corpus={tmp_path / 'p'}", "--sequence_length=64", "--preset=tiny",
                    "--epochs=1", "--steps_per_epoch=30", "--batch_size=16", "--export=false", "--verbose=0",
                    "--jit_compile=false", f"--output_dir={tmp_path / 'runs'}", "--name=m", cwd=str(tmp_path))
    assert cli.returncode == 0, cli.stderr[-3000:]
    metrics = json.loads((tmp_path / "runs" / "m" / "metrics.json").read_text())
    assert metrics["steps"] == 30 and metrics["held_out"]["masked_accuracy"] > 0
    assert not (tmp_path / "runs" / "prepared-corpora").exists()  # read as it is, not prepared again
    run_vocab = (tmp_path / "runs" / "m" / "tokenizer" / "vocab.txt").read_bytes()
    assert run_vocab == (tmp_path / "p" / "tokenizer" / "vocab.txt").read_bytes()
