"""One shard task of `tfssl prepare`: documents -> token ids -> packed blocks -> a shard file, atomically.

Runs in a worker process without TensorFlow: the `tokenizers` library (WordPiece, the same normalization and
splitting as `train_wordpiece`, hence the same ids as tensorflow-text's `FastBertTokenizer` on the same
vocab.txt) or the `sentencepiece` library / a character table (decoder tokenizers) tokenizes, numpy packs
(masked LM: exactly `pack_token_sequences`; causal LM: exactly the windows of `lm_batches`) and writes. A task is a pure function of its documents
and the vocabulary, so any runner (the local process pool, a Beam pipeline) writes the same bytes.
"""

import json
import os

import numpy as np

from tfssl.data.prepared_manifest import PreparedDataError, file_sha256, stored_dtype, write_json_atomically

_WORKER = {}  # this worker process's encoder and settings, set once by start_shard_worker
LAYOUTS = ("masked", "causal")


def start_shard_worker(layout, tokenizer_dir, lowercase, sequence_length, dtype):
    """Loads this process's encoder once: texts -> lists of ids, the same ids as the in-graph tokenizer.

    `layout="masked"`: WordPiece from `tokenizer_dir/vocab.txt` through the `tokenizers` library (the same
    normalization and splitting as `train_wordpiece`, hence as tensorflow-text's `FastBertTokenizer`), packed as
    [CLS] ... [SEP] blocks. `layout="causal"`: the decoder tokenizer of `tokenizer_dir` (SentencePiece through the
    `sentencepiece` library, or characters through a numpy table), packed as next-token windows."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the processes are the parallelism
    if layout == "masked":
        encode, specials = _wordpiece_encoder(tokenizer_dir, lowercase)
    elif layout == "causal":
        encode, specials = _decoder_encoder(tokenizer_dir)
    else:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}.")
    _WORKER.update(layout=layout, encode=encode, sequence_length=sequence_length, dtype=dtype, **specials)


def _wordpiece_encoder(tokenizer_dir, lowercase):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocab_file = os.path.join(tokenizer_dir, "vocab.txt")
    tokenizer = Tokenizer(models.WordPiece.from_file(vocab_file, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                      strip_accents=lowercase, lowercase=lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()

    def encode(texts):
        return [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]

    return encode, {"cls": tokenizer.token_to_id("[CLS]"), "sep": tokenizer.token_to_id("[SEP]")}


def _decoder_encoder(tokenizer_dir):
    """The encoders of `tfssl.tokenizers.decoder_tokenizers`, without TensorFlow (ids checked equal in tests)."""
    with open(os.path.join(tokenizer_dir, "tfssl_tokenizer.json"), encoding="utf-8") as f:
        kind = json.load(f).get("type")
    if kind == "sentencepiece":
        import sentencepiece as spm

        processor = spm.SentencePieceProcessor(model_file=os.path.join(tokenizer_dir, "sentencepiece.model"))
        return (lambda texts: processor.encode(list(texts))), {"eot": processor.piece_to_id("<|endoftext|>")}
    if kind == "character":
        with open(os.path.join(tokenizer_dir, "characters.json"), encoding="utf-8") as f:
            characters = json.load(f)
        codepoints = np.array([ord(c) for c in characters], dtype=np.int64)
        table = np.zeros(int(codepoints.max(initial=0)) + 2, dtype=np.int64)  # 0: <unk>, as CharacterTokenizer
        table[codepoints] = np.arange(2, len(codepoints) + 2)

        def encode(texts):
            points = (np.frombuffer(t.encode("utf-32-le"), dtype="<u4").astype(np.int64) for t in texts)
            return [table[np.minimum(p, len(table) - 1)] for p in points]

        return encode, {"eot": 1}
    raise PreparedDataError(f"{tokenizer_dir}: `tfssl prepare` packs causal-LM data with SentencePiece or character "
                            f"tokenizers, not {kind!r}. Train one (--tokenizer=sentencepiece) instead.")


def decoder_vocabulary_size(tokenizer_dir):
    """`(ids, kind)` of a decoder tokenizer directory, read without TensorFlow."""
    with open(os.path.join(tokenizer_dir, "tfssl_tokenizer.json"), encoding="utf-8") as f:
        kind = json.load(f).get("type")
    if kind == "sentencepiece":
        import sentencepiece as spm

        model = os.path.join(tokenizer_dir, "sentencepiece.model")
        return spm.SentencePieceProcessor(model_file=model).get_piece_size(), kind
    if kind == "character":
        with open(os.path.join(tokenizer_dir, "characters.json"), encoding="utf-8") as f:
            return len(json.load(f)) + 2, kind
    raise PreparedDataError(f"{tokenizer_dir}: `tfssl prepare` packs causal-LM data with SentencePiece or character "
                            f"tokenizers, not {kind!r}.")


def pack_causal_windows(token_lists, sequence_length, end_of_text_id, dtype="int32"):
    """Documents' ids -> `(windows, sequence_length + 1)`: one stream with end-of-text before each document,
    cut every `sequence_length` tokens into windows one token longer (inputs, and the next token of the last);
    the tail without a full window is dropped. Exactly the blocks `lm_batches` cuts with `random_offset=False`."""
    lengths = np.fromiter((len(ids) + 1 for ids in token_lists), np.int64, len(token_lists))
    stream = np.full(int(lengths.sum()), end_of_text_id, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    for ids, start in zip(token_lists, starts):
        stream[start + 1:start + 1 + len(ids)] = ids
    count = max((len(stream) - 1) // sequence_length, 0)
    windows = np.empty((count, sequence_length + 1), dtype=dtype)
    for column in range(sequence_length + 1):  # a strided gather: one pass per position, no Python per window
        windows[:, column] = stream[column:column + count * sequence_length:sequence_length]
    return windows


def pack_blocks(token_lists, sequence_length, cls_token_id, sep_token_id, dtype="int32"):
    """Documents' ids -> `(blocks, sequence_length)`: joined with [SEP] after each, cut into pieces of
    `sequence_length - 2`, each wrapped as [CLS] piece [SEP]; the tail shorter than a piece is dropped.

    The numpy twin (worker processes have no TensorFlow) of `tfssl.data.packing.pack_token_sequences`;
    the one definition of the `[CLS] ... [SEP]` layout is `tfssl.data.packing.pack_segments`. Keep the
    two in step: `tests/data/test_packing.py` compares them value by value."""
    body = sequence_length - 2
    lengths = np.fromiter((len(ids) + 1 for ids in token_lists), np.int64, len(token_lists))
    stream = np.full(int(lengths.sum()), sep_token_id, dtype=np.int64)
    ends = np.cumsum(lengths)
    for ids, end in zip(token_lists, ends):
        stream[end - 1 - len(ids):end - 1] = ids
    count = len(stream) // body
    blocks = np.empty((count, sequence_length), dtype=dtype)
    blocks[:, 0], blocks[:, -1] = cls_token_id, sep_token_id
    blocks[:, 1:-1] = stream[:count * body].reshape(count, body)
    return blocks


def write_shard(path, texts):
    """One shard task: tokenize, pack and write `path` atomically; returns the shard's manifest entry."""
    worker = _WORKER
    ids = worker["encode"](texts)
    if worker["layout"] == "causal":
        blocks = pack_causal_windows(ids, worker["sequence_length"], worker["eot"], worker["dtype"])
    else:
        blocks = pack_blocks(ids, worker["sequence_length"], worker["cls"], worker["sep"], worker["dtype"])
    blocks = blocks.astype(stored_dtype(worker["dtype"]), copy=False)
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
