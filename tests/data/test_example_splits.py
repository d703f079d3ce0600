"""Held-out splits and few-shot samples of labelled examples: deterministic, stratified, disjoint."""

import collections

import pytest

from tfssl.data.example_splits import sample_examples, split_examples
from tfssl.data.labeled_examples import LabeledExamples
from tfssl.data.labeled_sources import LabeledDataError


def examples(labels, texts=None):
    texts = texts or [f"text {i}" for i in range(len(labels))]
    return LabeledExamples(list(texts), list(labels), None, [f"f.csv:{i + 2}" for i in range(len(labels))])


def test_split_is_deterministic_stratified_and_disjoint():
    labels = ["a"] * 60 + ["b"] * 30 + ["c"] * 2 + ["d"]
    ex = examples(labels)
    train, held = split_examples(ex, 0.1, seed=0)
    assert set(train.texts).isdisjoint(held.texts) and len(train) + len(held) == len(ex)
    assert collections.Counter(held.labels) == {"a": 6, "b": 3, "c": 1}  # "d" alone stays in train
    assert split_examples(ex, 0.1, seed=0) == (train, held)
    assert split_examples(ex, 0.1, seed=1)[1].texts != held.texts
    assert train.texts == sorted(train.texts, key=ex.texts.index)  # original order kept
    assert len(split_examples(ex, 0.1, stratify=False)[1]) == round(0.1 * len(ex))
    with pytest.raises(LabeledDataError, match=r"held_out_fraction must be in \[0, 1\)"):
        split_examples(ex, 1.0)


def test_sample_covers_every_class_in_proportion_and_is_deterministic():
    ex = examples(["a"] * 80 + ["b"] * 15 + ["c"] * 5)
    sample = sample_examples(ex, 10, seed=3)
    assert collections.Counter(sample.labels) == {"a": 8, "b": 1, "c": 1}
    assert sample == sample_examples(ex, 10, seed=3) and sample != sample_examples(ex, 10, seed=4)
    assert collections.Counter(sample_examples(ex, 3).labels) == {"a": 1, "b": 1, "c": 1}
    assert sample_examples(ex, 500) == ex
    assert len(sample_examples(examples([0.5, 1.5, 2.5]), 2)) == 2  # regression: no strata
