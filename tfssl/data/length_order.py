"""Batches of similar lengths for inference: sort, run, restore the order.

Inference pads a batch to its longest row, so a batch that mixes a 10-token and a 120-token text pays for
120 positions twice. Sorted by length first, each batch holds rows of about one length: on STS-B's sentences
a pass costs little more than its tokens. Evaluation and embedding over files go through here.
"""

import numpy as np


def in_length_order(run, texts, batch_size):
    """`run` (a list of strings -> an array with one row per string) over `texts` in batches of similar lengths
    (sorted by characters, a free stand-in for tokens); the rows come back in the order of `texts`."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    rows = np.concatenate([np.asarray(run([texts[i] for i in order[start : start + batch_size]]))
                           for start in range(0, len(order), batch_size)])
    restored = np.empty_like(rows)
    restored[order] = rows
    return restored
