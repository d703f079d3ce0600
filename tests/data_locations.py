"""Where tests find real text: committed excerpts (always present) and, optionally, the full benchmark folder.

The default test suite reads only the excerpts under `tests/excerpts/` (see their SOURCE.md), so a fresh clone
passes on its own. Full-data checks are marked `benchmark_data` and read the folder named by the environment
variable `TFSSL_BENCHMARK_DATA` (holding `stsbenchmark/`, `sst2/`, `tinyshakespeare/`, as CI's data folder does);
without it they skip, naming the variable and the missing path. `tests/outside_reads.py` fails any other test that
reads beside the repository.
"""

import os

import pytest

EXCERPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "excerpts")
BENCHMARK_DATA_VARIABLE = "TFSSL_BENCHMARK_DATA"


def excerpt(*parts):
    """Path of a committed excerpt, e.g. `excerpt("stsbenchmark", "sts-dev.csv")`."""
    path = os.path.join(EXCERPTS, *parts)
    assert os.path.exists(path), f"{path} is missing from the checkout"
    return path


def benchmark_data_dir():
    """The full benchmark folder, or None when `TFSSL_BENCHMARK_DATA` is unset."""
    value = os.environ.get(BENCHMARK_DATA_VARIABLE)
    return os.path.abspath(value) if value else None


def benchmark_file(*parts):
    """Path of a full benchmark file (it may not exist; pair with `needs_benchmark_data`)."""
    return os.path.join(benchmark_data_dir() or f"${BENCHMARK_DATA_VARIABLE}", *parts)


def benchmark_data_marks(*parts):
    """Marks (for `pytestmark`) of tests that read the full benchmark file `parts`: they may read outside the
    repository, and skip with the reason when the file is not there."""
    path = benchmark_file(*parts)
    if benchmark_data_dir() is None:
        reason = f"set {BENCHMARK_DATA_VARIABLE} to the benchmark data folder to run this (it reads {path})"
    else:
        reason = f"{path} not found (from {BENCHMARK_DATA_VARIABLE})"
    return [pytest.mark.benchmark_data, pytest.mark.skipif(not os.path.exists(path), reason=reason)]


def needs_benchmark_data(*parts):
    """Decorator form of `benchmark_data_marks` for one test."""

    def decorate(test):
        for mark in benchmark_data_marks(*parts):
            test = mark(test)
        return test

    return decorate
