"""Multi-worker `model.fit` with real processes: `tfssl launch` starts two workers on 127.0.0.1
that train the masked-LM pretrainer under `MultiWorkerMirroredStrategy`; both see the same
losses, equal to `MirroredStrategy` on 2 logical CPU devices with the same global batch (the
workers read their rows through `distribute_global_batches`, the reference through Keras). A
worker that fails stops the launch with its error instead of leaving the other one waiting."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.helpers import FRESH_ENV

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")

WORKER = r"""
import json, os, sys
import numpy as np, tensorflow as tf
mode, out = sys.argv[1], sys.argv[2]
if mode == "mirrored":
    from tests.synthetic_mlm import two_logical_cpus
    two_logical_cpus()
from tfssl.training.strategy import choose_strategy, worker_role
strategy = choose_strategy(mode)  # before any other TensorFlow work
import keras
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
from tfssl.training import keras_multi_worker

from tests.synthetic_mlm import masked_lm_examples
x, y, w = masked_lm_examples()
keras.utils.set_random_seed(0)
with strategy.scope():
    model = MaskedLMPretrainer(EncoderBackbone(60, 2, 2, 32, 64, max_sequence_length=16, dropout=0.0))
    model.build()
    model.compile(learning_rate=1e-3, warmup_steps=1, total_steps=100, jit_compile=False)
ds = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(16).repeat()  # global batch 16
if mode == "multi_worker":  # tfssl's per-worker input; the reference keeps Keras' own split
    from tfssl.training.distributed_input import distribute_global_batches
    ds = distribute_global_batches(strategy, ds, global_batch_size=16)
history = model.fit(ds, epochs=3, steps_per_epoch=4, verbose=0).history
index, chief = worker_role()
with open(os.path.join(out, f"{mode}-{index}.json"), "w") as f:
    json.dump({"loss": history["loss"], "replicas": strategy.num_replicas_in_sync, "chief": chief,
               "overrides": sorted(keras_multi_worker._ORIGINALS),
               "kernel": model.backbone.blocks[0].attention.qkv_dense.kernel.numpy().ravel()[:50].tolist()}, f)
"""


def run(command, timeout=600):
    env = dict(FRESH_ENV, PYTHONPATH=os.path.abspath(ROOT))  # worker scripts import tests.synthetic_mlm
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def test_two_workers_train_like_mirrored_on_two_devices(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    launched = run([sys.executable, "-m", "tfssl.cli", "launch", "--workers", "2", "--",
                    sys.executable, str(script), "multi_worker", str(tmp_path)])
    assert launched.returncode == 0, launched.stdout[-4000:] + launched.stderr[-2000:]
    assert "[worker 0]" in launched.stdout or launched.stdout == ""  # output is streamed with worker prefixes
    mirrored = run([sys.executable, str(script), "mirrored", str(tmp_path)])
    assert mirrored.returncode == 0, mirrored.stderr[-3000:]

    workers = [json.loads((tmp_path / f"multi_worker-{i}.json").read_text()) for i in (0, 1)]
    reference = json.loads((tmp_path / "mirrored-0.json").read_text())
    assert [w["replicas"] for w in workers] == [2, 2] and reference["replicas"] == 2
    assert [w["chief"] for w in workers] == [True, False]
    assert workers[0]["overrides"]  # this Keras still needs the override (remove it once it does not)
    assert workers[0]["loss"] == workers[1]["loss"]
    assert workers[0]["loss"][-1] < workers[0]["loss"][0]
    for a, b in zip(workers[0]["loss"], reference["loss"]):
        assert abs(a - b) < 1e-5, (workers[0]["loss"], reference["loss"])
    for a, b in zip(workers[0]["kernel"], reference["kernel"]):
        assert abs(a - b) < 1e-5


FAILING = r"""
import json, os, sys, time
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
print(f"worker {index} started", flush=True)
if index == 1:
    time.sleep(1)
    sys.exit("worker 1: corpus shard is empty (a planted failure)")
