"""One shard task of `tfssl prepare`: documents -> WordPiece ids -> packed blocks -> a shard file, atomically.

Runs in a worker process without TensorFlow: the `tokenizers` library tokenizes (the same normalization and
splitting as `train_wordpiece`, hence the same ids as tensorflow-text's `FastBertTokenizer` on the same
vocab.txt), numpy packs (exactly `pack_token_sequences`) and writes. A task is a pure function of its documents
and the vocabulary, so any runner (the local process pool, a Beam pipeline) writes the same bytes.
"""

import os

import numpy as np

from tfssl.data.prepared_manifest import PreparedDataError, file_sha256, write_json_atomically

_WORKER = {}  # this worker process's tokenizer and settings, set once by start_shard_worker


def start_shard_worker(vocab_file, lowercase, sequence_length, cls_id, sep_id, dtype):
    """Loads the `tokenizers` WordPiece tokenizer once per process (the same normalization and splitting as
    `train_wordpiece`, hence as tensorflow-text's `FastBertTokenizer` on the same vocab.txt)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the processes are the parallelism
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.WordPiece.from_file(vocab_file, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                      strip_accents=lowercase, lowercase=lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    _WORKER.update(tokenizer=tokenizer, sequence_length=sequence_length, cls=cls_id, sep=sep_id, dtype=dtype)


def pack_blocks(token_lists, sequence_length, cls_id, sep_id, dtype="int32"):
    """Documents' ids -> `(blocks, sequence_length)`: joined with [SEP] after each, cut into pieces of
    `sequence_length - 2`, each wrapped as [CLS] piece [SEP]; the tail shorter than a piece is dropped
    (exactly `pack_token_sequences`, in numpy)."""
    body = sequence_length - 2
    lengths = np.fromiter((len(ids) + 1 for ids in token_lists), np.int64, len(token_lists))
    stream = np.full(int(lengths.sum()), sep_id, dtype=np.int64)
    ends = np.cumsum(lengths)
    for ids, end in zip(token_lists, ends):
        stream[end - 1 - len(ids):end - 1] = ids
    count = len(stream) // body
    blocks = np.empty((count, sequence_length), dtype=dtype)
    blocks[:, 0], blocks[:, -1] = cls_id, sep_id
    blocks[:, 1:-1] = stream[:count * body].reshape(count, body)
    return blocks


def write_shard(path, texts):
    """One shard task: tokenize, pack and write `path` atomically; returns the shard's manifest entry."""
    worker = _WORKER
    encodings = worker["tokenizer"].encode_batch(texts, add_special_tokens=False)
    blocks = pack_blocks([e.ids for e in encodings], worker["sequence_length"], worker["cls"], worker["sep"],
                         worker["dtype"]).astype("<" + np.dtype(worker["dtype"]).str[1:], copy=False)
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with open(temporary, "wb") as f:
            blocks.tofile(f)
        os.replace(temporary, path)
    except OSError as e:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise PreparedDataError(f"Could not write the shard {path} ({e.strerror or e}). Finished shards are kept: "
                                "free disk space and rerun the same command to continue.") from e
    shard = {"file": os.path.basename(path), "blocks": int(len(blocks)), "documents": len(texts),
             "characters": sum(map(len, texts)), "sha256": file_sha256(path), "bytes": int(blocks.nbytes)}
    write_json_atomically(path + ".done", shard)
    return shard
