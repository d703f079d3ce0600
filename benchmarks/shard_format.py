"""Raw fixed-length shards (what `tfssl prepare` writes) against TFRecord, on the same blocks.

For `blocks` random uint16 blocks of `sequence_length` ids, measures per format: writing time (raw: one
numpy `tofile`; TFRecord: `tf.io.TFRecordWriter` with a serialized `tf.train.Example` per block, its ids
as a bytes feature, the compact choice, or as an int64 list, the common one), file size, a full read
through tf.data to int32 blocks (blocks/s), and the time to the first block at the middle of the file
(a resumed run: raw seeks by arithmetic; TFRecord has no index, so it skips record by record).

    python benchmarks/shard_format.py --blocks 400000 --sequence-length 128

Prints one JSON object.
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np
import tensorflow as tf


def _timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def _drain(dataset):
    count = 0
    for batch in dataset.batch(1024).prefetch(tf.data.AUTOTUNE):
        count += int(batch.shape[0])
    return count


def raw_format(path, blocks, length):
    record_bytes = length * 2
    write_seconds, _ = _timed(lambda: blocks.astype("<u2").tofile(path))

    def reader(first=0):
        records = tf.data.FixedLengthRecordDataset(path, record_bytes, header_bytes=first * record_bytes)
        return records.map(lambda r: tf.cast(tf.io.decode_raw(r, tf.uint16, little_endian=True), tf.int32),
                           num_parallel_calls=tf.data.AUTOTUNE)

    return write_seconds, reader


def tfrecord_format(path, blocks, length, feature):
    def write():
        with tf.io.TFRecordWriter(path) as writer:
            for block in blocks:
                if feature == "bytes":
                    value = tf.train.Feature(bytes_list=tf.train.BytesList(value=[block.astype("<u2").tobytes()]))
                else:
                    value = tf.train.Feature(int64_list=tf.train.Int64List(value=block.astype(np.int64)))
                writer.write(tf.train.Example(features=tf.train.Features(feature={"ids": value})).SerializeToString())

    write_seconds, _ = _timed(write)
    spec = {"ids": tf.io.FixedLenFeature([], tf.string) if feature == "bytes" else tf.io.FixedLenFeature([length], tf.int64)}

    def parse(record):
        ids = tf.io.parse_single_example(record, spec)["ids"]
        if feature == "bytes":
            return tf.cast(tf.io.decode_raw(ids, tf.uint16, little_endian=True), tf.int32)
        return tf.cast(ids, tf.int32)

    def reader(first=0):
        return tf.data.TFRecordDataset(path).skip(first).map(parse, num_parallel_calls=tf.data.AUTOTUNE)

    return write_seconds, reader


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=400_000)
    parser.add_argument("--sequence-length", type=int, default=128)
    args = parser.parse_args()
    blocks = np.random.default_rng(0).integers(0, 8192, (args.blocks, args.sequence_length), dtype=np.int64)
    middle = args.blocks // 2
    results = {"blocks": args.blocks, "sequence_length": args.sequence_length, "formats": {}}
    with tempfile.TemporaryDirectory() as directory:
        formats = {
            "raw (tfssl)": lambda p: raw_format(p, blocks, args.sequence_length),
            "tfrecord, bytes feature": lambda p: tfrecord_format(p, blocks, args.sequence_length, "bytes"),
            "tfrecord, int64 feature": lambda p: tfrecord_format(p, blocks, args.sequence_length, "int64"),
        }
        for name, make in formats.items():
            path = os.path.join(directory, name.split()[0].strip(",") + name[-7:].strip())
            write_seconds, reader = make(path)
            read_seconds, count = _timed(lambda: _drain(reader()))
            assert count == args.blocks, (name, count)
            first = next(iter(reader(middle)))
            assert np.array_equal(first.numpy(), blocks[middle]), name  # the same data in every format
            resume_seconds, _ = _timed(lambda: next(iter(reader(middle))))
            results["formats"][name] = {
                "write_seconds": round(write_seconds, 2),
                "megabytes": round(os.path.getsize(path) / 1e6, 1),
                "read_blocks_per_second": round(count / read_seconds),
                "first_block_at_middle_seconds": round(resume_seconds, 3),
            }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
