"""Reading prepared shards: an epoch is a permutation of blocks, pipelines read disjoint parts that together are
every block (also with fewer files than pipelines), and a resumed stream equals the uninterrupted one."""

import numpy as np
import pytest

from tfssl.data.corpus_preparation import prepare_corpus
from tfssl.data.mlm_pipeline import masker_for_tokenizer, prepared_mask_batches
from tfssl.data.prepared_dataset import PreparedDataset, all_blocks


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, small_texts, vocab_dir):
    corpus = tmp_path_factory.mktemp("corpus")
    for i, text in enumerate(small_texts[:12]):
        (corpus / f"{i:02d}.txt").write_text(text, encoding="utf-8")
    out = prepare_corpus(str(corpus), str(tmp_path_factory.mktemp("prepared") / "p"), tokenizer_dir=vocab_dir,
                         sequence_length=32, shard_characters=8_000, processes=0, show_progress=False)
    return PreparedDataset(out, piece_blocks=40, window_blocks=100)


def rows(batches):
    return [row.tobytes() for batch in batches for row in np.asarray(batch)]


def test_an_epoch_is_a_permutation_and_the_next_epoch_another(prepared):
    every = {row.tobytes() for row in all_blocks(prepared.directory)}
    steps = prepared.steps_per_epoch(8)
    assert steps == prepared.num_blocks() // 8 and len(prepared.files("train")) >= 8
    stream = list(prepared.training_blocks(8, seed=1).take(2 * steps).as_numpy_iterator())
    first, second = rows(stream[:steps]), rows(stream[steps:])
    assert len(set(first)) == len(first) == steps * 8 and set(first) <= every
    assert set(second) <= every and first != second
    again = rows(prepared.training_blocks(8, seed=1).take(steps).as_numpy_iterator())
    assert again == first  # same seed, same batches
    assert rows(prepared.training_blocks(8, seed=2).take(steps).as_numpy_iterator()) != first


@pytest.mark.parametrize("pipelines", [2, 3])
def test_pipelines_read_disjoint_blocks_in_step(prepared, pipelines):
    steps = prepared.steps_per_epoch(4, pipelines)
    shares = [rows(prepared.training_blocks(4, seed=0, num_pipelines=pipelines, pipeline_id=p).take(steps)
                   .as_numpy_iterator()) for p in range(pipelines)]
    assert all(len(share) == steps * 4 for share in shares)
    union = set().union(*map(set, shares))
    assert len(union) == sum(map(len, shares))  # no block read twice in an epoch
    assert len(union) > prepared.num_blocks() - pipelines * 4  # every block but the remainder of the batches


def test_pipelines_split_blocks_even_when_files_are_fewer(tmp_path, small_texts, vocab_dir):
    corpus = tmp_path / "one.txt"
    corpus.write_text(small_texts[0] + small_texts[1], encoding="utf-8")
    out = prepare_corpus(str(corpus), str(tmp_path / "p"), tokenizer_dir=vocab_dir, sequence_length=16,
                         held_out_fraction=0.0, processes=0, show_progress=False)
    data = PreparedDataset(out, piece_blocks=16, window_blocks=32)
    assert len(data.files("train")) == 1
    steps = data.steps_per_epoch(2, 3)
    shares = [rows(data.training_blocks(2, num_pipelines=3, pipeline_id=p).take(steps).as_numpy_iterator())
              for p in range(3)]
    everything = [row.tobytes() for row in all_blocks(out)]
    union = set().union(*map(set, shares))
    assert len(union) == sum(map(len, shares)) == 3 * steps * 2  # disjoint, each pipeline its full share
    assert union <= set(everything) and len(union) > len(everything) - 3 * 2


@pytest.mark.parametrize("start_step", [1, 7, 40, 95])
def test_a_resumed_stream_equals_the_uninterrupted_one(prepared, tokenizer, start_step):
    masker = masker_for_tokenizer(tokenizer, 32)
    steps = prepared.steps_per_epoch(8, 2)
    assert start_step < 2 * steps
    full = list(prepared_mask_batches(prepared, masker, 8, 3, 0, 2, 1).take(start_step + 5).as_numpy_iterator())
    resumed = list(prepared_mask_batches(prepared, masker, 8, 3, start_step, 2, 1).take(5).as_numpy_iterator())
    for (x, y, w), (rx, ry, rw) in zip(full[start_step:], resumed):
        assert all(np.array_equal(x[k], rx[k]) for k in x) and np.array_equal(y, ry) and np.array_equal(w, rw)
    other = list(prepared_mask_batches(prepared, masker, 8, 3, 0, 2, 0).take(1).as_numpy_iterator())
    assert not np.array_equal(other[0][0]["token_ids"], full[0][0]["token_ids"])  # its own part and masks


def test_block_ids_name_the_blocks_read_and_resume_alike(prepared, tokenizer, tmp_path):
    every = all_blocks(prepared.directory)
    steps = prepared.steps_per_epoch(4, 2)
    with_ids = list(prepared.training_blocks(4, seed=3, num_pipelines=2, pipeline_id=1, with_block_ids=True)
                    .take(steps + 2).as_numpy_iterator())
    plain = list(prepared.training_blocks(4, seed=3, num_pipelines=2, pipeline_id=1).take(steps + 2)
                 .as_numpy_iterator())
    for (ids, blocks), same in zip(with_ids, plain):
        assert np.array_equal(blocks, same) and np.array_equal(every[ids], blocks)  # an id is its block's row
    resumed = next(prepared.training_blocks(4, seed=3, start_step=steps + 1, num_pipelines=2, pipeline_id=1,
                                            with_block_ids=True).as_numpy_iterator())
    assert np.array_equal(resumed[0], with_ids[steps + 1][0])

    record = tmp_path / "blocks.tsv"
    masker = masker_for_tokenizer(tokenizer, 32)
    list(prepared_mask_batches(prepared, masker, 4, 3, 0, 2, 1, record_blocks_to=str(record)).take(3))
    lines = dict(line.split("\t") for line in record.read_text().splitlines())
    assert [int(i) for i in lines["2"].split()] == list(with_ids[2][0])  # step 2's line names step 2's blocks


def test_too_few_blocks_for_a_batch_names_the_fix(prepared):
    with pytest.raises(ValueError, match="do not fill one batch of .* Lower batch_size"):
        prepared.steps_per_epoch(prepared.num_blocks() + 1)
