"""`tfssl experiment compare`: which pretraining objective should I use? Measured, on your corpus.

    corpus -> one prepared corpus and vocabulary -> per objective: pretrain the same backbone size
    (masked LM, ELECTRA, masked LM + SimCSE), within one budget -> every encoder meets the same suite:
    few-label fine-tuning on each labelled set (N x seeds, beside one from-scratch column), full-data
    fine-tuning, STS Spearman -> table.md, results.jsonl, comparison.png

Every pretraining run and every few-shot experiment is an ordinary tfssl run under `<output_dir>/<name>/`
(resumable: rerunning the command skips what has finished). The scratch column is measured once per
labelled set: every objective shares the architecture and the vocabulary, so it is the same baseline for all.
Nothing is chosen on a test split: fine-tuning runs a fixed schedule, SimCSE's checkpoint is picked on
`sts_dev_file`.

Example:

>>> result = run_pretraining_comparison(CompareConfig(budget_minutes=11, labeled_sets=("bbc_news",)))
>>> print(result["table"])
"""

import json
import os

from tfssl.config import CompareConfig, ContrastivePretrainConfig, ElectraPretrainConfig, FewShotConfig, \
    MLMPretrainConfig
from tfssl.metrics.learning_curve_plot import format_learning_curve_table, summarize_runs
from tfssl.run_directory import RunDirectory
from tfssl.training.driver import log, run_job, start_run, write_metrics


