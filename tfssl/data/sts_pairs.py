"""Sentence pairs with similarity scores, in the STS Benchmark's file format.

STS-B files (`sts-train.csv`, `sts-dev.csv`, `sts-test.csv`) are tab-separated without a header:
genre, file, year, id, score (0-5), sentence1, sentence2, and on some rows two extra source
columns. Lines are split on tabs, never with a quote-aware CSV reader: sentences contain bare
`"` characters, and a CSV reader silently merges or drops rows.

Example:

>>> pairs = load_sts_pairs("../shared/data/stsbenchmark/sts-test.csv")
>>> pairs.first[0], pairs.second[0], pairs.scores[0]
"""

import dataclasses
import math
import os
from typing import List


class STSFormatError(ValueError):
    """An STS file is malformed; the message names the file, the line and the fix."""


@dataclasses.dataclass
class STSPairs:
    first: List[str]
    second: List[str]
    scores: List[float]

    def __len__(self):
        return len(self.scores)


def load_sts_pairs(path: str, score_column: int = 4, first_column: int = 5, second_column: int = 6) -> STSPairs:
    """Reads an STS-B-format file. Empty sentences and NaN or missing scores are errors."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No STS file at {path}. Give an STS-B-format file (tab-separated, score in column 5).")
    pairs = STSPairs([], [], [])
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            needed = max(score_column, first_column, second_column) + 1
            if len(fields) < needed:
                raise STSFormatError(
                    f"{path}, line {number}: {len(fields)} tab-separated fields, need at least {needed} "
                    "(genre, file, year, id, score, sentence1, sentence2)."
                )
            try:
                score = float(fields[score_column])
            except ValueError:
                score = math.nan
            if math.isnan(score):
                raise STSFormatError(f"{path}, line {number}: score {fields[score_column]!r} is not a number. Fix or drop the row.")
            first, second = fields[first_column].strip(), fields[second_column].strip()
            if not first or not second:
                raise STSFormatError(f"{path}, line {number}: an empty sentence. Fix or drop the row.")
            pairs.first.append(first)
            pairs.second.append(second)
            pairs.scores.append(score)
    if not pairs.scores:
        raise STSFormatError(f"{path} holds no sentence pairs.")
    return pairs