time.sleep(600)  # a worker waiting for a collective that will never come
"""


def test_a_failing_worker_stops_the_launch_with_its_error(tmp_path):
    script = tmp_path / "failing.py"
    script.write_text(FAILING)
    started = time.monotonic()
    launched = run([sys.executable, "-m", "tfssl.cli", "launch", "--workers", "2", "--", sys.executable, str(script)],
                   timeout=120)
    assert time.monotonic() - started < 60
    assert launched.returncode == 1
    assert "worker 1 exited with code 1; stopped the other workers" in launched.stdout
    assert "corpus shard is empty" in launched.stdout
    assert "[worker 0] worker 0 started" in launched.stdout


def test_launch_runs_masked_lm_pretraining_on_two_workers(two_worker_mlm_run):
    """The command users run: the chief writes the run directory, the other worker its own
    copy under workers/1/ (no two processes write one file); both trained on identical losses."""
    _, runs, launched = two_worker_mlm_run
    assert launched.returncode == 0, launched.stdout[-4000:]
    chief = json.loads((runs / "full" / "metrics.json").read_text())
    other = json.loads((runs / "full" / "workers" / "1" / "metrics.json").read_text())
    assert chief["steps"] == other["steps"] == 30
    assert chief["history"]["loss"] == other["history"]["loss"]
    assert (runs / "full" / "model.keras").is_file() and (runs / "full" / "workers" / "1" / "model.keras").is_file()


def test_multi_worker_pretraining_without_a_shared_vocabulary_is_refused(tmp_path):
    from tests.helpers import copy_sotu_speeches

    corpus = copy_sotu_speeches(tmp_path / "corpus", count=2)
    launched = run([sys.executable, "-m", "tfssl.cli", "launch", "--workers", "2", "--", "pretrain", "mlm",
                    "--name=mw", f"--corpus={corpus}", "--strategy=multi_worker", f"--output_dir={tmp_path / 'runs'}"])
    assert launched.returncode == 2
    assert "needs one vocabulary for all workers" in launched.stdout and "--tokenizer_dir" in launched.stdout


@pytest.mark.slow  # 60 s; two-worker masked LM stays in the default suite (suite time)
def test_launch_runs_generative_contrastive_and_fine_tuning_on_two_workers(tmp_path, vocab_dir):
    """GPT pretraining (from a causal prepared directory: one SentencePiece vocabulary, each worker reading its
    own windows), unsupervised SimCSE from a tiny encoder and fine-tuning it all train under `tfssl launch`, with
    identical losses on both workers (SimCSE's negatives gathered across the workers)."""
    from tests.data_locations import excerpt
    from tests.helpers import copy_sotu_speeches
    from tfssl.config import MLMPretrainConfig
    from tfssl.config_loading import load_config
    from tfssl.training.mlm_pretraining import run_mlm_pretraining

    from tfssl.data.corpus_preparation import prepare_corpus

    corpus = copy_sotu_speeches(tmp_path / "corpus", count=3)
    windows = prepare_corpus(str(corpus), str(tmp_path / "windows"), layout="causal", vocabulary_size=500,
                             sequence_length=32, shard_characters=8_000, processes=0, show_progress=False)
    runs = tmp_path / "runs"
    tiny = ["--num_layers=1", "--num_heads=2", "--hidden_dim=32", "--intermediate_dim=64"]
    run_mlm_pretraining(load_config(MLMPretrainConfig, overrides=[
        f"--corpus={corpus}", f"--output_dir={runs}", "--name=encoder", "--export=false", f"--tokenizer_dir={vocab_dir}",
        "--sequence_length=32", "--epochs=1", "--steps_per_epoch=2", "--verbose=0", *tiny]))
    common = ["--strategy=multi_worker", "--jit_compile=false", "--export=false", f"--output_dir={runs}", "--verbose=0",
              "--sequence_length=32", "--batch_size=8"]
    pretraining = [f"--corpus={corpus}", "--steps=8", "--eval_every_steps=4"]
    drivers = {
        "gpt": ["pretrain", "clm", "--name=gpt", f"--corpus={windows}", "--steps=8", "--eval_every_steps=4",
                "--warmup_steps=2", "--num_samples=1", "--sample_tokens=4", *tiny],  # 100 warm-up steps: no fall in 8
        "simcse": ["pretrain", "simcse", "--name=simcse", f"--init_from={runs / 'encoder'}", "--dropout=0.1",
                   "--queue_size=16", *pretraining],  # MoCo as by default: both workers enqueue the same keys
        "sst2": ["finetune", "--name=sst2", f"--init_from={runs / 'encoder'}", "--text_column=sentence",
                 f"--train_file={excerpt('sst2', 'train.tsv')}", "--max_train_examples=40",
                 "--epochs=2"],
    }
    for name, args in drivers.items():
        launched = run([sys.executable, "-m", "tfssl.cli", "launch", "--workers", "2", "--", *args, *common])
        assert launched.returncode == 0, launched.stdout[-4000:]
        chief = json.loads((runs / name / "metrics.json").read_text())
        other = json.loads((runs / name / "workers" / "1" / "metrics.json").read_text())
        assert chief["steps"] == other["steps"] == {"sst2": 10}.get(name, 8), name  # sst2: 2 epochs of 40 // 8
        assert chief["history"]["loss"] == other["history"]["loss"], name
        if name == "simcse":  # the loss rises while the queue fills (more negatives); MoCo learning: tests/models
            assert chief["queue_size"] == other["queue_size"] == 16
        else:
            assert chief["history"]["loss"][-1] < chief["history"]["loss"][0], name


def test_two_workers_read_a_prepared_directory_without_tokenizing(tmp_path, vocab_dir):
    """`tfssl launch` on a prepared directory: both workers train in step, each from its own part of the shards
    (the block ids each step read, recorded by both workers: disjoint, and together every training block once but
    the remainder of a batch), and neither prepares or tokenizes anything at train time."""
    from tests.helpers import copy_sotu_speeches
    from tfssl.data.corpus_preparation import prepare_corpus
    from tfssl.data.prepared_dataset import PreparedDataset

    corpus = copy_sotu_speeches(tmp_path / "corpus", count=3)
    prepared = prepare_corpus(str(corpus), str(tmp_path / "prepared"), tokenizer_dir=vocab_dir, sequence_length=32,
                              shard_characters=10_000, processes=0, show_progress=False)
    runs = tmp_path / "runs"
    launched = run([sys.executable, "-m", "tfssl.cli", "launch", "--workers", "2", "--", "pretrain", "mlm",
                    f"--corpus={prepared}", "--strategy=multi_worker", "--name=mw", f"--output_dir={runs}",
                    "--num_layers=1", "--num_heads=2", "--hidden_dim=32", "--intermediate_dim=64",
                    "--sequence_length=32", "--batch_size=8", "--epochs=1", "--record_input_blocks=true",
                    "--jit_compile=false", "--export=false", "--verbose=0"])
    assert launched.returncode == 0, launched.stdout[-4000:]
    chief = json.loads((runs / "mw" / "metrics.json").read_text())
    other = json.loads((runs / "mw" / "workers" / "1" / "metrics.json").read_text())
    assert chief["steps"] == other["steps"] and chief["history"]["loss"] == other["history"]["loss"]
    assert not list(runs.rglob("prepared-corpora")) and "WordPiece" not in launched.stdout

    blocks = PreparedDataset(prepared).num_blocks("train")
    assert chief["steps"] == blocks // 2 // 4 > 10  # one natural epoch: 4 blocks per worker per step
    read = []
    for worker, record in ((0, runs / "mw" / "input_blocks" / "pipeline-0.tsv"),
                           (1, runs / "mw" / "workers" / "1" / "input_blocks" / "pipeline-1.tsv")):
        steps = {}
        for line in record.read_text().splitlines():
            step, ids = line.split("\t")
            steps[int(step)] = [int(i) for i in ids.split()]
        assert set(range(chief["steps"])) <= set(steps), worker  # every trained step was recorded
        read += [i for step in range(chief["steps"]) for i in steps[step]]
    assert len(read) == len(set(read)) == chief["steps"] * 8  # no block twice, in a worker or across them
    assert set(read) <= set(range(blocks)) and blocks - len(read) < 8  # every block but a batch's remainder
