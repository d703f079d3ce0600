"""Does mixed precision train the same models? Each driver run twice, float32 and `mixed_bfloat16`, from one seed.

Prints one JSON object: for the masked LM, the causal LM, SimCSE and fine-tuning, the training-loss curve of each
precision (the drivers' `training_curves.png.json`: the mean loss over each 25-step window), the largest gap
between the two curves (absolute, and relative to the float32 loss at that point), the held-out metric of each
and their difference, and each run's training seconds. Runs go through the same drivers as `tfssl pretrain ...`
and `tfssl finetune` (`tfssl.training.driver.run_job`), with only `precision` differing:

* masked LM: `tiny` on the embedded `sotu` corpus, `--steps` steps; held-out masked accuracy;
* causal LM: `tiny` decoder on `sotu`; held-out sliding-window perplexity;
* SimCSE: unsupervised, from the float32 masked-LM run's encoder; STS-B dev Spearman where the benchmark data
  folder is there (`TFSSL_BENCHMARK_DATA` or ../shared/data), else none;
* fine-tuning: the float32 masked-LM encoder on the embedded BBC News set, 4 epochs (224 steps); test accuracy.

On a CPU with AVX512-BF16 (this project's machine) bfloat16 arithmetic is real, not emulated, so the gaps are
the ones an accelerator would see, up to kernel differences.

    python benchmarks/precision_curves.py [--steps 200] [--objectives mlm clm simcse finetune] [--output-dir DIR]
"""

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PRECISIONS = ("float32", "mixed_bfloat16")


def benchmark_data():
    for folder in (os.environ.get("TFSSL_BENCHMARK_DATA"), os.path.join(HERE, "..", "..", "shared", "data")):
        if folder and os.path.isdir(folder):
            return folder
    return None


def curve(run_dir):
    with open(os.path.join(run_dir, "training_curves.png.json"), encoding="utf-8") as f:
        return [(int(step), float(loss)) for step, loss in json.load(f)["train"]["loss"]]


def largest_gap(reference, other):
    """Largest |other - reference| over the windows both curves have, absolute and relative to reference."""
    other = dict(other)
    pairs = [(step, loss, other[step]) for step, loss in reference if step in other]
    absolute = max(pairs, key=lambda p: abs(p[2] - p[1]))
    relative = max(pairs, key=lambda p: abs(p[2] - p[1]) / abs(p[1]))
    return {"absolute": round(abs(absolute[2] - absolute[1]), 5), "at_step": absolute[0],
            "relative": round(abs(relative[2] - relative[1]) / abs(relative[1]), 5), "relative_at_step": relative[0],
            "windows_compared": len(pairs)}


def run(kind, overrides):
    from tfssl.config import CONFIG_KINDS
    from tfssl.config_loading import load_config
    from tfssl.training.driver import run_job

    return run_job(load_config(CONFIG_KINDS[kind], overrides=overrides))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--objectives", nargs="+", default=["mlm", "clm", "simcse", "finetune"])
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, os.path.join(HERE, ".."))
    output = args.output_dir or tempfile.mkdtemp(prefix="precision-curves-")
    data = benchmark_data()
    steps = args.steps
    common = ["--verbose=0", "--export=false", f"--output_dir={output}"]
    mlm_float32 = os.path.join(output, "mlm-float32")
    settings = {
        "mlm": ("mlm", lambda p: [f"--name=mlm-{p}", "--epochs=2", f"--steps_per_epoch={steps // 2}",
                                  f"--warmup_steps={steps // 10}", f"--save_freq={steps}"]),
        "clm": ("clm", lambda p: [f"--name=clm-{p}", f"--steps={steps}", f"--eval_every_steps={steps // 2}",
                                  f"--warmup_steps={steps // 10}", "--sample_tokens=8"]),
        "simcse": ("simcse", lambda p: [f"--name=simcse-{p}", f"--init_from={mlm_float32}", f"--steps={steps}",
                                        f"--eval_every_steps={steps // 2}"]
                   + ([f"--sts_file={os.path.join(data, 'stsbenchmark', 'sts-dev.csv')}"] if data else [])),
        "finetune": ("finetune", lambda p: [f"--name=finetune-{p}", f"--init_from={mlm_float32}", "--epochs=4"]),  # 4 x 56 steps
    }
    metric_of = {
        "mlm": ("held-out masked accuracy", lambda r: r["held_out"]["masked_accuracy"]),
        "clm": ("held-out perplexity", lambda r: r["held_out"]["perplexity"]),
        "simcse": ("STS-B dev Spearman", lambda r: (r.get("sts") or {}).get("sts", {}).get("spearman")),
        "finetune": ("test accuracy", lambda r: r["test"]["accuracy"]),
    }
    objectives = [o for o in ("mlm", "clm", "simcse", "finetune") if o in args.objectives]
    if any(o in objectives for o in ("simcse", "finetune")) and "mlm" not in objectives:
        objectives.insert(0, "mlm")  # they start from its float32 encoder
    results = {}
    for objective in objectives:
        kind, overrides = settings[objective]
        runs = {}
        for precision in PRECISIONS:
            result = run(kind, common + overrides(precision) + [f"--precision={precision}"])
            runs[precision] = {"result": result, "curve": curve(result["run_dir"])}
        name, metric = metric_of[objective]
        metrics = {p: metric(r["result"]) for p, r in runs.items()}
        both = all(v is not None for v in metrics.values())
        results[objective] = {
            "steps": {p: r["result"]["steps"] for p, r in runs.items()},
            "fit_seconds": {p: round(r["result"]["fit_seconds"], 1) for p, r in runs.items()},
            "largest_loss_gap": largest_gap(runs["float32"]["curve"], runs["mixed_bfloat16"]["curve"]),
            "metric": name,
            "held_out": metrics,
            "held_out_difference": (metrics["mixed_bfloat16"] - metrics["float32"]) if both else None,
            "curves": {p: r["curve"] for p, r in runs.items()},
        }
        print(json.dumps({objective: {k: v for k, v in results[objective].items() if k != "curves"}}), file=sys.stderr)
    print(json.dumps({"benchmark": "precision_curves", "steps": steps, "output_dir": output,
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
