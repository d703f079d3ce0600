"""Sequence classification and regression on any tfssl encoder: backbone -> pooling -> dropout
-> dense head. Features in (as `tfssl.data.classification_pipeline.encode_texts` makes them),
logits out: (batch, num_classes) for classification, (batch,) scores for regression.

The head is new; the backbone comes from a pretraining run (`tfssl finetune --init_from`), a
converted checkpoint, or random initialisation (the "from scratch" baseline of
`tfssl experiment few-shot`). `freeze_backbone` trains the head alone (a linear probe when
dropout is 0).

Example:

>>> classifier = TextClassifier(backbone, num_classes=2, pooling="mean")
>>> classifier.compile(learning_rate=1e-4, warmup_steps=50, total_steps=500)
>>> classifier.fit(classification_batches(texts, label_ids, tokenizer, 64, 32), epochs=3)
"""

import keras

from tfssl.layers.sentence_pooling import SentencePooling
from tfssl.models.gradient_accumulation import GradientAccumulation
from tfssl.models.task import Task, encoder_features

TASKS = ("classification", "regression")


@keras.saving.register_keras_serializable(package="tfssl")
class TextClassifier(GradientAccumulation, Task):
    """Args:
    backbone: an `EncoderBackbone`.
    num_classes: number of labels (1 for regression).
    task: `classification` (softmax cross-entropy, accuracy) or `regression` (mean squared error).
    pooling: a `SentencePooling` mode; `cls` is the first token's final state (BERT's pooler is
        not used: masked-LM pretraining never trains it).
    dropout: on the pooled vector, before the head.
    freeze_backbone: keep the encoder's weights fixed and train the head only.
    freeze_token_embeddings: keep the token embedding table fixed. With few labels, full
        fine-tuning moves the embeddings of the words it sees and leaves the rest, breaking the
        geometry pretraining gave the vocabulary; fixed, unseen words stay where seen ones are.
    preprocessor: optional `TextClassifierPreprocessor`; with one, `fit` takes `(texts, labels)`
        (or `((first_texts, second_texts), labels)` for pairs).
    """

    compile_defaults = {"learning_rate": 1e-4, "warmup_steps": 0, "total_steps": 1_000, "weight_decay": 0.01}

    def __init__(self, backbone, num_classes, task="classification", pooling="mean", dropout=0.1,
                 freeze_backbone=False, freeze_token_embeddings=False, preprocessor=None, **kwargs):
        super().__init__(backbone, preprocessor, **kwargs)
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}.")
        if task == "regression" and num_classes != 1:
            raise ValueError(f"A regression model predicts one score; got num_classes={num_classes}.")
        if task == "classification" and num_classes < 2:
            raise ValueError(f"Classification needs at least two classes, got num_classes={num_classes}.")
        self.num_classes = int(num_classes)
        self.task = task
        self.pooling = pooling
        self.dropout = float(dropout)
        self.freeze_backbone = bool(freeze_backbone)
        self.freeze_token_embeddings = bool(freeze_token_embeddings)
        self.backbone.trainable = not self.freeze_backbone
        if self.freeze_token_embeddings:
            self.backbone.token_embedding.trainable = False
        self.sentence_pooling = SentencePooling(pooling)
        self.head_dropout = keras.layers.Dropout(self.dropout, name="head_dropout")
        self.head = keras.layers.Dense(
            self.num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=backbone.initializer_range),
            name="classification_head",
        )

    def build_head(self):
        self.head.build((None, self.backbone.hidden_dim))

    def call(self, inputs, training=None):
        features = encoder_features(inputs)
        outputs = self.backbone(features, training=training and not self.freeze_backbone)
        pooled = self.sentence_pooling.pool(outputs, features["padding_mask"])  # (batch, hidden_dim)
        logits = self.head(self.head_dropout(pooled, training=training))  # (batch, num_classes)
        return logits[:, 0] if self.task == "regression" else logits

    def compile(self, optimizer="auto", loss="auto", metrics="auto", weighted_metrics=None, **kwargs):
        """Fine-tuning defaults ("auto", see `Task.compile`): AdamW with linear warmup and decay to 0
        (`learning_rate=1e-4`, `warmup_steps=0`, `total_steps=1_000`, `weight_decay=0.01`), no decay
        on LayerNorm/biases, global norm clipped to 1; cross-entropy + accuracy, or MSE + MAE.
        Metrics are unweighted: with class weights, accuracy still counts every example once.
        `gradient_accumulation_steps=k`: each replica's share of a batch runs as k micro-batches
        and one optimizer step (`GradientAccumulation`)."""
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, weighted_metrics=weighted_metrics, **kwargs)

    def default_loss(self):
        if self.task == "classification":
            return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return keras.losses.MeanSquaredError()

    def default_metrics(self):
        if self.task == "classification":
            return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        return [keras.metrics.MeanAbsoluteError(name="mae")]

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "task": self.task,
            "pooling": self.pooling,
            "dropout": self.dropout,
            "freeze_backbone": self.freeze_backbone,
            "freeze_token_embeddings": self.freeze_token_embeddings,
        }
