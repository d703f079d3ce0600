import json

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as sk

from tfssl.metrics.classification_report import (
    classification_report,
    confusion_matrix,
    format_report,
    plot_confusion_matrix,
    regression_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _compare_with_sklearn(y_true, y_pred, num_classes):
    names = [f"class_{i}" for i in range(num_classes)]
    labels = list(range(num_classes))
    report = classification_report(y_true, y_pred, names)
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, num_classes), sk.confusion_matrix(y_true, y_pred, labels=labels)
    )
    assert confusion_matrix(y_true, y_pred, num_classes).dtype == np.int64
    assert report["confusion_matrix"] == sk.confusion_matrix(y_true, y_pred, labels=labels).tolist()
    assert report["examples"] == len(y_true)
    assert report["accuracy"] == pytest.approx(sk.accuracy_score(y_true, y_pred), abs=1e-12)
    for i, name in enumerate(names):
        row = report["per_class"][name]
        assert row["precision"] == pytest.approx(precision[i], abs=1e-12)
        assert row["recall"] == pytest.approx(recall[i], abs=1e-12)
        assert row["f1"] == pytest.approx(f1[i], abs=1e-12)
        assert row["support"] == support[i]
    assert report["macro_precision"] == pytest.approx(precision.mean(), abs=1e-12)
    assert report["macro_recall"] == pytest.approx(recall.mean(), abs=1e-12)
    assert report["macro_f1"] == pytest.approx(
        sk.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0), abs=1e-12
    )
    assert report["weighted_f1"] == pytest.approx(
        sk.f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0), abs=1e-12
    )
    assert report["labels"] == names
    json.loads(json.dumps(report))  # plain Python types only
    return report


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("num_classes", [2, 5])
def test_matches_sklearn_on_random_labels(seed, num_classes):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, num_classes, size=200)
    # Mostly right, sometimes a random class, so the numbers are neither trivial nor chance.
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, num_classes, size=200))
    _compare_with_sklearn(y_true, y_pred, num_classes)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_class_never_predicted_and_class_without_support(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, size=120)  # class 4 never occurs in y_true
    y_pred = rng.integers(0, 5, size=120)
    y_pred[y_pred == 2] = 3  # class 2 is never predicted
    report = _compare_with_sklearn(y_true, y_pred, 5)
    assert report["per_class"]["class_2"]["precision"] == 0.0
    assert report["per_class"]["class_4"]["support"] == 0
    assert report["per_class"]["class_4"]["recall"] == 0.0


def test_class_absent_from_both_counts_in_macro_average():
    report = _compare_with_sklearn([0, 1, 1, 0], [0, 1, 0, 0], 3)
    assert report["per_class"]["class_2"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["macro_f1"] == pytest.approx((0.8 + 2.0 / 3.0 + 0.0) / 3.0)


def test_docstring_example_values():
    report = classification_report([0, 1, 1, 2], [0, 1, 2, 2], ["neg", "neu", "pos"])
    assert report["accuracy"] == 0.75 and report["per_class"]["pos"]["precision"] == 0.5
    assert report["per_class"]["neu"]["recall"] == 0.5 and report["per_class"]["neu"]["precision"] == 1.0


def test_error_cases():
    with pytest.raises(ValueError, match=r"y_pred.*\[3, 7\]"):
        classification_report([0, 1, 2], [3, 7, 3], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"y_true.*\[-1\]"):
        confusion_matrix([-1, 0], [0, 0], 2)
    with pytest.raises(ValueError, match="empty"):
        classification_report([], [], ["a", "b"])
    with pytest.raises(ValueError, match="must be equal"):
        classification_report([0, 1], [0], ["a", "b"])
    with pytest.raises(ValueError, match="integer"):
        confusion_matrix([0.5, 1.0], [0, 1], 2)
    with pytest.raises(ValueError, match="empty"):
        regression_report([], [])
    with pytest.raises(ValueError, match="must be equal"):
        regression_report([1.0, 2.0], [1.0])


def test_regression_report_matches_scipy_including_ties():
    rng = np.random.default_rng(0)
    gold = np.round(rng.uniform(0, 5, size=300) * 2) / 2  # many ties (half-point scores)
    predicted = np.round(gold + rng.normal(scale=1.0, size=300), 1)  # ties too
    report = regression_report(gold, predicted)
    assert report["examples"] == 300
    assert report["pearson"] == pytest.approx(stats.pearsonr(predicted, gold)[0], abs=1e-12)
    assert report["spearman"] == pytest.approx(stats.spearmanr(predicted, gold)[0], abs=1e-12)
    assert report["mse"] == pytest.approx(sk.mean_squared_error(gold, predicted), abs=1e-12)
    assert report["mae"] == pytest.approx(sk.mean_absolute_error(gold, predicted), abs=1e-12)
    tied = regression_report([1, 2, 2, 3, 3, 3], [1, 1, 2, 2, 3, 3])
    assert tied["spearman"] == pytest.approx(stats.spearmanr([1, 1, 2, 2, 3, 3], [1, 2, 2, 3, 3, 3])[0], abs=1e-12)
    json.loads(json.dumps(report))


def test_plot_writes_png_into_new_nested_directory(tmp_path):
    report = classification_report([0, 1, 2, 2, 1, 0, 2], [0, 2, 2, 1, 1, 0, 2], ["negative", "neutral", "positive"])
    path = tmp_path / "new" / "nested" / "confusion.png"
    assert plot_confusion_matrix(report, report["labels"], str(path)) == str(path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    counts_path = tmp_path / "other" / "counts.png"
    plot_confusion_matrix(report["confusion_matrix"], ["n", "u", "p"], str(counts_path), normalize=False)
    assert counts_path.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match="shape"):
        plot_confusion_matrix(report, ["a", "b"], str(tmp_path / "bad.png"))


def test_format_report_lists_every_label_and_accuracy():
    names = ["negative", "neutral", "positive"]
    report = classification_report([0, 1, 2, 2, 1, 0, 2, 0], [0, 2, 2, 1, 1, 0, 2, 1], names)
    text = format_report(report)
    for name in names:
        assert name in text
    assert "accuracy" in text and f"{report['accuracy']:.4f}" in text
    assert "macro avg" in text and "weighted avg" in text
    assert f"{report['weighted_f1']:.4f}" in text
