"""Classification and regression reports for fine-tuned heads: confusion matrix, per-class
precision / recall / F1, macro and weighted averages, correlations, and a confusion-matrix PNG.

Pure NumPy (matplotlib only for the plot), so evaluation scripts do not need scikit-learn at
run time; the numbers match `sklearn.metrics` with `labels=range(n)` and `zero_division=0`.
Reports are plain dicts of floats, ints and lists, so they go straight into `json.dump`.

Example:

>>> report = classification_report([0, 1, 1, 2], [0, 1, 2, 2], ["neg", "neu", "pos"])
>>> report["accuracy"], report["per_class"]["pos"]["precision"]
(0.75, 0.5)
>>> print(format_report(report))
>>> plot_confusion_matrix(report, report["labels"], "runs/sst/confusion.png")
"""

import os

import numpy as np

from tfssl.metrics.sts_correlation import pearson, spearman


def _as_labels(values, name):
    """Integer class indices as a 1-D int64 array; floats are accepted only if integral."""
    array = np.asarray(values)
    if array.ndim != 1:
        array = array.reshape(-1)
    if array.dtype.kind == "b":
        return array.astype(np.int64)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        return array.astype(np.int64)
    raise ValueError(f"{name} must hold integer class indices, got dtype {array.dtype}.")


def _check_pair(y_true, y_pred, num_classes):
    y_true = _as_labels(y_true, "y_true")
    y_pred = _as_labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"Got {len(y_true)} true labels and {len(y_pred)} predictions; they must be equal.")
    if len(y_true) == 0:
        raise ValueError("Cannot report on an empty set of examples.")
    num_classes = int(num_classes)
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}.")
    for name, array in (("y_true", y_true), ("y_pred", y_pred)):
        bad = np.unique(array[(array < 0) | (array >= num_classes)])
        if bad.size:
            raise ValueError(
                f"{name} has class indices {bad.tolist()} outside [0, {num_classes - 1}] "
                f"for {num_classes} classes."
            )
    return y_true, y_pred, num_classes


def confusion_matrix(y_true, y_pred, num_classes):
    """(num_classes, num_classes) int64 counts: entry [i, j] is the number of examples of true
    class i predicted as class j (rows = true, columns = predicted, as sklearn)."""
    y_true, y_pred, num_classes = _check_pair(y_true, y_pred, num_classes)
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def _safe_divide(numerator, denominator):
    """Elementwise numerator / denominator with 0 where the denominator is 0 (zero_division=0)."""
    numerator = np.asarray(numerator, np.float64)
    denominator = np.asarray(denominator, np.float64)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def classification_report(y_true, y_pred, label_names):
    """Accuracy, per-class precision / recall / F1 / support, macro and support-weighted
    averages, and the confusion matrix, as a JSON-safe dict.

    Every class in `label_names` counts in the macro averages, even one absent from both
    `y_true` and `y_pred` (it contributes 0), so the number does not depend on which classes a
    small evaluation set happens to contain. A class never predicted gets precision 0 and a
    class with no support gets recall 0, as sklearn with `zero_division=0`.
    """
    label_names = [str(name) for name in label_names]
    matrix = confusion_matrix(y_true, y_pred, len(label_names))
    true_positives = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)  # examples of each true class
    predicted = matrix.sum(axis=0)  # predictions of each class
    precision = _safe_divide(true_positives, predicted)
    recall = _safe_divide(true_positives, support)
    f1 = _safe_divide(2.0 * true_positives, support + predicted)  # = 2PR / (P + R), 0 when undefined
    examples = int(matrix.sum())
    return {
        "examples": examples,
        "accuracy": float(true_positives.sum() / examples),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "weighted_f1": float((f1 * support).sum() / support.sum()),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(label_names)
        },
        "labels": list(label_names),
        "confusion_matrix": matrix.tolist(),
    }


