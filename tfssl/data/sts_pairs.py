"""Sentence pairs with similarity scores, in the STS Benchmark's file format.

STS-B files (`sts-train.csv`, `sts-dev.csv`, `sts-test.csv`) are tab-separated without a header:
genre, file, year, id, score (0-5), sentence1, sentence2, and on some rows two extra source
columns. Lines are split on tabs (`tfssl.data.table_reader`'s `.tsv` rule), never with a
quote-aware CSV reader: sentences contain bare `"` characters, and a CSV reader silently merges
or drops rows. A row's number is its line number.

Example:

>>> pairs = load_sts_pairs("../shared/data/stsbenchmark/sts-test.csv")
>>> pairs.first[0], pairs.second[0], pairs.scores[0]
"""

import dataclasses
import math
import os
from typing import List

from tfssl.data.table_reader import TableError, iter_rows, row_location


class STSFormatError(TableError):
    """An STS file is malformed; the message names the file, the row (its line) and the fix."""


@dataclasses.dataclass
class STSPairs:
    first: List[str]
    second: List[str]
    scores: List[float]

    def __len__(self):
        return len(self.scores)


def load_sts_pairs(path: str, score_column: int = 4, first_column: int = 5, second_column: int = 6) -> STSPairs:
    """Reads an STS-B-format file (optionally `.gz`). Empty sentences and NaN or missing scores are errors.

    Columns count from 0; a row needs at least up to the last of them (extra columns are ignored).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No STS file at {path}. Give an STS-B-format file (tab-separated, score in column 5).")
    columns = {score_column: "score_column", first_column: "first_column", second_column: "second_column"}
    rows = iter_rows(path, columns, file_format="tsv", header=False, error_type=STSFormatError)
    pairs = STSPairs([], [], [])
    for number, fields in rows:
        try:
            score = float(fields[score_column])
        except ValueError:
            score = math.nan
        if math.isnan(score):
            raise STSFormatError(
                f"{row_location(path, number)}: score {fields[score_column]!r} is not a number. Fix or drop the row."
            )
        first, second = fields[first_column].strip(), fields[second_column].strip()
        if not first or not second:
            raise STSFormatError(f"{row_location(path, number)}: an empty sentence. Fix or drop the row.")
        pairs.first.append(first)
        pairs.second.append(second)
        pairs.scores.append(score)
    if not pairs.scores:
        raise STSFormatError(f"{path} holds no sentence pairs.")
    return pairs
