"""Vocabulary training (WordPiece, SentencePiece) and in-graph tokenizer layers (WordPiece,
SentencePiece, byte-level BPE, characters). Names are imported on first use."""

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "train_wordpiece": "tfssl.tokenizers.wordpiece_trainer",
    "read_vocabulary": "tfssl.tokenizers.wordpiece_trainer",
    "WordPieceTokenizer": "tfssl.tokenizers.wordpiece_tokenizer",
    "train_sentencepiece": "tfssl.tokenizers.sentencepiece_tokenizer",
    "SentencePieceTokenizer": "tfssl.tokenizers.sentencepiece_tokenizer",
    "ByteLevelBPETokenizer": "tfssl.tokenizers.byte_level_bpe_tokenizer",
    "CharacterTokenizer": "tfssl.tokenizers.character_tokenizer",
    "train_decoder_tokenizer": "tfssl.tokenizers.decoder_tokenizers",
    "load_decoder_tokenizer": "tfssl.tokenizers.decoder_tokenizers",
})
