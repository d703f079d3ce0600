"""`distribute_global_batches`: each replica gets its contiguous rows of every global batch, in
order, as `MirroredStrategy` gives them on one machine (2 logical CPU devices, a fresh process)."""

import pytest
import tensorflow as tf

from tests.helpers import json_from_fresh_process
from tfssl.training.distributed_input import distribute_global_batches, global_batch_size_of, per_replica_batch_size

SCRIPT = r"""
import json
from tests.synthetic_mlm import two_logical_cpus
two_logical_cpus()
import tensorflow as tf
from tfssl.training.distributed_input import distribute_global_batches
from tfssl.training.strategy import choose_strategy

strategy = choose_strategy("mirrored")
rows = tf.data.Dataset.range(1000).batch(8, drop_remainder=True).repeat()
batches = rows.map(lambda r: ({"token_ids": tf.stack([r, r], axis=1)}, r))  # (x, y), x a dict
ours = iter(distribute_global_batches(strategy, batches))
keras_default = iter(strategy.experimental_distribute_dataset(batches))
out = {"ours": [], "default": []}
for _ in range(3):
    for name, iterator in (("ours", ours), ("default", keras_default)):
        x, y = next(iterator)
        out[name].append([[int(v) for v in t.numpy()] for t in strategy.experimental_local_results(y)]
                         + [[int(v) for v in t.numpy()[:, 0]] for t in strategy.experimental_local_results(x["token_ids"])])
print(json.dumps(out))
"""


def test_replicas_get_their_contiguous_rows_of_each_global_batch_as_mirrored_does():
    out = json_from_fresh_process(SCRIPT, timeout=300)
    assert out["ours"][0] == [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 3], [4, 5, 6, 7]]
    assert out["ours"][2][:2] == [[16, 17, 18, 19], [20, 21, 22, 23]]  # batch after batch, no row skipped
    assert out["ours"] == out["default"]


def test_one_replica_or_a_ragged_batch_passes_through_and_an_uneven_split_is_refused():
    strategy = tf.distribute.get_strategy()
    batches = tf.data.Dataset.range(10).batch(4)
    assert distribute_global_batches(strategy, batches) is batches
    assert global_batch_size_of(batches) is None  # the last batch is short
    assert global_batch_size_of(tf.data.Dataset.range(10).batch(4, drop_remainder=True)) == 4

    class ThreeReplicas:
        num_replicas_in_sync = 3

    with pytest.raises(ValueError, match="batch_size=8 does not split evenly over 3 replicas; use a multiple of 3"):
        per_replica_batch_size(ThreeReplicas(), 8)
