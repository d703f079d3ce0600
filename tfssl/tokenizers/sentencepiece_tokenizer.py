"""SentencePiece for decoders: trained on the corpus, run in the graph with tensorflow-text.

Training uses the `sentencepiece` package (BPE or unigram, byte fallback, identity
normalization, no dummy prefix, so `detokenize(tokenize(text)) == text` for any UTF-8 text:
leading and repeated spaces, newlines and characters never seen in training all survive, and a
completion detokenized on its own keeps its leading space). At run time the layer holds only
the serialized model proto, so a served model takes and returns raw strings.

Ids: 0 `<unk>` (unused with byte fallback), 1 `<|endoftext|>` (the document separator, a control
symbol: never produced from text), 2 `"\\n"`, then 256 byte pieces, then the learned pieces.

Example:

>>> train_sentencepiece(texts, "runs/gpt/tokenizer", vocabulary_size=4096)
>>> tokenizer = SentencePieceTokenizer.from_directory("runs/gpt/tokenizer")
>>> tokenizer.detokenize(tokenizer(tf.constant(["To be, or not to be"])))
"""

import base64
import io
import json
import os

import keras
import tensorflow as tf
import tensorflow_text as tf_text

END_OF_TEXT = "<|endoftext|>"
MODEL_FILE = "sentencepiece.model"
SETTINGS_FILE = "tfssl_tokenizer.json"


def train_sentencepiece(texts, output_dir, vocabulary_size=4096, model_type="bpe", show_progress=True,
                        max_sentences=2_000_000):
    """Learns a SentencePiece model from `texts` (documents; split into lines for training) and
    writes `sentencepiece.model` + `tfssl_tokenizer.json` to `output_dir`; returns `output_dir`.

    `show_progress` lets SentencePiece print its training log (it has no progress bar of its own).
    """
    import sentencepiece as spm

    if model_type not in ("bpe", "unigram"):
        raise ValueError(f"model_type must be 'bpe' or 'unigram', got {model_type!r}.")
    lines = [line for text in texts for line in text.split("\n") if line.strip()]
    if not lines:
        raise ValueError("Cannot train a SentencePiece vocabulary: the texts hold no non-empty line.")
    minimum = 3 + 256 + 1
    if vocabulary_size < minimum:
        raise ValueError(f"vocabulary_size={vocabulary_size} is too small for byte fallback; use at least {minimum}.")
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=model,
            vocab_size=vocabulary_size,
            model_type=model_type,
            byte_fallback=True,
            control_symbols=[END_OF_TEXT],
            user_defined_symbols=["\n"],
            unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1,
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            add_dummy_prefix=False,  # no invented leading space, so detokenize(tokenize(text)) == text
            input_sentence_size=max_sentences,
            shuffle_input_sentence=True,
            max_sentence_length=16384,
            minloglevel=0 if show_progress else 2,
            num_threads=os.cpu_count() or 1,
        )
    except RuntimeError as e:
        raise ValueError(
            f"SentencePiece could not learn {vocabulary_size} pieces from {len(lines)} lines ({e}). "
            "Lower vocabulary_size or add text."
        ) from e
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, MODEL_FILE), "wb") as f:
        f.write(model.getvalue())
    with open(os.path.join(output_dir, SETTINGS_FILE), "w", encoding="utf-8") as f:
        json.dump({"type": "sentencepiece", "model_type": model_type, "vocabulary_size": vocabulary_size}, f)
    return output_dir


@keras.saving.register_keras_serializable(package="tfssl")
class SentencePieceTokenizer(keras.layers.Layer):
    """Strings -> ragged SentencePiece ids, and back.

    Args:
        proto: the serialized SentencePiece model (bytes, or base64 text as in `get_config`).
    """

    def __init__(self, proto, **kwargs):
        kwargs.setdefault("trainable", False)
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        self.proto = base64.b64decode(proto) if isinstance(proto, str) else bytes(proto)
        self._tokenizer = tf_text.SentencepieceTokenizer(model=self.proto, out_type=tf.int32)
        import sentencepiece as spm

        processor = spm.SentencePieceProcessor(model_proto=self.proto)
        self._vocabulary_size = processor.get_piece_size()
        self._end_of_text_id = processor.piece_to_id(END_OF_TEXT)
        if processor.id_to_piece(self._end_of_text_id) != END_OF_TEXT:
            raise ValueError(f"This SentencePiece model has no {END_OF_TEXT} piece; train it with train_sentencepiece.")
        self.pieces = [processor.id_to_piece(i) for i in range(self._vocabulary_size)]

    @classmethod
    def from_directory(cls, directory, **kwargs):
        path = os.path.join(directory, MODEL_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No {MODEL_FILE} in {directory}: train one with train_sentencepiece.")
        with open(path, "rb") as f:
            return cls(f.read(), **kwargs)

    @property
    def vocabulary_size(self):
        return self._vocabulary_size

    @property
    def end_of_text_id(self):
        return self._end_of_text_id

    def call(self, inputs):
        """(batch,) strings -> (batch, None) ragged int32 ids; a scalar string -> (None,)."""
        return self._tokenizer.tokenize(tf.convert_to_tensor(inputs, dtype=tf.string))

    def detokenize(self, ids):
        """(batch, None) ids, ragged or dense -> (batch,) strings; control ids (end of text) vanish."""
        return self._tokenizer.detokenize(ids)

    def id_to_token(self, ids):
        return self._tokenizer.id_to_string(ids)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape + (None,), dtype="int32", ragged=True)

    def get_config(self):
        config = super().get_config()
        config.update({"proto": base64.b64encode(self.proto).decode("ascii")})
        return config
