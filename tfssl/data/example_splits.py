"""Held-out splits and stratified samples of `LabeledExamples`, deterministic for a seed.

`split_examples` holds out a fraction of each label by a hash of (seed, text), so repeats land on one side;
`sample_examples` draws n examples in proportion to label frequency (few-shot experiments).
"""

import hashlib
from typing import Any, Dict, List, Tuple

import numpy as np

from tfssl.data.labeled_examples import LabeledExamples
from tfssl.data.labeled_sources import LabeledDataError


def split_examples(
    examples: LabeledExamples, held_out_fraction: float = 0.1, seed: int = 0, stratify: bool = True
) -> Tuple[LabeledExamples, LabeledExamples]:
    """A deterministic (train, held_out) split, by label for classification (`stratify`).

    Within each label, examples are ordered by sha256(seed, text, pair) and the first
    round(fraction * count) are held out: at least one, and never all, when a class has two or
    more. Identical texts hash alike, so repeats land on the same side. Order is kept.
    """
    if not 0.0 <= held_out_fraction < 1.0:
        raise LabeledDataError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}.")
    held = []
    for group in _groups(examples, stratify).values():
        keyed = sorted(group, key=lambda i: (_digest(examples, i, seed), i))
        count = round(held_out_fraction * len(group))
        if held_out_fraction > 0 and len(group) >= 2:
            count = max(count, 1)
        held.extend(keyed[: min(count, len(group) - 1)])
    held_set = set(held)
    train = [i for i in range(len(examples)) if i not in held_set]
    return examples.subset(train), examples.subset(sorted(held_set))


def sample_examples(examples: LabeledExamples, n: int, seed: int = 0) -> LabeledExamples:
    """`n` examples drawn without replacement, in proportion to label frequency (every class at
    least once when `n` covers the classes), in their original order; all of them when `n >= len`."""
    if n < 0:
        raise LabeledDataError(f"n must be >= 0, got {n}.")
    if n >= len(examples):
        return examples.subset(range(len(examples)))
    rng = np.random.default_rng(seed)
    groups = _groups(examples, stratify=True)
    keys = sorted(groups)
    quotas = _allocate([len(groups[k]) for k in keys], n)
    chosen = []
    for key, quota in zip(keys, quotas):
        chosen.extend(rng.choice(groups[key], size=quota, replace=False).tolist())
    return examples.subset(sorted(chosen))


def _groups(examples: LabeledExamples, stratify: bool) -> Dict[Any, List[int]]:
    """Example indices by label (classification) or all in one group."""
    by_label = stratify and all(isinstance(label, str) for label in examples.labels)
    groups: Dict[Any, List[int]] = {}
    for i, label in enumerate(examples.labels):
        groups.setdefault(label if by_label else "", []).append(i)
    return groups


def _allocate(counts: List[int], n: int) -> List[int]:
    """Largest-remainder shares of `n` in proportion to `counts`, each at least 1 if `n` allows."""
    total = sum(counts)
    quotas = [n * c / total for c in counts]
    shares = [min(c, max(int(q), 1 if n >= len(counts) else 0)) for c, q in zip(counts, quotas)]
    by_remainder = sorted(range(len(counts)), key=lambda k: (quotas[k] - int(quotas[k]), counts[k]), reverse=True)
    while sum(shares) < n:
        for k in by_remainder:
            if sum(shares) < n and shares[k] < counts[k]:
                shares[k] += 1
    while sum(shares) > n:
        k = max((k for k in range(len(counts)) if shares[k] > 1), key=lambda k: shares[k] - quotas[k])
        shares[k] -= 1
    return shares


def _digest(examples: LabeledExamples, i: int, seed: int) -> bytes:
    pair = examples.text_pairs[i] if examples.text_pairs is not None else ""
    return hashlib.sha256(f"{seed}:{examples.texts[i]}\t{pair}".encode("utf-8")).digest()
