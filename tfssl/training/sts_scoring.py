"""STS scores of whatever a user points at: an exported SavedModel with an `embed` signature,
or a run directory (`model.keras` of any tfssl pretrainer + `tokenizer/`), the latter pooled
as the run was (or as asked), so a masked-LM run gets its mean-pooled baseline.

Example (also `tfssl evaluate sts MODEL FILE`):

>>> sts_scores("runs/sotu-mlm", load_sts_pairs("sts-test.csv"), pooling="mean", sequence_length=64)
"""

import json
import os

from tfssl.metrics.sts_evaluation import evaluate_sts


def sts_scores(model_path, pairs, pooling=None, sequence_length=None):
    """`evaluate_sts` of an export or a run directory (see the module docstring)."""
    if os.path.isfile(os.path.join(model_path, "model.keras")):
        return _run_directory_scores(model_path, pairs, pooling, sequence_length)
    from tfssl.export.saved_model_loading import embed

    if pooling or sequence_length:
        raise ValueError("--pooling and --sequence-length apply to run directories; an export has its own.")
    return evaluate_sts(lambda texts: embed(model_path, texts), pairs)


def _run_directory_scores(run_dir, pairs, pooling, sequence_length):
    import keras

    import tfssl.models  # noqa: F401  registers the classes model.keras refers to
    from tfssl.models.sentence_embedder import SentenceEmbedder, embed_texts
    from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    run_config = {}
    if os.path.isfile(os.path.join(run_dir, "config.json")):
        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
            run_config = json.load(f)
    trained = run_config.get("pooling", "mean")
    pooling = pooling or run_config.get("eval_pooling") or {"cls_mlp": "cls", "mean_mlp": "mean"}.get(trained, trained)
    model = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    if not hasattr(model, "backbone"):
        raise ValueError(f"{run_dir}/model.keras is a {type(model).__name__}, not a tfssl pretrainer with a backbone.")
    length = min(sequence_length or run_config.get("sequence_length", 64), model.backbone.sequence_length)
    tokenizer = WordPieceTokenizer.from_directory(os.path.join(run_dir, "tokenizer"),
                                                  lowercase=run_config.get("lowercase", True))
    embedder = SentenceEmbedder(model.backbone, tokenizer, pooling, length)
    return evaluate_sts(lambda texts: embed_texts(embedder, texts), pairs)
