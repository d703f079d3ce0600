"""Loading tfssl SavedModels in a fresh process (TensorFlow Text ops registered first)."""

import tensorflow as tf

from tfssl.export.versioning import latest_version_dir


def load_saved_model(path):
    """Loads `path` (a version directory, or a model directory -> its latest version)."""
    import tensorflow_text  # noqa: F401  registers the tokenizer ops the graph uses

    version_dir = latest_version_dir(path)
    return tf.saved_model.load(version_dir), version_dir


def fill_mask(path, texts):
    """Runs the fill-mask signature; returns one list of `(token, score)` lists per text."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts or any(not isinstance(t, str) for t in texts):
        raise ValueError("fill_mask needs one or more strings.")
    missing = [t for t in texts if "[MASK]" not in t]
    if missing:
        raise ValueError(f"Each text needs at least one [MASK]; these have none: {missing[:3]}")
    model, _ = load_saved_model(path)
    out = model.signatures["serving_default"](text=tf.constant(texts))
    results = []
    for i in range(len(texts)):
        count = int(out["mask_count"][i])
        results.append(
            [
                [(tok.decode("utf-8"), float(score)) for tok, score in zip(out["tokens"][i, slot].numpy(), out["scores"][i, slot].numpy())]
                for slot in range(count)
            ]
        )
    return results


def _strings(texts, what):
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts or any(not isinstance(t, str) for t in texts):
        raise ValueError(f"{what} needs one or more strings.")
    return texts


def embed(path, texts, batch_size=256):
    """Runs an exported `embed` signature; (n, hidden_dim) NumPy, L2-normalised."""
    import numpy as np

    texts = _strings(texts, "embed")
    model, version_dir = load_saved_model(path)
    if "embed" not in model.signatures:
        raise ValueError(f"{version_dir} has no `embed` signature (signatures: {sorted(model.signatures)}); "
                         "export a contrastive run (tfssl pretrain simcse).")
    function = model.signatures["embed"]
    chunks = [function(text=tf.constant(texts[i : i + batch_size]))["embeddings"].numpy()
              for i in range(0, len(texts), batch_size)]
    return np.concatenate(chunks)