def regression_report(y_true, y_pred):
    """Pearson, Spearman (ties share their average rank), mean squared and mean absolute error
    of predictions against gold scores (e.g. an STS-B regression head). A constant input has
    no defined correlation and reports 0.0 instead of NaN."""
    y_true = np.asarray(y_true, np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, np.float64).reshape(-1)
    if len(y_true) != len(y_pred):
        raise ValueError(f"Got {len(y_true)} gold scores and {len(y_pred)} predictions; they must be equal.")
    if len(y_true) == 0:
        raise ValueError("Cannot report on an empty set of examples.")
    errors = y_pred - y_true
    return {
        "examples": int(len(y_true)),
        "pearson": pearson(y_pred, y_true),
        "spearman": spearman(y_pred, y_true),
        "mse": float(np.mean(errors * errors)),
        "mae": float(np.mean(np.abs(errors))),
    }


def plot_confusion_matrix(report_or_matrix, label_names, path, title="Confusion matrix", normalize=True):
    """Draws the confusion matrix to `path` (PNG) and returns `path`.

    With `normalize`, cell colours are row fractions (the share of each true class given each
    prediction), so rare classes are as readable as frequent ones; each cell shows the count
    and, when normalised, the percentage. `report_or_matrix` is a `classification_report`
    dict or a square matrix of counts. True classes are on y, predictions on x.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(report_or_matrix, dict):
        report_or_matrix = report_or_matrix["confusion_matrix"]
    counts = np.asarray(report_or_matrix, dtype=np.int64)
    label_names = [str(name) for name in label_names]
    n = len(label_names)
    if counts.shape != (n, n):
        raise ValueError(f"Confusion matrix has shape {counts.shape}, expected ({n}, {n}) for {n} label names.")
    fractions = _safe_divide(counts, counts.sum(axis=1, keepdims=True))
    values = fractions if normalize else counts.astype(np.float64)
    vmax = 1.0 if normalize else max(float(values.max()), 1.0)

    size = max(4.0, 0.9 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    colorbar.set_label("fraction of true class" if normalize else "examples")
    font_size = 10 if n <= 6 else 8 if n <= 12 else 6
    for i in range(n):
        for j in range(n):
            text = f"{counts[i, j]}\n{100.0 * fractions[i, j]:.1f}%" if normalize else f"{counts[i, j]}"
            colour = "white" if values[i, j] > 0.6 * vmax else "black"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=font_size)
    long_names = max((len(name) for name in label_names), default=0) > 6
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(label_names, rotation=45 if long_names else 0, ha="right" if long_names else "center")
    ax.set_yticklabels(label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title} ({int(counts.sum())} examples)")
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def format_report(report):
    """A text table in the layout of sklearn's `classification_report`: one row per class,
    then accuracy, macro average and support-weighted average."""
    names = list(report["labels"])
    per_class = report["per_class"]
    width = max([len(name) for name in names] + [len("weighted avg")])
    header = f"{'':>{width}} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}"
    lines = [header, ""]
    for name in names:
        row = per_class[name]
        lines.append(
            f"{name:>{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} {row['f1']:>9.4f} {row['support']:>9d}"
        )
    lines.append("")
    examples = report["examples"]
    supports = np.array([per_class[name]["support"] for name in names], np.float64)
    weights = supports / supports.sum() if supports.sum() > 0 else supports
    weighted_precision = float(sum(w * per_class[name]["precision"] for w, name in zip(weights, names)))
    weighted_recall = float(sum(w * per_class[name]["recall"] for w, name in zip(weights, names)))
    lines.append(f"{'accuracy':>{width}} {'':>9} {'':>9} {report['accuracy']:>9.4f} {examples:>9d}")
    lines.append(
        f"{'macro avg':>{width}} {report['macro_precision']:>9.4f} {report['macro_recall']:>9.4f} "
        f"{report['macro_f1']:>9.4f} {examples:>9d}"
    )
    lines.append(
        f"{'weighted avg':>{width}} {weighted_precision:>9.4f} {weighted_recall:>9.4f} "
        f"{report['weighted_f1']:>9.4f} {examples:>9d}"
    )
    return "\n".join(lines)
