"""Tiny instances of every registered tfssl Keras class, and example inputs for them.

One function per class: the only place its constructor is called, arguments by keyword, so a
renamed argument is a one-line change. Sizes are tiny (1 layer, hidden 16, vocabulary 50, length
8, batch 2) so the whole Keras contract (`tests/test_keras_contract.py`) runs in about a minute.
"""

import functools
import tempfile

import keras
import numpy as np

VOCABULARY_SIZE, HIDDEN_DIM, INTERMEDIATE_DIM, NUM_HEADS = 50, 16, 32, 2
LENGTH, BATCH, MAX_LENGTH, SLOTS = 8, 2, 16, 3
WORDS = ["the", "union", "is", "strong", "peace", "war", "a", "nation", "of", "people", "##s", "##ly"]
WORDPIECE_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
TEXTS = ["the union is strong", "a nation of peoples"]


def _random(seed=0):
    return np.random.default_rng(seed)


def token_ids(vocabulary_size=VOCABULARY_SIZE, length=LENGTH, seed=0):
    ids = _random(seed).integers(5, vocabulary_size, (BATCH, length)).astype("int32")  # (batch, length), no specials
    ids[:, 0] = 2  # [CLS]
    return ids


def padding_mask(length=LENGTH):
    mask = np.ones((BATCH, length), "int32")
    mask[1, -3:] = 0  # the second row is padded
    return mask


def encoder_features():
    return {"token_ids": token_ids(), "padding_mask": padding_mask(), "segment_ids": np.zeros((BATCH, LENGTH), "int32")}


def floats(*shape, seed=0):
    return _random(seed).normal(size=shape).astype("float32")


# ---------------------------------------------------------------------------------------------
# Factories, one per class: the only place their constructors are called.


def hash_dropout():
    from tfssl.layers.hash_dropout import HashDropout

    return HashDropout(rate=0.5, seed=1)


def masked_lm_masker():
    from tfssl.layers.masked_lm_masker import MaskedLMMasker

    return MaskedLMMasker(vocabulary_size=VOCABULARY_SIZE, mask_token_id=4, special_token_ids=[0, 1, 2, 3, 4],
                          max_predictions=SLOTS, seed=1)


def sentence_pooling():
    from tfssl.layers.sentence_pooling import SentencePooling

    return SentencePooling(mode="first_last_mean")


def token_and_position_embedding():
    from tfssl.layers.token_and_position_embedding import TokenAndPositionEmbedding

    return TokenAndPositionEmbedding(vocabulary_size=VOCABULARY_SIZE, hidden_dim=HIDDEN_DIM, num_segments=2,
                                     dropout=0.1, max_sequence_length=MAX_LENGTH)


def masked_lm_head():
    from tfssl.layers.masked_lm_head import MaskedLMHead

    return MaskedLMHead(vocabulary_size=VOCABULARY_SIZE, hidden_dim=HIDDEN_DIM)


def tied_embedding(head):
    """The owner's token embedding, passed to the head again (it is not part of its config)."""
    embedding = keras.layers.Embedding(VOCABULARY_SIZE, HIDDEN_DIM, name="token_embedding")
    embedding.build((None,))
    head.token_embedding = embedding
    return {"token_embedding": embedding}


def cached_self_attention():
    from tfssl.layers.cached_self_attention import CachedSelfAttention

    return CachedSelfAttention(num_heads=NUM_HEADS, hidden_dim=HIDDEN_DIM, dropout=0.1, causal=True, rotary=True)


def transformer_encoder_block():
    from tfssl.layers.transformer_encoder_block import TransformerEncoderBlock

    return TransformerEncoderBlock(num_heads=NUM_HEADS, hidden_dim=HIDDEN_DIM, intermediate_dim=INTERMEDIATE_DIM,
                                   dropout=0.1)


def transformer_decoder_block():
    from tfssl.layers.transformer_decoder_block import TransformerDecoderBlock

    return TransformerDecoderBlock(num_heads=NUM_HEADS, hidden_dim=HIDDEN_DIM, intermediate_dim=INTERMEDIATE_DIM,
                                   dropout=0.1)


def info_nce():
    from tfssl.losses.info_nce import InfoNCE

    return InfoNCE(temperature=0.05, hard_negative_weight=0.0)


def wordpiece_tokenizer():
    from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    return WordPieceTokenizer(vocabulary=WORDPIECE_VOCABULARY, lowercase=True)


def character_tokenizer():
    from tfssl.tokenizers.character_tokenizer import CharacterTokenizer

    return CharacterTokenizer(characters=sorted(set("".join(TEXTS))))


@functools.lru_cache(maxsize=None)
def _sentencepiece_proto():
    from tfssl.tokenizers.sentencepiece_tokenizer import MODEL_FILE, train_sentencepiece

    directory = tempfile.mkdtemp()
    texts = [" ".join(WORDS[i % len(WORDS)] for i in range(k, k + 9)) for k in range(40)]
    train_sentencepiece(texts, directory, vocabulary_size=300, show_progress=False)
    with open(f"{directory}/{MODEL_FILE}", "rb") as f:
        return f.read()


def sentencepiece_tokenizer():
    from tfssl.tokenizers.sentencepiece_tokenizer import SentencePieceTokenizer

    return SentencePieceTokenizer(proto=_sentencepiece_proto())


