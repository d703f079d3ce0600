import math

import pytest

from tfssl.metrics.learning_curve_plot import format_learning_curve_table, plot_learning_curves, summarize_runs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

ROWS = [
    {"examples": 100, "init": "scratch", "seed": 0, "accuracy": 0.50},
    {"examples": 100, "init": "scratch", "seed": 1, "accuracy": 0.54},
    {"examples": 100, "init": "pretrained", "seed": 0, "accuracy": 0.70},
    {"examples": 100, "init": "pretrained", "seed": 1, "accuracy": 0.74},
    {"examples": 100, "init": "pretrained", "seed": 2, "accuracy": 0.78},
    {"examples": 1000, "init": "pretrained", "seed": 0, "accuracy": 0.85},
    {"examples": 1000, "init": "scratch", "seed": 0, "accuracy": 0.80},
    {"examples": 10, "init": "pretrained", "seed": 0, "accuracy": 0.55},
    {"examples": 10, "init": "scratch", "seed": 0, "accuracy": 0.60},
]


def test_summarize_runs_groups_sorts_and_aggregates():
    summary = summarize_runs(ROWS)
    assert [(row["init"], row["examples"]) for row in summary] == [
        ("pretrained", 10), ("pretrained", 100), ("pretrained", 1000),
        ("scratch", 10), ("scratch", 100), ("scratch", 1000),
    ]
    pretrained_100 = summary[1]
    assert pretrained_100["runs"] == 3
    assert pretrained_100["mean"] == pytest.approx(0.74)
    # deviations -0.04, 0, 0.04 -> sum of squares 0.0032 / (3 - 1) = 0.0016 -> std 0.04
    assert pretrained_100["std"] == pytest.approx(0.04)
    assert (pretrained_100["min"], pretrained_100["max"]) == (pytest.approx(0.70), pytest.approx(0.78))
    scratch_100 = summary[4]
    assert scratch_100["mean"] == pytest.approx(0.52)
    assert scratch_100["std"] == pytest.approx(math.sqrt(2 * 0.02 ** 2))  # ddof=1 over two runs
    assert summary[2]["runs"] == 1 and summary[2]["std"] == 0.0
    f1 = summarize_runs([{"examples": 5, "init": "a", "seed": 0, "f1": 0.3}], value_key="f1")
    assert f1[0]["mean"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="lacks"):
        summarize_runs([{"examples": 5, "init": "a", "seed": 0}])


def test_table_has_gain_column_with_sign_and_value():
    table = format_learning_curve_table(summarize_runs(ROWS))
    lines = table.splitlines()
    assert len(lines) == 2 + 3
    header = lines[0]
    assert header.index("pretrained") < header.index("scratch") and "gain" in header
    row_10, row_100, row_1000 = lines[2:]
    assert row_100.startswith("| 100 |")
    assert "74.0 ± 4.0 (3)" in row_100 and "52.0 ± 2.8 (2)" in row_100
    assert row_100.rstrip(" |").endswith("+22.0")
    assert row_1000.rstrip(" |").endswith("+5.0")
    assert row_10.rstrip(" |").endswith("-5.0")  # pretraining can lose at tiny N
    three = ROWS + [{"examples": 100, "init": "frozen", "seed": 0, "accuracy": 0.6}]
    assert "gain" not in format_learning_curve_table(summarize_runs(three))


def test_plot_writes_png(tmp_path):
    path = tmp_path / "curves" / "learning_curve.png"
    out = plot_learning_curves(summarize_runs(ROWS), str(path), baseline=0.51)
    assert out == str(path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
