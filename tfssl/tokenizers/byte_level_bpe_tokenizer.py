"""GPT-2 / RoBERTa byte-level BPE in the graph, so converted checkpoints take raw strings.

Hugging Face's byte-level BPE (a `tokenizer.json` with a BPE model and a ByteLevel
pre-tokenizer, or `vocab.json` + `merges.txt`) runs here as TensorFlow and TensorFlow Text ops:

1. GPT-2's pre-tokenization regex (contractions, ` ?letters`, ` ?digits`, ` ?other`, spaces).
   RE2 has no look-ahead, so the rule "a run of spaces gives its last space to the next word"
   is done by first marking that space's place with U+E000 (a private-use character, dropped
   with the marks; it cannot appear in a token).
2. Every byte of a piece becomes GPT-2's printable stand-in character (`bytes_to_unicode`).
3. The merges run as a SentencePiece BPE model built from the vocabulary, each merged piece
   scored by minus its merge rank, so SentencePiece's "best-scoring pair first" is BPE's "lowest
   rank first". Special tokens (`<|endoftext|>`, `<s>`, ...) are control pieces: never produced
   from text.

Ids equal the `tokenizers` library's (tested on held-out text, whitespace runs, digits,
contractions and non-Latin scripts). Same interface as the decoder tokenizers: `__call__`,
`detokenize`, `id_to_token`, `vocabulary_size`, `end_of_text_id`.

Example:

>>> tokenizer = ByteLevelBPETokenizer.from_directory("gpt2/")   # tokenizer.json, or vocab.json + merges.txt
>>> tokenizer(tf.constant(["Hello world"]))                       # <tf.RaggedTensor [[15496, 995]]>
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

MARK = "\ue000"
# Python `regex`'s \s (what GPT-2 and `tokenizers` use) is Unicode whitespace; RE2's is ASCII.
_SPACE = r"\t\n\x{0B}\f\r \x{1C}-\x{1F}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"
_S, _NOT_S = f"[{_SPACE}]", f"[^{_SPACE}]"
_PIECES = (r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+"
           + rf"| ?[^{_SPACE}\p{{L}}\p{{N}}\x{{E000}}]+|{_S}+")
_SPLIT = _PIECES + r"|\x{E000}"
_MARK_LAST_SPACE = (rf"({_S}+)({_S})({_NOT_S})", "\\1" + MARK + "\\2\\3")


def bytes_to_unicode():
    """GPT-2's byte -> printable character table (bytes that print stand for themselves)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, [chr(c) for c in codes]))


