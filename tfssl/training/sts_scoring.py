"""STS scores of whatever a user points at: an exported SavedModel with an `embed` signature,
or a run directory (`model.keras` of any tfssl pretrainer + `tokenizer/`), the latter pooled
as the run was (or as asked), so a masked-LM run gets its mean-pooled baseline.

Example (also `tfssl evaluate sts MODEL FILE`):

>>> sts_scores("runs/sotu-mlm", load_sts_pairs("sts-test.csv"), pooling="mean", sequence_length=64)
"""

from tfssl.metrics.sts_evaluation import evaluate_sts
from tfssl.run_directory import RunDirectory


def sts_scores(model_path, pairs, pooling=None, sequence_length=None):
    """`evaluate_sts` of an export or a run directory (see the module docstring)."""
    if RunDirectory.holds_model(model_path):
        from tfssl.models.sentence_embedder import embed_texts

        embedder = RunDirectory(model_path).sentence_embedder(pooling, sequence_length)
        return evaluate_sts(lambda texts: embed_texts(embedder, texts), pairs)
    from tfssl.export.saved_model_loading import saved_model_embedder

    if pooling or sequence_length:
        raise ValueError("--pooling and --sequence-length apply to run directories; an export has its own.")
    return evaluate_sts(saved_model_embedder(model_path), pairs)