def byte_level_bpe_tokenizer():
    from tfssl.tokenizers.byte_level_bpe_tokenizer import ByteLevelBPETokenizer, bytes_to_unicode

    stand_ins = list(bytes_to_unicode().values())  # one token per byte
    space = bytes_to_unicode()[ord(" ")]
    merges = ["t h", "th e", f"{space} the"]
    vocabulary = stand_ins + ["th", "the", f"{space}the", "<|endoftext|>"]
    return ByteLevelBPETokenizer(vocabulary=vocabulary, merges=merges, special_tokens=["<|endoftext|>"])


def masked_lm_preprocessor():
    from tfssl.preprocessors.masked_lm_preprocessor import MaskedLMPreprocessor

    return MaskedLMPreprocessor(tokenizer=wordpiece_tokenizer(), sequence_length=LENGTH, max_predictions=SLOTS, seed=0)


def causal_lm_preprocessor():
    from tfssl.preprocessors.causal_lm_preprocessor import CausalLMPreprocessor

    return CausalLMPreprocessor(tokenizer=character_tokenizer(), sequence_length=LENGTH, seed=0)


def sentence_preprocessor():
    from tfssl.preprocessors.sentence_preprocessor import SentencePreprocessor

    return SentencePreprocessor(tokenizer=wordpiece_tokenizer(), sequence_length=LENGTH, seed=0)


def text_classifier_preprocessor():
    from tfssl.preprocessors.text_classifier_preprocessor import TextClassifierPreprocessor

    return TextClassifierPreprocessor(tokenizer=wordpiece_tokenizer(), sequence_length=LENGTH, seed=0)


def encoder_backbone(dropout=0.1):
    from tfssl.models.encoder_backbone import EncoderBackbone

    return EncoderBackbone(vocabulary_size=VOCABULARY_SIZE, num_layers=1, num_heads=NUM_HEADS, hidden_dim=HIDDEN_DIM,
                           intermediate_dim=INTERMEDIATE_DIM, max_sequence_length=MAX_LENGTH, dropout=dropout)


def decoder_backbone():
    from tfssl.models.decoder_backbone import DecoderBackbone

    return DecoderBackbone(vocabulary_size=VOCABULARY_SIZE, num_layers=1, num_heads=NUM_HEADS, hidden_dim=HIDDEN_DIM,
                           intermediate_dim=INTERMEDIATE_DIM, max_sequence_length=MAX_LENGTH, dropout=0.1)


def masked_lm_pretrainer():
    from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer

    return MaskedLMPretrainer(backbone=encoder_backbone())


def electra_pretrainer():
    from tfssl.models.electra_pretrainer import ElectraPretrainer

    return ElectraPretrainer(backbone=encoder_backbone(), generator={"num_layers": 1, "num_heads": 1, "hidden_dim": 8,
                                                                      "intermediate_dim": 16}, seed=0)


def replaced_token_head():
    from tfssl.layers.replaced_token_head import ReplacedTokenHead

    return ReplacedTokenHead(hidden_dim=HIDDEN_DIM, activation="gelu")


def causal_lm_pretrainer():
    from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer

    return CausalLMPretrainer(backbone=decoder_backbone())


def contrastive_pretrainer():
    from tfssl.models.contrastive_pretrainer import ContrastivePretrainer

    return ContrastivePretrainer(backbone=encoder_backbone(), pooling="cls_mlp", temperature=0.05, queue_size=4,
                                 momentum=0.9)


def sentence_embedder():
    from tfssl.models.sentence_embedder import SentenceEmbedder

    return SentenceEmbedder(backbone=encoder_backbone(dropout=0.0), tokenizer=wordpiece_tokenizer(), pooling="mean",
                            sequence_length=LENGTH)


def text_classifier():
    from tfssl.models.text_classifier import TextClassifier

    return TextClassifier(backbone=encoder_backbone(), num_classes=3, pooling="mean", dropout=0.1)


def token_classifier():
    from tfssl.models.token_classifier import TokenClassifier

    return TokenClassifier(backbone=encoder_backbone(), num_tags=3, dropout=0.1)


def masked_lm_perplexity():
    from tfssl.metrics.masked_lm_perplexity import MaskedLMPerplexity

    return MaskedLMPerplexity(name="mlm_perplexity")


def sinusoidal_initializer():
    from tfssl.layers.sinusoidal_initializer import SinusoidalInitializer

    return SinusoidalInitializer(stddev=0.02)


def warmup_decay():
    from tfssl.optimizers.warmup_decay import WarmupDecay

    return WarmupDecay(peak_learning_rate=1e-2, warmup_steps=2, total_steps=10, end_learning_rate=1e-3,
                       decay="cosine")


def token_accuracy():
    from tfssl.metrics.token_accuracy import TokenAccuracy

    return TokenAccuracy(name="token_accuracy")


def token_cross_entropy():
    from tfssl.losses.token_cross_entropy import TokenCrossEntropy

    return TokenCrossEntropy(reduction="sum_over_batch_size", name="next_token_loss")


def replica_loss_scale_optimizer():
    from tfssl.optimizers.global_clip_adamw import GlobalClipAdamW
    from tfssl.optimizers.loss_scale import ReplicaLossScaleOptimizer

    return ReplicaLossScaleOptimizer(GlobalClipAdamW(learning_rate=1e-2, global_clipnorm=1.0), initial_scale=2.0 ** 10)


def global_clip_adamw():
    from tfssl.optimizers.global_clip_adamw import GlobalClipAdamW

    return GlobalClipAdamW(learning_rate=1e-2, weight_decay=0.01, global_clipnorm=1.0)