def run_pretraining_comparison(config: CompareConfig) -> dict:
    """Pretrains every objective, evaluates every encoder; returns the tables (also in table.md) and paths."""
    run, started = start_run(config)
    encoders = {}
    for objective in config.objectives:
        encoders[objective] = _pretrain(config, run.path, objective)
        log(config, f"{objective}: pretrained in {encoders[objective]['pretrain_minutes']:.1f} min "
                    f"({encoders[objective]['run_dir']})")
    rows = []
    for labeled_set in config.labeled_sets:
        rows += _few_shot_rows(config, run.path, labeled_set, encoders)
    sts = {objective: _sts(config, encoder) for objective, encoder in encoders.items()}
    with open(run.file(RunDirectory.RESULTS), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    table = comparison_table(config, rows, encoders, sts)
    with open(run.file(RunDirectory.TABLE), "w", encoding="utf-8") as f:
        f.write(table + "\n")
    plot = plot_comparison(rows, run.file("comparison.png"))
    result = {"run_dir": run.path, "table": table, "learning_curve_png": plot, "encoders": encoders, "sts": sts}
    return write_metrics(run, result, started)


def _pretrain(config, directory, objective):
    """Pretrains one objective (skipped when its run finished before); returns its run dir and wall time."""
    shared = dict(corpus=config.corpus, text_column=config.text_column, text_format=config.text_format,
                  held_out_fraction=config.held_out_fraction, output_dir=directory, export=False,
                  seed=config.seed, precision=config.precision, jit_compile=config.jit_compile,
                  verbose=config.verbose, preset=config.preset)
    schedule = dict(vocabulary_size=config.vocabulary_size, sequence_length=config.sequence_length,
                    epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
                    max_train_minutes=config.budget_minutes)
    if objective == "mlm+simcse":
        first = _pretrain(config, directory, "mlm")
        job = ContrastivePretrainConfig(name="mlm+simcse", init_from=first["run_dir"], steps=config.simcse_steps,
                                        eval_every_steps=max(config.simcse_steps // 5, 1),
                                        sts_file=config.sts_dev_file, max_train_minutes=config.budget_minutes,
                                        **shared)
    else:
        job = (MLMPretrainConfig if objective == "mlm" else ElectraPretrainConfig)(name=objective, **schedule, **shared)
    metrics = os.path.join(directory, job.name, RunDirectory.METRICS)
    if not os.path.isfile(metrics):
        run_job(job)
    with open(metrics, encoding="utf-8") as f:
        seconds = json.load(f)["fit_seconds"]
    if objective == "mlm+simcse":
        seconds += first["pretrain_minutes"] * 60
    return {"run_dir": os.path.join(directory, job.name), "pretrain_minutes": seconds / 60.0}


def parse_labeled_set(spec):
    """`(name, train_file, test_file or None, text_column, label_column)` of a `labeled_sets` entry."""
    parts = spec.split(":")
    train, test = parts[0], (parts[1] if len(parts) > 1 and parts[1] else None)
    text_column = parts[2] if len(parts) > 2 else "text"
    label_column = parts[3] if len(parts) > 3 else "label"
    name = train if train == "bbc_news" else os.path.basename(os.path.dirname(os.path.abspath(train))) or "set"
    return name, train, test, text_column, label_column


def _few_shot_rows(config, directory, labeled_set, encoders):
    """Every few-shot (and full-data) row of one labelled set: each objective's encoder, and scratch once."""
    name, train, test, text_column, label_column = parse_labeled_set(labeled_set)
    common = dict(train_file=train, test_file=test, text_column=text_column, label_column=label_column,
                  sequence_length=config.finetune_sequence_length, learning_rate=config.finetune_learning_rate,
                  precision=config.precision, output_dir=directory, verbose=config.verbose, seed=config.seed)
    grids = [("few-shot", dict(examples=config.examples, seeds=config.seeds, epochs=config.finetune_epochs,
                               min_steps=config.min_steps))]
    if config.full_data:
        grids.append(("full", dict(examples=(0,), seeds=config.seeds[:1], epochs=config.full_data_epochs,
                                   min_steps=0)))
    # Scratch: the architecture of a plain pretraining run (SimCSE's adds dropout), with random weights.
    baseline = encoders[next((o for o in encoders if o != "mlm+simcse"), "mlm+simcse")]["run_dir"]
    rows = []
    for grid, settings in grids:
        for objective, init_from, init in [(o, e["run_dir"], "pretrained") for o, e in encoders.items()] + [
                ("scratch", baseline, "scratch")]:
            job = FewShotConfig(name=f"{grid}-{name}-{objective}", init_from=init_from, inits=(init,), **settings,
                                **common)
            result = run_job(job)
            with open(os.path.join(result["run_dir"], RunDirectory.RESULTS), encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    rows.append(dict(row, labeled_set=name, grid=grid, objective=objective, init=objective,
                                     majority_class_accuracy=result["majority_class_accuracy"]))
    return rows


def _sts(config, encoder):
    """`{"dev"|"test": evaluate_sts result}`: Spearman and the rest for an encoder's sentence embeddings, pooled
    as its run is read (mean for masked LM and ELECTRA, `eval_pooling` for SimCSE), on the STS files given."""
    from tfssl.data.sts_pairs import load_sts_pairs
    from tfssl.training.sts_scoring import sts_scores

    scores = {}
    for split, path in (("dev", config.sts_dev_file), ("test", config.sts_test_file)):
        if path:
            scores[split] = sts_scores(encoder["run_dir"], load_sts_pairs(path))
    return scores


def comparison_table(config, rows, encoders, sts):
    """Markdown: pretraining time and STS per objective, then per labelled set the few-shot table (mean ± std over
    seeds, each objective beside scratch) and the full-data accuracy."""
    splits = [s for s in ("dev", "test") if getattr(config, f"sts_{s}_file")]
    header = ["objective", "pretraining (min)"] + [f"STS {s} Spearman (x100)" for s in splits]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for objective, encoder in encoders.items():
        cells = [f"{100 * sts[objective][s]['spearman']:.1f}" for s in ("dev", "test") if s in sts[objective]]
        lines.append("| " + " | ".join([objective, f"{encoder['pretrain_minutes']:.1f}"] + cells) + " |")
    for labeled_set in dict.fromkeys(r["labeled_set"] for r in rows):
        few = [dict(r, examples=r["examples_used"]) for r in rows if r["labeled_set"] == labeled_set
               and r["grid"] == "few-shot"]
        summary = summarize_runs(few, "accuracy")
        lines += ["", f"**{labeled_set}**, test accuracy (%), mean ± std (runs):", "",
                  format_learning_curve_table(summary), "", gain_line(summary)]
        full = [r for r in rows if r["labeled_set"] == labeled_set and r["grid"] == "full"]
        if full:
            lines += ["", "full data: " + ", ".join(f"{r['objective']} {100 * r['accuracy']:.1f}%" for r in full)]
    return "\n".join(lines)


def gain_line(summary):
    """"gain over scratch (points): N=100: mlm +1.9, electra +3.0; ..." from a `summarize_runs` summary."""
    means = {(s["init"], s["examples"]): s["mean"] for s in summary}
    parts = []
    for n in sorted({s["examples"] for s in summary}):
        if ("scratch", n) in means:
            gains = [f"{init} {100 * (means[(init, n)] - means[('scratch', n)]):+.1f}"
                     for init in dict.fromkeys(s["init"] for s in summary) if init != "scratch" and (init, n) in means]
            parts.append(f"N={n}: " + ", ".join(gains))
    return "gain over scratch (points): " + "; ".join(parts)


def plot_comparison(rows, path):
    """One panel per labelled set: mean test accuracy (± std band) against N, one line per objective."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sets = list(dict.fromkeys(r["labeled_set"] for r in rows))
    fig, axes = plt.subplots(1, len(sets), figsize=(6.0 * len(sets), 4.2), squeeze=False)
    for ax, labeled_set in zip(axes[0], sets):
        few = [dict(r, examples=r["examples_used"]) for r in rows if r["labeled_set"] == labeled_set
               and r["grid"] == "few-shot"]
        summary = summarize_runs(few, "accuracy")
        for objective in dict.fromkeys(r["init"] for r in few):
            points = sorted((s for s in summary if s["init"] == objective), key=lambda s: s["examples"])
            n = np.array([s["examples"] for s in points], float)
            mean, std = 100 * np.array([s["mean"] for s in points]), 100 * np.array([s["std"] for s in points])
            ax.plot(n, mean, "o-" if objective != "scratch" else "o--", label=objective)
            ax.fill_between(n, mean - std, mean + std, alpha=0.15, linewidth=0)
        ax.axhline(100 * few[0]["majority_class_accuracy"], color="gray", linestyle=":", label="majority class")
        ax.set_xscale("log")
        ax.set_xticks(sorted({r["examples"] for r in few}))
        ax.set_xticklabels([str(int(n)) for n in sorted({r["examples"] for r in few})])
        ax.minorticks_off()
        ax.set(title=labeled_set, xlabel="labelled examples (N, log scale)", ylabel="test accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

