"""Train a BERT-style WordPiece vocabulary with Hugging Face `tokenizers`.

The result is a directory that both worlds read:

* `vocab.txt` (one token per line, id = line number) for tensorflow-text's in-graph tokenizer;
* `tokenizer.json` + `tokenizer_config.json` + `special_tokens_map.json` so that
  `transformers.AutoTokenizer.from_pretrained(directory)` loads the same tokenizer.

Special tokens always take the first ids, in the order of `SPECIAL_TOKENS`, so that
"is special" is the cheap test `id < len(SPECIAL_TOKENS)` for vocabularies trained here.

Example:

>>> vocab_dir = train_wordpiece(["The quick brown fox.", "A lazy dog."], "/tmp/vocab",
...                             vocabulary_size=200, show_progress=False)
"""

import json
import os
from typing import Iterable, Optional

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)
VOCAB_FILE = "vocab.txt"


def train_wordpiece(
    texts: Iterable[str],
    output_dir: str,
    vocabulary_size: int = 8192,
    lowercase: bool = True,
    min_frequency: int = 2,
    show_progress: bool = True,
    length: Optional[int] = None,
) -> str:
    """Learns a WordPiece vocabulary from `texts` and writes it to `output_dir`.

    Args:
        texts: documents or lines; any iterable of strings (read once).
        output_dir: created if missing; existing tokenizer files are replaced.
        vocabulary_size: target size including the special tokens.
        lowercase: lower-case and strip accents (an "uncased" vocabulary).
        min_frequency: pairs seen fewer times are not merged.
        show_progress: show the `tokenizers` training bar.
        length: number of texts, only used to size the progress bar.

    Returns:
        `output_dir`, for chaining into `WordPieceTokenizer.from_directory`.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    if vocabulary_size <= len(SPECIAL_TOKENS) + 100:
        raise ValueError(
            f"vocabulary_size={vocabulary_size} is too small for WordPiece; use at least 1000 "
            "(8192 is the tfssl default for small corpora)."
        )
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK, max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=lowercase, lowercase=lowercase
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocabulary_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=show_progress,
        continuing_subword_prefix="##",
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=length)
    cls_token_id, sep_token_id = tokenizer.token_to_id(CLS), tokenizer.token_to_id(SEP)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{CLS}:0 $A:0 {SEP}:0",
        pair=f"{CLS}:0 $A:0 {SEP}:0 $B:1 {SEP}:1",
        special_tokens=[(CLS, cls_token_id), (SEP, sep_token_id)],
    )
    os.makedirs(output_dir, exist_ok=True)
    tokenizer.save(os.path.join(output_dir, "tokenizer.json"))
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    with open(os.path.join(output_dir, VOCAB_FILE), "w", encoding="utf-8") as f:
        f.writelines(token + "\n" for token, _ in vocab)
    _write_transformers_config(output_dir, lowercase)
    return output_dir


def _write_transformers_config(output_dir: str, lowercase: bool) -> None:
    """Writes the small JSON files `transformers.AutoTokenizer` looks for."""
    config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": lowercase,
        "strip_accents": None,
        "tokenize_chinese_chars": True,
        "unk_token": UNK,
        "sep_token": SEP,
        "pad_token": PAD,
        "cls_token": CLS,
        "mask_token": MASK,
        "model_max_length": 512,
    }
    special = {"unk_token": UNK, "sep_token": SEP, "pad_token": PAD, "cls_token": CLS, "mask_token": MASK}
    with open(os.path.join(output_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(output_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(special, f, indent=2)


def read_vocabulary(directory_or_file: str) -> list:
    """Reads `vocab.txt` (from a directory or the file itself) into a list of tokens."""
    path = directory_or_file
    if os.path.isdir(path):
        path = os.path.join(path, VOCAB_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No vocabulary at {path}. Train one with tfssl.tokenizers.train_wordpiece "
            "or point to a directory holding vocab.txt."
        )
    with open(path, encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    missing = [t for t in SPECIAL_TOKENS if t not in vocab and t != PAD]
    if missing or not vocab:
        raise ValueError(f"Vocabulary {path} lacks the special tokens {missing}; it is not a BERT WordPiece vocab.")
    return vocab
