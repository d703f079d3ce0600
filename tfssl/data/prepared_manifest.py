"""The manifest of a prepared dataset directory, and the checks that make a damaged one fail early.

A prepared directory (written by `tfssl prepare`, read by `PreparedDataset`) holds:

    manifest.json            what the shards hold and how they were made (below)
    tokenizer/               vocab.txt (+ tokenizer.json): the vocabulary the ids index
    train-00000.bin ...      packed blocks: `blocks x sequence_length` unsigned ids, little-endian,
    held_out-00000.bin ...   no header (block i starts at byte i * sequence_length * itemsize)

Why raw fixed-length records and not TFRecord: a shard is written by a worker process that has no
TensorFlow (a numpy `tofile`, no protobuf or CRC per record), a block's offset is arithmetic, and
`tf.io.decode_raw` reads a whole shard in one core op; integrity comes from the manifest's size and
SHA-256 per shard instead of per-record CRCs.

`manifest.json`:

    {"format": "tfssl-prepared/1", "sequence_length": 128, "dtype": "uint16",
     "source": {"corpus": ..., "text_column": ..., "text_format": ..., "fingerprint": sha256},
     "tokenizer": {"kind": "wordpiece", "sha256": of vocab.txt, "vocabulary_size": ..., "lowercase": ...},
     "split": {"held_out_fraction": 0.05, "seed": 0, "by": "document"},
     "settings": {"shard_characters": ..., "sample_characters": ...},
     "shards": {"train": [{"file", "blocks", "documents", "characters", "sha256"}, ...], "held_out": [...]}}
"""

import hashlib
import json
import os

FORMAT = "tfssl-prepared/1"
MANIFEST = "manifest.json"
SPLITS = ("train", "held_out")


class PreparedDataError(ValueError):
    """A prepared directory is missing, damaged, or does not fit the run; the message names the fix."""


def is_prepared_directory(path) -> bool:
    return bool(path) and os.path.isfile(os.path.join(str(path), MANIFEST))


def file_sha256(path, chunk=1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def vocabulary_sha256(tokenizer_dir) -> str:
    """The identity of a WordPiece vocabulary: the hash of its vocab.txt."""
    path = os.path.join(tokenizer_dir, "vocab.txt")
    if not os.path.isfile(path):
        raise PreparedDataError(f"No vocab.txt in {tokenizer_dir}: give a WordPiece tokenizer directory.")
    return file_sha256(path)


def write_json_atomically(path, data):
    """Writes JSON so that readers see the old file or the new one, never half of one."""
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(temporary, path)
    except OSError:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def read_manifest(directory) -> dict:
    """The manifest of `directory`, checked against the shard files on disk (sizes, not hashes: fast)."""
    path = os.path.join(directory, MANIFEST)
    if not os.path.isfile(path):
        raise PreparedDataError(f"{directory} is not a prepared dataset (no {MANIFEST}). Make one with "
                                f"`tfssl prepare CORPUS {directory}`.")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except json.JSONDecodeError as e:
        raise PreparedDataError(f"{path} is not valid JSON ({e.msg}): rerun `tfssl prepare` into {directory}.") from e
    if manifest.get("format") != FORMAT:
        raise PreparedDataError(f"{path} has format {manifest.get('format')!r}, not {FORMAT!r}: prepare it again "
                                "with this version of tfssl.")
    record_bytes = record_length(manifest) * _itemsize(manifest["dtype"])
    for split in SPLITS:
        for shard in manifest["shards"][split]:
            file = os.path.join(directory, shard["file"])
            expected = shard["blocks"] * record_bytes
            size = os.path.getsize(file) if os.path.isfile(file) else None
            if size != expected:
                state = "is missing" if size is None else f"has {size:,} bytes, not {expected:,}"
                raise PreparedDataError(
                    f"Shard {file} {state} (truncated or damaged). Delete it and rerun the same `tfssl prepare` "
                    "command: it rewrites only the shards that are missing.")
    return manifest


def record_length(manifest) -> int:
    """Tokens per stored block: `sequence_length` for masked-LM blocks, one more for causal-LM windows (the
    inputs and the next token of the last one)."""
    return int(manifest["sequence_length"]) + (1 if manifest.get("layout", "masked") == "causal" else 0)


def tokenizer_sha256(tokenizer_dir) -> str:
    """One digest of a tokenizer directory's files (names and bytes): a decoder tokenizer's identity."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(tokenizer_dir)):
        path = os.path.join(tokenizer_dir, name)
        if os.path.isfile(path):
            digest.update(name.encode("utf-8") + b"\0" + file_sha256(path).encode("ascii"))
    return digest.hexdigest()


def verify_hashes(directory, manifest=None):
    """Re-reads every shard and compares its SHA-256 with the manifest's (slow: reads everything)."""
    manifest = manifest or read_manifest(directory)
    for split in SPLITS:
        for shard in manifest["shards"][split]:
            file = os.path.join(directory, shard["file"])
            if file_sha256(file) != shard["sha256"]:
                raise PreparedDataError(f"Shard {file} does not match its SHA-256 in the manifest (corrupt). "
                                        "Delete it and rerun the same `tfssl prepare` command.")


def _itemsize(dtype) -> int:
    return {"uint16": 2, "int32": 4}[dtype]


def stored_dtype(dtype) -> str:
    """The numpy type of stored ids: `dtype` ("uint16", "int32") little-endian, whatever the machine's order."""
    return "<" + {"uint16": "u2", "int32": "i4"}[dtype]


def id_dtype(vocabulary_size) -> str:
    """The narrowest stored id type: 2 bytes per token up to 65,536 ids."""
    return "uint16" if vocabulary_size <= 1 << 16 else "int32"


def prepared_summary(directory, verify=False):
    """What `tfssl prepare` reports: documents, blocks and shards per split (with `verify`, after re-reading
    every shard against its SHA-256)."""
    manifest = read_manifest(directory)
    if verify:
        verify_hashes(directory, manifest)
    return {"directory": directory, "documents": manifest["documents"],
            "blocks": {split: sum(s["blocks"] for s in shards) for split, shards in manifest["shards"].items()},
            "shards": {split: len(shards) for split, shards in manifest["shards"].items()}}
