"""`tfssl prepare` with the local process pool vs. Apache Beam's direct runner (multi-process), same worker count.

Prints one JSON object: for a generated JSONL corpus (`data_scaling.generate_corpus`: the default corpus's sentences
with seeded word substitutions), the wall time of `tfssl prepare --processes=P` (the whole command: start-up, both
streaming passes, tokenizing, packing, writing, manifest) with `--runner=local` and `--runner=beam`, in interleaved
rounds, as MB/s of the corpus's bytes (median and best round), with the peak RSS of each command's process tree;
whether every run wrote the same shards (manifest entries, hence SHA-256s); and `reading_pass_s`, one streaming pass
of the driver alone (reading, JSON parsing, the held-out split, chunking), the part no runner parallelizes. The
vocabulary is trained once, before the timed runs, and given to each with `--tokenizer-dir`, so the rounds measure
the shard tasks' runners.

Needs Beam (`pip install -e ".[beam]"`); run it from the repository root:

    python benchmarks/beam_prepare.py [--size-mb 50] [--processes 2] [--rounds 2] [--workdir DIR] [--keep]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from data_scaling import generate_corpus, run_measured  # noqa: E402  (a sibling benchmark's helpers)


def prepare_command(corpus_dir, out_dir, processes, runner, tokenizer_dir=None):
    command = [sys.executable, "-m", "tfssl.cli", "prepare", corpus_dir, out_dir, f"--processes={processes}",
               f"--runner={runner}"]
    return command + ([f"--tokenizer-dir={tokenizer_dir}"] if tokenizer_dir else [])


def reading_pass(corpus_dir):
    """Seconds of one pass of the driver's stream: documents -> held-out split -> chunks (no tokenizing)."""
    from tfssl.data.corpus import iter_documents
    from tfssl.data.corpus_survey import survey_corpus
    from tfssl.data.shard_tasks import chunks

    survey = survey_corpus(iter_documents(corpus_dir), 0.05, 0, 0)
    started = time.monotonic()
    for _ in chunks(iter_documents(corpus_dir), survey["is_held_out"], 500_000):
        pass
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", default=None, help="where the corpus and outputs go (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the workdir")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="tfssl-beam-prepare-")
    corpus_dir = generate_corpus(os.path.join(workdir, f"corpus-{args.size_mb}mb"), args.size_mb)
    corpus_mb = sum(os.path.getsize(os.path.join(corpus_dir, n)) for n in os.listdir(corpus_dir)) / 1e6
    try:
        vocabulary_dir = os.path.join(workdir, "vocabulary")
        shutil.rmtree(vocabulary_dir, ignore_errors=True)
        run_measured(prepare_command(corpus_dir, vocabulary_dir, args.processes, "local"))  # untimed: the vocabulary
        tokenizer_dir = os.path.join(vocabulary_dir, "tokenizer")
        results = {runner: {"seconds": [], "peak_rss_mb": []} for runner in ("local", "beam")}
        manifests = []
        for round_ in range(args.rounds):
            for runner in ("local", "beam"):
                out = os.path.join(workdir, f"{runner}-{round_}")
                shutil.rmtree(out, ignore_errors=True)
                seconds, peak, _, _ = run_measured(prepare_command(corpus_dir, out, args.processes, runner,
                                                                   tokenizer_dir))
                results[runner]["seconds"].append(round(seconds, 2))
                results[runner]["peak_rss_mb"].append(round(peak))
                with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
                    manifests.append(json.load(f)["shards"])
                shutil.rmtree(out)
        for runner, result in results.items():
            median = statistics.median(result["seconds"])
            result.update(median_s=round(median, 2), mb_per_s=round(corpus_mb / median, 2),
                          best_mb_per_s=round(corpus_mb / min(result["seconds"]), 2))  # the least disturbed round
        print(json.dumps({
            "corpus_mb": round(corpus_mb, 1), "processes": args.processes, "rounds": args.rounds,
            "runners": results, "beam_vs_local": round(results["local"]["median_s"] / results["beam"]["median_s"], 3),
            "identical_shards": all(m == manifests[0] for m in manifests),
            "shards": {split: len(shards) for split, shards in manifests[0].items()},
            "reading_pass_s": round(reading_pass(corpus_dir), 2),
        }, indent=2))
    finally:
        if not (args.keep or args.workdir):
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
