"""A Keras callback that scores sentence embeddings on an STS file during `fit`.

At the end of every `every_n_epochs`-th epoch it embeds the STS pairs with the model's current
backbone (as a `SentenceEmbedder`, inference mode) and adds `sts_spearman`, `sts_pearson`,
`sts_alignment` and `sts_uniformity` to the epoch logs, so the progress bar, `CSVLogger`,
TensorBoard, `ModelCheckpoint(monitor="sts_spearman", mode="max")` and `EarlyStopping` see them.

Example:

>>> callback = STSEvaluation(load_sts_pairs("sts-dev.csv"), tokenizer, sequence_length=64)
>>> simcse.fit(batches, epochs=5, callbacks=[callback])
"""

import keras

from tfssl.metrics.sts_evaluation import evaluate_sts
from tfssl.models.sentence_embedder import SentenceEmbedder, embed_texts


class STSEvaluation(keras.callbacks.Callback):
    """Args:
    pairs: `STSPairs` (from `load_sts_pairs`).
    tokenizer: the model's `WordPieceTokenizer`.
    sequence_length: tokens per sentence, `[CLS]`/`[SEP]` included.
    pooling: pooling for evaluation (default: the model's own, without its training-only MLP).
    every_n_epochs: evaluate every n epochs (1: every epoch).
    """

    def __init__(self, pairs, tokenizer, sequence_length=64, pooling=None, every_n_epochs=1, prefix="sts"):
        super().__init__()
        self.pairs = pairs
        self.tokenizer = tokenizer
        self.sequence_length = int(sequence_length)
        self.pooling = pooling
        self.every_n_epochs = max(int(every_n_epochs), 1)
        self.prefix = prefix
        self.history = []

    def evaluate(self):
        pooling = self.pooling or getattr(self.model, "sentence_pooling").mode
        embedder = SentenceEmbedder(self.model.backbone, self.tokenizer, pooling, self.sequence_length)
        return evaluate_sts(lambda texts: embed_texts(embedder, texts), self.pairs)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        result = self.evaluate()
        self.history.append({"epoch": epoch + 1, **result})
        if logs is not None:
            for key in ("spearman", "pearson", "alignment", "uniformity"):
                if key in result:
                    logs[f"{self.prefix}_{key}"] = result[key]
