"""Batches of similar lengths for inference: sort, run, restore the order.

Inference pads a batch to its longest row, so a batch that mixes a 10-token and a 120-token text pays for
120 positions twice. Sorted by length first, each batch holds rows of about one length: on STS-B's sentences
a pass costs little more than its tokens. Embedding, STS and classification evaluation, prediction and
few-shot scoring go through here.
"""

import numpy as np


def in_length_order(run, texts, batch_size, pairs=None):
    """`run(texts)` (or `run(texts, pairs)`) -> an array, or a dict of arrays, with one row per text, over `texts`
    in batches of similar lengths (sorted by characters, a free stand-in for tokens; a pair counts both texts);
    the rows come back in the order of `texts`."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]) + (len(pairs[i]) if pairs is not None else 0))
    outputs = []
    for start in range(0, len(order), batch_size):
        part = order[start : start + batch_size]
        batch = [[texts[i] for i in part]] + ([] if pairs is None else [[pairs[i] for i in part]])
        outputs.append(run(*batch))
    restore = np.argsort(order)
    if isinstance(outputs[0], dict):
        return {k: np.concatenate([np.asarray(o[k]) for o in outputs])[restore] for k in outputs[0]}
    return np.concatenate([np.asarray(o) for o in outputs])[restore]