def read_bpe_files(directory):
    """`(vocabulary list by id, merges list of "a b", special tokens)` from `tokenizer.json` or
    `vocab.json` + `merges.txt`; anything else is a `ValueError` naming the directory."""
    path = os.path.join(directory, "tokenizer.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        model = spec.get("model") or {}
        if model.get("type") != "BPE" or "ByteLevel" not in json.dumps(spec.get("pre_tokenizer")):
            raise ValueError(f"{path} is not a byte-level BPE tokenizer (model {model.get('type')!r}).")
        vocab = dict(model["vocab"])
        merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
        added = {t["content"]: t["id"] for t in spec.get("added_tokens", [])}
        vocab.update(added)
        special = [t["content"] for t in spec.get("added_tokens", []) if t.get("special")]
    elif os.path.isfile(os.path.join(directory, "vocab.json")) and os.path.isfile(os.path.join(directory, "merges.txt")):
        with open(os.path.join(directory, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        with open(os.path.join(directory, "merges.txt"), encoding="utf-8") as f:
            merges = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#version")]
        special = [t for t in vocab if t.startswith("<") and t.endswith(">") and len(t) > 2]
    else:
        raise ValueError(f"{directory} has neither tokenizer.json nor vocab.json + merges.txt.")
    size = max(vocab.values()) + 1
    tokens = [None] * size
    for token, index in vocab.items():
        tokens[index] = token
    holes = [i for i, t in enumerate(tokens) if t is None]
    if holes:
        raise ValueError(f"{directory}: the vocabulary has no token for ids {holes[:5]}; it is not contiguous.")
    return tokens, merges, special


def sentencepiece_proto(tokens, merges, special):
    """A serialized SentencePiece BPE model whose merges are these (see the module docstring)."""
    from sentencepiece import sentencepiece_model_pb2 as sp_model

    rank = {}
    for i, merge in enumerate(merges):
        left, _, right = merge.partition(" ")
        rank.setdefault(left + right, i)
    special = set(special)
    unknown = next((t for t in tokens if t in ("<unk>", "<|endoftext|>")), None) or next(iter(special), None)
    if unknown is None:
        raise ValueError("A byte-level BPE vocabulary needs an <unk> or <|endoftext|> token.")
    model = sp_model.ModelProto()
    model.trainer_spec.model_type = sp_model.TrainerSpec.BPE
    model.trainer_spec.vocab_size = len(tokens)
    model.trainer_spec.unk_id = tokens.index(unknown)
    model.trainer_spec.bos_id = model.trainer_spec.eos_id = model.trainer_spec.pad_id = -1
    model.normalizer_spec.name = "identity"
    model.normalizer_spec.add_dummy_prefix = False
    model.normalizer_spec.remove_extra_whitespaces = False
    model.normalizer_spec.escape_whitespaces = False
    kinds = sp_model.ModelProto.SentencePiece
    for token in tokens:
        piece = model.pieces.add()
        piece.piece = token
        piece.score = -float(rank[token]) if token in rank else 0.0
        piece.type = kinds.UNKNOWN if token == unknown else kinds.CONTROL if token in special else kinds.NORMAL
    return model.SerializeToString()


@keras.saving.register_keras_serializable(package="tfssl")
class ByteLevelBPETokenizer(keras.layers.Layer):
    """Strings -> ragged byte-level BPE ids, and back.

    Args:
        vocabulary: tokens by id.
        merges: merge rules, "left right", in rank order.
        special_tokens: tokens never produced from text (and dropped by `detokenize`).
        end_of_text: the end-of-text / separator token (`<|endoftext|>`, RoBERTa's `</s>`).
    """

    def __init__(self, vocabulary, merges, special_tokens=(), end_of_text=None, **kwargs):
        kwargs.setdefault("trainable", False)
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        self.vocabulary, self.merges = list(vocabulary), list(merges)
        self.special_tokens = [t for t in special_tokens if t in self.vocabulary]
        self.end_of_text = end_of_text or next((t for t in ("<|endoftext|>", "</s>") if t in self.vocabulary), None)
        self._sentencepiece = tf_text.SentencepieceTokenizer(
            model=sentencepiece_proto(self.vocabulary, self.merges, self.special_tokens), out_type=tf.int32)
        table = bytes_to_unicode()
        self._byte_codes = tf.constant([ord(table[b]) for b in range(256)], tf.int32)  # byte -> stand-in code point
        inverse = np.zeros(max(ord(c) for c in table.values()) + 1, dtype=object)
        inverse[:] = b""
        for byte, char in table.items():
            inverse[ord(char)] = bytes([byte])
        self._code_bytes = tf.constant(list(inverse), tf.string)  # stand-in code point -> byte
        self._tokens = tf.constant(self.vocabulary)
        keep = np.ones(len(self.vocabulary), bool)
        keep[[self.vocabulary.index(t) for t in self.special_tokens]] = False
        self._printable = tf.constant(keep)

    @classmethod
    def from_directory(cls, directory, **kwargs):
        tokens, merges, special = read_bpe_files(directory)
        return cls(tokens, merges, special, **kwargs)

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    @property
    def end_of_text_id(self):
        return self.vocabulary.index(self.end_of_text) if self.end_of_text else -1

    def call(self, inputs):
        """(batch,) strings -> (batch, None) ragged int32 ids; a scalar string -> (None,)."""
        texts = tf.convert_to_tensor(inputs, dtype=tf.string)
        scalar = texts.shape.rank == 0
        texts = tf.reshape(texts, [-1])
        marked = tf.strings.regex_replace(texts, *_MARK_LAST_SPACE)
        pieces = tf_text.regex_split(marked, _SPLIT, _PIECES)  # (batch, pieces) strings
        raw = tf.strings.bytes_split(pieces.flat_values)  # (pieces, bytes) one-byte strings
        codes = tf.gather(self._byte_codes, tf.cast(tf.io.decode_raw(raw.flat_values, tf.uint8)[:, 0], tf.int32))
        mapped = tf.strings.unicode_encode(raw.with_flat_values(codes), "UTF-8")  # (pieces,) stand-in strings
        ids = self._sentencepiece.tokenize(mapped)  # (pieces, ids)
        ids = pieces.with_flat_values(ids).merge_dims(1, 2)  # (batch, ids)
        return ids[0] if scalar else ids

    def detokenize(self, ids):
        """(batch, None) ids, ragged or dense -> (batch,) strings; special tokens vanish."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids))
        ids = tf.ragged.boolean_mask(ids, tf.gather(self._printable, ids))
        text = tf.strings.reduce_join(tf.gather(self._tokens, ids), axis=-1)  # stand-in characters
        codes = tf.strings.unicode_decode(text, "UTF-8")
        return tf.strings.reduce_join(tf.gather(self._code_bytes, codes), axis=-1)

    def id_to_token(self, ids):
        return tf.gather(self._tokens, ids)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape + (None,), dtype="int32", ragged=True)

    def get_config(self):
        config = super().get_config()
        config.update({"vocabulary": self.vocabulary, "merges": self.merges, "special_tokens": self.special_tokens,
                       "end_of_text": self.end_of_text})
        return config
