"""STS scores of whatever a user points at: an exported SavedModel with an `embed` signature,
or a run directory (`model.keras` of any tfssl pretrainer + `tokenizer/`), the latter pooled
as the run was (or as asked), so a masked-LM run gets its mean-pooled baseline.

Example (also `tfssl evaluate sts MODEL FILE`):

>>> sts_scores("runs/sotu-mlm", load_sts_pairs("sts-test.csv"), pooling="mean", sequence_length=64)
"""

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
    from tfssl.models.sentence_embedder import embed_texts

    embedder = sentence_embedder_from_run(run_dir, pooling, sequence_length)
    return evaluate_sts(lambda texts: embed_texts(embedder, texts), pairs)


def sentence_embedder_from_run(run_dir, pooling=None, sequence_length=None):
    """A `SentenceEmbedder` over the encoder of any tfssl run directory (masked-LM, SimCSE,
    fine-tuned, or converted from Hugging Face), pooled as the run was trained to be read
    (`eval_pooling`, else its `pooling`, else mean) unless `pooling` says otherwise."""
    from tfssl.models.sentence_embedder import SentenceEmbedder
    from tfssl.training.encoder_loading import load_encoder, run_config

    settings = run_config(run_dir)
    trained = settings.get("pooling", "mean")
    pooling = pooling or settings.get("eval_pooling") or {"cls_mlp": "cls", "mean_mlp": "mean"}.get(trained, trained)
    backbone, tokenizer = load_encoder(run_dir)
    length = min(sequence_length or settings.get("sequence_length", 64), backbone.sequence_length)
    return SentenceEmbedder(backbone, tokenizer, pooling, length)
