"""Loading tfssl SavedModels in a fresh process (TensorFlow Text ops registered first)."""

import os

import tensorflow as tf

from tfssl.export.versioning import latest_version_dir


def load(path):
    """A tfssl SavedModel as a TF Serving user's Python client loads it: `path` is a version directory, or a model
    directory (its newest version). TensorFlow Text is imported first: the graph's tokenizer ops live there (TF
    Serving's binary has them built in; a plain `tf.saved_model.load` fails with "Op type not registered").

    >>> model = tfssl.export.load("saved_models/sst2")
    >>> model.signatures["serving_default"](text=tf.constant(["a gripping film"]))["label"]
    """
    return load_saved_model(path)[0]


def load_saved_model(path):
    """`(model, version_dir)`: `load` and the version directory it read."""
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


def saved_model_embedder(path, batch_size=256):
    """A texts -> (n, hidden_dim) NumPy function (L2-normalised rows, in the order of the texts) over an export's
    `embed` signature, loaded once; it runs batches of similar lengths (`tfssl.data.length_order`)."""
    from tfssl.data.length_order import in_length_order

    model, version_dir = load_saved_model(path)
    if "embed" not in model.signatures:
        raise ValueError(f"{version_dir} has no `embed` signature (signatures: {sorted(model.signatures)}); "
                         "export a contrastive run (tfssl pretrain simcse).")
    signature = model.signatures["embed"]

    def run(texts):
        return in_length_order(lambda batch: signature(text=tf.constant(batch))["embeddings"].numpy(),
                               _strings(texts, "embed"), batch_size)

    return run


def embed(path, texts, batch_size=256):
    """Runs an exported `embed` signature; (n, hidden_dim) NumPy, L2-normalised."""
    texts = _strings(texts, "embed")
    return saved_model_embedder(path, batch_size)(texts)


def generate(path, prompts, max_new_tokens=None, temperature=0.0, top_k=0, top_p=1.0, seed=0):
    """Runs an exported `generate` signature; returns one completion string per prompt.
    `max_new_tokens=None`: 100, or the context minus one when that is less."""
    prompts = _strings(prompts, "generate")
    model, version_dir = load_saved_model(path)
    if "generate" not in model.signatures:
        raise ValueError(f"{version_dir} has no `generate` signature (signatures: {sorted(model.signatures)}); "
                         "export a causal LM (tfssl pretrain clm).")
    from tfssl.models.token_sampling import sampling_argument_errors

    context = _context_of(model)
    max_new_tokens = min(100, context - 1) if max_new_tokens is None else max_new_tokens
    errors = sampling_argument_errors(max_new_tokens, temperature, top_k, top_p, context)
    if errors:
        raise ValueError(" ".join(errors))
    out = model.signatures["generate"](
        prompt=tf.constant(prompts), max_new_tokens=tf.constant(max_new_tokens, tf.int32),
        temperature=tf.constant(temperature, tf.float32), top_k=tf.constant(top_k, tf.int32),
        top_p=tf.constant(top_p, tf.float32), seed=tf.constant(seed, tf.int32),
    )
    return [c.decode("utf-8", errors="replace") for c in out["completions"].numpy()]


def score(path, texts):
    """Runs an exported `score` signature; returns dicts of log_likelihood, num_tokens, perplexity."""
    texts = _strings(texts, "score")
    model, version_dir = load_saved_model(path)
    if "score" not in model.signatures:
        raise ValueError(f"{version_dir} has no `score` signature; export a causal LM (tfssl pretrain clm).")
    out = model.signatures["score"](text=tf.constant(texts))
    return [{"log_likelihood": float(out["log_likelihood"][i]), "num_tokens": int(out["num_tokens"][i]),
             "perplexity": float(out["perplexity"][i])} for i in range(len(texts))]


def _context_of(model):
    """The exported generator's context length (saved as its `context_length` variable)."""
    return int(model.context_length.numpy())


class ServedClassifier:
    """An exported text classifier with the interface of `TextClassificationModule`
    (`predict`, `label_names`, `regression`, `pairs`), so evaluation code runs on either."""

    def __init__(self, path):
        self.model, self.version_dir = load_saved_model(path)
        signature = self.model.signatures["serving_default"]
        inputs = signature.structured_input_signature[1]
        outputs = signature.structured_outputs
        if "text" not in inputs or not ({"label", "score"} & set(outputs)):
            raise ValueError(f"{self.version_dir} is not a tfssl text classifier (its serving_default takes "
                             f"{sorted(inputs)} and returns {sorted(outputs)}).")
        self._signature = signature
        self.pairs = "text_pair" in inputs
        self.regression = "score" in outputs
        labels_path = os.path.join(self.version_dir, "assets", "labels.txt")
        self.label_names = []
        if not self.regression:
            with open(labels_path, encoding="utf-8") as f:
                self.label_names = [line.rstrip("\n") for line in f]

    def predict(self, text, text_pair=None):
        if self.pairs != (text_pair is not None):
            raise ValueError("This model classifies text pairs: give a second text for each text." if self.pairs
                             else "This model classifies single texts; it takes no second text.")
        kwargs = {"text": text} if text_pair is None else {"text": text, "text_pair": text_pair}
        return self._signature(**kwargs)
