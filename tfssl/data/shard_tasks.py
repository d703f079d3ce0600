"""The shard tasks of `tfssl prepare`: the corpus stream cut into chunks, one task per chunk, run in a process pool.

    documents --chunks--> (split, index, texts) of ~shard_characters --run_shard_tasks--> <split>-NNNNN.bin + .done

A task is `shard_writing.write_shard` (a pure function of its texts and the tokenizer); its `.done` note
(`read_done`) lets a resumed prepare skip it. `beam_preparation` runs the same tasks as a Beam pipeline.
"""

import json
import multiprocessing
import os
from multiprocessing.pool import AsyncResult

from tfssl.data.shard_writing import start_shard_worker, write_shard


def chunks(documents, is_held_out, shard_characters):
    """Yields `(split, index, texts)` chunks of about `shard_characters`, in corpus order per split."""
    pending = {"train": [], "held_out": []}
    sizes = {"train": 0, "held_out": 0}
    counts = {"train": 0, "held_out": 0}
    for doc in documents:
        split = "held_out" if is_held_out(doc) else "train"
        pending[split].append(doc.text)
        sizes[split] += len(doc.text)
        if sizes[split] >= shard_characters:
            yield split, counts[split], pending[split]
            pending[split], sizes[split] = [], 0
            counts[split] += 1
    for split in ("train", "held_out"):
        if pending[split]:
            yield split, counts[split], pending[split]


def run_shard_tasks(output_dir, chunks, task_settings, processes):
    """Runs one task per chunk (at most 2 per process in flight) and yields `(split, shard)` in chunk order;
    chunks whose shard is already done (a resumed prepare) are not tokenized again."""
    processes = os.cpu_count() if processes is None else int(processes)
    pool = None
    if processes > 0:
        pool = multiprocessing.get_context("spawn").Pool(processes, initializer=start_shard_worker,
                                                         initargs=task_settings)
    else:
        start_shard_worker(*task_settings)
    pending = []
    try:
        for split, index, texts in chunks:
            path = os.path.join(output_dir, f"{split}-{index:05d}.bin")
            done = read_done(path)
            if done is not None:
                pending.append((split, done))
            elif pool is None:
                pending.append((split, write_shard(path, texts)))
            else:
                pending.append((split, pool.apply_async(write_shard, (path, texts))))
            while len(pending) > 2 * max(processes, 1) or (pending and _ready(pending[0][1])):
                split_done, result = pending.pop(0)
                yield split_done, _result(result)
        for split_done, result in pending:
            yield split_done, _result(result)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def _ready(result):
    return not isinstance(result, AsyncResult) or result.ready()


def _result(result):
    return result.get() if isinstance(result, AsyncResult) else result


def read_done(path):
    try:
        with open(path + ".done", encoding="utf-8") as f:
            done = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    return done if os.path.isfile(path) and os.path.getsize(path) == done["bytes"] else None
