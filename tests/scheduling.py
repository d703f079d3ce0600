"""The order in which two pytest-xdist workers take the tests: whole groups, the longest first.

A group goes to one worker as a unit (a custom xdist scheduler, `--dist loadscope` with its own scopes). A group
is a test's module (what loadscope does, so a module fixture is built once), or one it shares with the modules
that continue from the same trained run: a session fixture is built once per worker, so they must meet on one
worker. Groups then start longest first (`--no-loadscope-reorder` keeps the collection order this module
sets), so that the short ones fill in at the end; xdist's own order (the group with the most tests first)
started the 4-minute notebook module last, with the other worker idle for minutes.

The seconds are `--durations=0` figures of this 2-core machine, summed by group (call and set-up). They only
order the work: a stale figure costs some balance, never a test.
"""

import pytest

# Tests that continue from one trained run: node id prefix -> group.
SHARED_GROUPS = {
    # The tiny sotu masked-LM run (tests/integration/conftest.py::sotu_mlm_run).
    "tests/integration/test_mlm_end_to_end.py": "sotu-mlm-run",
    "tests/integration/test_finetuning_end_to_end.py": "sotu-mlm-run",
    "tests/integration/test_contrastive_end_to_end.py": "sotu-mlm-run",
    # The uninterrupted two-worker masked-LM launch (tests/conftest.py::two_worker_mlm_run).
    "tests/training/test_multi_worker.py": "two-worker-mlm-run",
    "tests/integration/test_preemption.py": "two-worker-mlm-run",
    # The contrastive notebook makes the short masked-LM run the fine-tuning notebook continues from; the other
    # notebooks are independent and may go to the other worker.
    "tests/integration/test_notebooks.py::test_notebook_executes[contrastive": "notebook-mlm-run",
    "tests/integration/test_notebooks.py::test_notebook_executes[finetuning": "notebook-mlm-run",
    "tests/integration/test_notebooks.py::test_notebook_executes[causal": "notebook-causal",
    "tests/integration/test_notebooks.py::test_notebook_executes[huggingface": "notebook-huggingface",
    "tests/integration/test_notebooks.py::test_notebook_executes[mlm": "notebook-mlm",
}

# The contract module goes first on its worker. Late in a worker's life one of its 0.5-second `.keras` round
# trips took 30-60 s in three full runs (never alone, nor after 300 traced models). Run first, it did not stall,
# but another test did; the stalls went away with one TensorFlow thread per worker (conftest.py).
FIRST = "tests/test_keras_contract.py"

SECONDS = {
    FIRST: 10_000,
    "sotu-mlm-run": 230,
    "notebook-mlm-run": 140,
    "two-worker-mlm-run": 250,
    "tests/integration/test_preemption_every_driver.py": 100,
    "tests/integration/test_pretraining_comparison.py": 35,
    "tests/integration/test_electra_end_to_end.py": 25,
    "tests/models/test_electra_pretrainer.py": 20,
    "tests/models/test_gradient_accumulation.py": 57,
    "tests/models/test_precision.py": 45,
    "tests/export/test_generation_export.py": 51,
    "notebook-huggingface": 49,
    "tests/models/test_contrastive_pretrainer.py": 46,
    "notebook-causal": 44,
    "tests/export/test_classifier_export.py": 36,
    "notebook-mlm": 35,
    "tests/integration/test_causal_lm_end_to_end.py": 32,
    "tests/convert/test_minilm_end_to_end.py": 45,
    "tests/export/test_serving_edges.py": 40,
    "tests/export/test_mixed_precision_export.py": 12,
    "tests/models/test_quickstart.py": 25,
    "tests/benchmarks/test_accelerator_suite.py": 19,
    "tests/benchmarks/test_mlm_throughput.py": 18,
    "tests/benchmarks/test_causal_lm_throughput.py": 17,
    "tests/benchmarks/test_contrastive_throughput.py": 27,
    "tests/models/test_text_classifier.py": 26,
    "tests/data/test_corpus_preparation.py": 24,
    "tests/models/test_text_generator.py": 22,
    "tests/convert/test_hf_gpt2.py": 21,
    "tests/convert/test_continued_pretraining.py": 21,
}


def group_of(nodeid):
    """The test's group: a shared one if its node id starts with a `SHARED_GROUPS` prefix, else its module."""
    for prefix, group in SHARED_GROUPS.items():
        if nodeid.startswith(prefix):
            return group
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(optionalhook=True)  # an xdist hook: without xdist, nothing calls it
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        """loadscope with `group_of` as the scope."""

        def _split_scope(self, nodeid):
            return group_of(nodeid)

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    position = {item: i for i, item in enumerate(items)}
    items.sort(key=lambda item: (-SECONDS.get(group_of(item.nodeid), 0), position[item]))
