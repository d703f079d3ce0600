"""The two decoder tokenizers behind one door: train or load by the directory's settings file.

A decoder tokenizer directory holds `tfssl_tokenizer.json` (`{"type": "sentencepiece" | "character" |
"byte_level_bpe", ...}`) and the vocabulary (`sentencepiece.model`, `characters.json`, or a converted
checkpoint's `tokenizer.json`). Both tokenizers share the
interface the causal-LM pipeline, generator and export use: `__call__` (strings -> ragged ids),
`detokenize`, `id_to_token`, `vocabulary_size`, `end_of_text_id`.
"""

import json
import os

from tfssl.tokenizers.byte_level_bpe_tokenizer import ByteLevelBPETokenizer
from tfssl.tokenizers.character_tokenizer import CharacterTokenizer
from tfssl.tokenizers.sentencepiece_tokenizer import SentencePieceTokenizer, train_sentencepiece

SETTINGS_FILE = "tfssl_tokenizer.json"
KINDS = ("sentencepiece", "character")


def train_decoder_tokenizer(kind, texts, directory, vocabulary_size=4096, model_type="bpe", show_progress=True):
    """Builds a `kind` tokenizer from `texts` into `directory`; returns the loaded tokenizer."""
    if kind == "character":
        return CharacterTokenizer.from_directory(CharacterTokenizer.from_texts(texts).save_to_directory(directory))
    if kind == "sentencepiece":
        train_sentencepiece(texts, directory, vocabulary_size, model_type, show_progress=show_progress)
        return SentencePieceTokenizer.from_directory(directory)
    raise ValueError(f"tokenizer must be one of {', '.join(KINDS)}; got {kind!r}.")


def load_decoder_tokenizer(directory):
    """Loads the tokenizer saved in `directory`, whichever kind it is."""
    path = os.path.join(directory, SETTINGS_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No {SETTINGS_FILE} in {directory}: not a decoder tokenizer directory "
                                "(made by `tfssl pretrain clm` or train_decoder_tokenizer).")
    with open(path, encoding="utf-8") as f:
        kind = json.load(f).get("type")
    if kind == "character":
        return CharacterTokenizer.from_directory(directory)
    if kind == "sentencepiece":
        return SentencePieceTokenizer.from_directory(directory)
    if kind == "byte_level_bpe":  # converted from a Hugging Face GPT-2 (tfssl convert from-hf)
        return ByteLevelBPETokenizer.from_directory(directory)
    raise ValueError(f"{path}: unknown tokenizer type {kind!r}; expected one of {', '.join(KINDS)}.")
