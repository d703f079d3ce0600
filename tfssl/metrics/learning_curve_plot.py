"""Learning curves for low-resource fine-tuning: a metric against the number of labelled
examples N, one curve per initialisation (e.g. pretrained vs from scratch), aggregated over
seeds, as a PNG and a Markdown table with the pretraining gain.

Several seeds per point matter at small N, where one run can be off by many points; the
summary keeps mean, sample std, min and max so the plot and table can show that spread.

Example:

>>> rows = [{"examples": 100, "init": "pretrained", "seed": 0, "accuracy": 0.71}, ...]
>>> summary = summarize_runs(rows)
>>> plot_learning_curves(summary, "runs/sst/learning_curve.png", baseline=0.51)
>>> print(format_learning_curve_table(summary))
"""

import os
from collections import defaultdict

import numpy as np


def summarize_runs(rows, value_key="accuracy"):
    """One dict per (init, examples), sorted by init then examples, with the number of runs,
    mean, sample standard deviation (ddof=1; 0.0 for a single run), min and max of
    `value_key` over seeds."""
    groups = defaultdict(list)
    for row in rows:
        missing = [key for key in ("examples", "init", value_key) if key not in row]
        if missing:
            raise ValueError(f"Run {row!r} lacks {missing}.")
        groups[(str(row["init"]), int(row["examples"]))].append(float(row[value_key]))
    summary = []
    for (init, examples), values in sorted(groups.items()):
        values = np.asarray(values, np.float64)
        summary.append(
            {
                "init": init,
                "examples": examples,
                "runs": int(len(values)),
                "mean": float(values.mean()),
                "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                "min": float(values.min()),
                "max": float(values.max()),
            }
        )
    return summary


def _init_order(summary):
    """Initialisations in display order: "pretrained" first, "scratch" last, others sorted between."""
    inits = sorted({row["init"] for row in summary})
    first = [init for init in inits if init == "pretrained"]
    last = [init for init in inits if init == "scratch"]
    return first + [init for init in inits if init not in ("pretrained", "scratch")] + last


def _percent_scale(summary, extra=()):
    """100 if every value (and `extra`) is a fraction in [0, 1], so it is shown in percent; else 1."""
    values = [row[key] for row in summary for key in ("mean", "min", "max")] + [v for v in extra if v is not None]
    return 100.0 if values and all(0.0 <= v <= 1.0 for v in values) else 1.0


def plot_learning_curves(
    summary,
    path,
    value_key="accuracy",
    title="Accuracy vs number of labelled examples",
    baseline=None,
    baseline_label="majority class",
):
    """Draws `summary` (from `summarize_runs`) to `path` (PNG) and returns `path`.

    One line per init through the mean over seeds, a shaded band for mean ± std and thin
    error bars for min..max; x is log-scale with a tick at every N; values in [0, 1] are
    shown in percent. `baseline` (same units as the values, e.g. majority-class accuracy)
    adds a dashed horizontal line labelled `baseline_label`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not summary:
        raise ValueError("Nothing to plot: the summary is empty.")
    scale = _percent_scale(summary, extra=(baseline,))
    inits = _init_order(summary)
    fig, ax = plt.subplots(figsize=(7.0, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0", "C1", "C2", "C3"])
    for index, init in enumerate(inits):
        rows = sorted((row for row in summary if row["init"] == init), key=lambda row: row["examples"])
        n = np.array([row["examples"] for row in rows], np.float64)
        mean = scale * np.array([row["mean"] for row in rows])
        std = scale * np.array([row["std"] for row in rows])
        low = scale * np.array([row["min"] for row in rows])
        high = scale * np.array([row["max"] for row in rows])
        colour = colours[index % len(colours)]
        runs = sorted({row["runs"] for row in rows})
        runs_text = f"{runs[0]}" if len(runs) == 1 else f"{runs[0]}-{runs[-1]}"
        ax.plot(n, mean, "o-", color=colour, label=f"{init} (mean of {runs_text} runs)")
        ax.fill_between(n, mean - std, mean + std, color=colour, alpha=0.2, linewidth=0)
        # Nudge the min..max bars of each init sideways (in log space) so they do not overlap.
        offset = n * 1.03 ** (index - (len(inits) - 1) / 2.0)
        ax.errorbar(
            offset, mean, yerr=[mean - low, high - mean], fmt="none", ecolor=colour, elinewidth=0.8, capsize=2, alpha=0.8
        )
    if baseline is not None:
        ax.axhline(scale * float(baseline), color="gray", linestyle="--", linewidth=1.2, label=baseline_label)
    all_n = sorted({row["examples"] for row in summary})
    ax.set_xscale("log")
    ax.set_xticks(all_n)
    ax.set_xticklabels([str(n) for n in all_n])
    ax.minorticks_off()
    ax.set_xlabel("labelled examples (N, log scale)")
    ax.set_ylabel(f"{value_key} (%)" if scale == 100.0 else value_key)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(title="band: ±1 std, bars: min..max", fontsize=9, title_fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def format_learning_curve_table(summary):
    """Markdown table: one row per N, one column per init with "mean ± std (runs)" in percent
    (1 decimal, when the values are fractions), and, when there are exactly two inits, a "gain"
    column: first minus second in points ("pretrained" comes before "scratch")."""
    inits = _init_order(summary)
    scale = _percent_scale(summary)
    cells = {(row["init"], row["examples"]): row for row in summary}
    all_n = sorted({row["examples"] for row in summary})
    two = len(inits) == 2
    header = ["N"] + [f"{init} (mean ± std, runs)" for init in inits]
    if two:
        header.append(f"gain ({inits[0]} − {inits[1]}, points)")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---:"] * len(header)) + "|"]
    for n in all_n:
        row = [str(n)]
        for init in inits:
            cell = cells.get((init, n))
            row.append("–" if cell is None else f"{scale * cell['mean']:.1f} ± {scale * cell['std']:.1f} ({cell['runs']})")
        if two:
            first, second = cells.get((inits[0], n)), cells.get((inits[1], n))
            row.append("–" if first is None or second is None else f"{scale * (first['mean'] - second['mean']):+.1f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
