"""`tfssl prepare --runner=beam`: Beam's direct runner (2 worker processes) writes the same shard files, byte for
byte, and the same manifest entries as the local process pool (masked-LM blocks and causal-LM windows), resumes a
local preparation, and the CLI reaches it; without Beam installed the error names the extra to install."""

import importlib.util
import json
import os

import pytest

from tests.helpers import tfssl_cli
from tfssl.data.corpus_preparation import prepare_corpus
from tfssl.data.prepared_manifest import PreparedDataError, read_manifest, verify_hashes

needs_beam = pytest.mark.skipif(importlib.util.find_spec("apache_beam") is None,
                                reason='Apache Beam is optional: pip install -e ".[beam]" to test the Beam runner')


def shard_files(directory):
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory)) if name.endswith(".bin")}


ARGS = dict(sequence_length=64, shard_characters=20_000, show_progress=False)


@needs_beam
def test_beam_writes_the_same_shards_as_the_local_pool(corpus, vocab_dir, tmp_path):
    local = prepare_corpus(corpus, str(tmp_path / "local"), tokenizer_dir=vocab_dir, processes=2, **ARGS)
    beam = prepare_corpus(corpus, str(tmp_path / "beam"), tokenizer_dir=vocab_dir, processes=2, runner="beam",
                          **ARGS)
    assert len(shard_files(tmp_path / "local")) > 8  # many more tasks than the 2 workers
    assert shard_files(tmp_path / "beam") == shard_files(tmp_path / "local")  # the same blocks, file by file
    assert read_manifest(beam) == read_manifest(local)  # entries, documents, tokenizer, identity
    verify_hashes(beam)
    assert sorted(os.listdir(tmp_path / "beam")) == sorted(os.listdir(tmp_path / "local"))  # no staging left


@needs_beam
def test_beam_resumes_a_local_preparation_and_the_cli_reaches_it(corpus, vocab_dir, tmp_path):
    local = prepare_corpus(corpus, str(tmp_path / "local"), tokenizer_dir=vocab_dir, processes=0, **ARGS)
    resumed = tmp_path / "resumed"
    prepare_corpus(corpus, str(resumed), tokenizer_dir=vocab_dir, processes=0, **ARGS)
    os.remove(resumed / "manifest.json")  # as if killed before the end: shards kept, their notes restored
    kept = ["train-00000.bin", "train-00002.bin"]
    for name, shard in ((s["file"], s) for s in read_manifest(local)["shards"]["train"]):
        if name in kept:
            (resumed / f"{name}.done").write_text(json.dumps(shard), encoding="utf-8")
        else:
            os.remove(resumed / name)
    before = {name: os.stat(resumed / name).st_mtime_ns for name in kept}
    prepare_corpus(corpus, str(resumed), tokenizer_dir=vocab_dir, processes=1, runner="beam", **ARGS)
    assert {name: os.stat(resumed / name).st_mtime_ns for name in kept} == before  # not written again
    assert shard_files(resumed) == shard_files(tmp_path / "local")
    assert read_manifest(str(resumed))["shards"] == read_manifest(local)["shards"]

    cli = tfssl_cli("prepare", corpus, str(tmp_path / "cli"), f"--tokenizer-dir={vocab_dir}", "--sequence-length=64",
                    "--shard-characters=20000", "--processes=1", "--runner=beam",
                    "--beam-option", "direct_running_mode=in_memory", cwd=str(tmp_path))
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert shard_files(tmp_path / "cli") == shard_files(tmp_path / "local")


@needs_beam
def test_a_failed_task_names_its_shard_and_the_fix(corpus, vocab_dir, tmp_path):
    out = prepare_corpus(corpus, str(tmp_path / "p"), tokenizer_dir=vocab_dir, processes=1, runner="beam", **ARGS)
    os.remove(os.path.join(out, "manifest.json"))
    os.remove(os.path.join(out, "train-00003.bin"))
    os.mkdir(os.path.join(out, "train-00003.bin"))  # the worker's rename onto it fails
    with pytest.raises(PreparedDataError, match=r"failed in the Beam pipeline: Could not write the shard .*"
                                                r"train-00003\.bin .*rerun the same command"):
        prepare_corpus(corpus, out, tokenizer_dir=vocab_dir, processes=1, runner="beam", **ARGS)


@needs_beam
def test_beam_writes_the_same_causal_windows(corpus, tmp_path):
    args = dict(layout="causal", tokenizer="character", sequence_length=32, shard_characters=50_000,
                show_progress=False)
    local = prepare_corpus(corpus, str(tmp_path / "local"), processes=2, **args)
    beam = prepare_corpus(corpus, str(tmp_path / "beam"), tokenizer_dir=os.path.join(local, "tokenizer"),
                          processes=2, runner="beam", **args)
    assert len(shard_files(tmp_path / "local")) > 4
    assert shard_files(tmp_path / "beam") == shard_files(tmp_path / "local")
    assert read_manifest(beam)["shards"] == read_manifest(local)["shards"]


@pytest.mark.skipif(importlib.util.find_spec("apache_beam") is not None,
                    reason="Apache Beam is installed: the missing-Beam error cannot happen here")
def test_without_beam_the_error_names_the_extra(corpus, tmp_path):
    with pytest.raises(PreparedDataError, match=r'pip install "tfssl\[beam\]"'):
        prepare_corpus(corpus, str(tmp_path / "p"), runner="beam", **ARGS)
    assert not (tmp_path / "p").exists()  # refused before any work
    cli = tfssl_cli("prepare", corpus, str(tmp_path / "cli"), "--runner=beam", cwd=str(tmp_path))
    assert cli.returncode == 2 and 'pip install "tfssl[beam]"' in cli.stderr, cli.stderr[-2000:]


def test_an_unknown_runner_is_refused(corpus, tmp_path):
    with pytest.raises(PreparedDataError, match='runner must be "local" or "beam"'):
        prepare_corpus(corpus, str(tmp_path / "p"), runner="spark", **ARGS)
