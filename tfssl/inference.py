"""Using what training made: classify, evaluate and score from a run directory or a SavedModel export.

The library side of `tfssl predict`, `tfssl evaluate classification|perplexity` and `tfssl embed --file`: each
takes whatever a user points at (a `tfssl finetune` run directory or an exported classifier; a causal-LM run)
and returns plain Python values, so notebooks get the same answers the command line prints.

>>> classifier = classifier_at("saved_models/bbc-news")
>>> rows = predict_labels(classifier, ["Shares fell sharply"])
>>> report = evaluate_labeled_file(classifier, "test.csv", output_dir="reports/")
"""

import json
import os

from tfssl.run_directory import RunDirectory


def classifier_at(path):
    """An export (SavedModel) or a fine-tuning run directory, behind one predictor interface
    (`predict`, `label_names`, `regression`, `pairs`)."""
    if RunDirectory.holds_model(path):
        return RunDirectory(path).classifier_module()
    from tfssl.export.saved_model_loading import ServedClassifier

    return ServedClassifier(path)


def predict_labels(model, texts, pairs=None):
    """One dict per text: the text (and its pair), then `label` and `probabilities`, or `score` for a regressor.
    Empty texts and pairs that do not match the model are refused with the fix."""
    texts = list(texts)
    if not texts:
        raise ValueError("Nothing to classify: give texts as arguments or --file.")
    for what, strings in (("text", texts), ("--pair text", pairs or [])):
        empty = [i for i, t in enumerate(strings) if not t.strip()]
        if empty:
            raise ValueError(f"{what} {empty[0] + 1} is empty; there is nothing to classify.")
    if model.pairs and (pairs is None or len(pairs) != len(texts)):
        raise ValueError(f"The model classifies text pairs: give one --pair per text ({len(texts)}).")
    if pairs and not model.pairs:
        raise ValueError("The model classifies single texts; drop --pair.")
    from tfssl.training.finetuning import predict_batches

    outputs = predict_batches(model, texts, pairs if model.pairs else None)
    rows = []
    for i, text in enumerate(texts):
        row = {"text": text} if not model.pairs else {"text": text, "text_pair": pairs[i]}
        if model.regression:
            row["score"] = round(float(outputs["score"][i]), 6)
        else:
            row["label"] = model.label_names[int(outputs["label_id"][i])]
            row["probabilities"] = {n: round(float(p), 6) for n, p in zip(model.label_names, outputs["probabilities"][i])}
        rows.append(row)
    return rows


def texts_of_file(path, text_column="text", text_pair_column=None):
    """`(texts, pairs or None)` of an unlabelled table (.csv/.tsv/.jsonl/.parquet)."""
    from tfssl.data.labeled_examples import load_labeled_examples

    examples = load_labeled_examples(path, text_column, label_column=None, text_pair_column=text_pair_column,
                                     task="unlabeled")
    return examples.texts, examples.text_pairs


def lines_of_file(path):
    """The non-empty lines of a text file, one text each."""
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def evaluate_labeled_file(model, path, text_column="text", label_column="label", text_pair_column=None,
                          output_dir=None):
    """Accuracy, macro and per-class precision/recall/F1 and the confusion matrix (or regression figures) of
    `model` on a labelled file; with `output_dir`, also metrics.json and confusion_matrix.png there."""
    from tfssl.data.labeled_examples import load_labeled_examples
    from tfssl.metrics.classification_report import plot_confusion_matrix
    from tfssl.training.finetuning import evaluate_examples

    examples = load_labeled_examples(path, text_column, label_column, text_pair_column if model.pairs else None,
                                     task="regression" if model.regression else "classification")
    report = evaluate_examples(model, examples)
    if output_dir:
        os.makedirs(output_dir, exist_ok=True)
        with open(os.path.join(output_dir, RunDirectory.METRICS), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        if not model.regression:
            plot_confusion_matrix(report, model.label_names, os.path.join(output_dir, RunDirectory.CONFUSION_MATRIX))
    return report


def file_perplexity(run_dir, text_file, context=None, stride=None, text_format="documents"):
    """Sliding-window perplexity of a causal-LM run on a text file, directory or glob (as `--corpus`)."""
    from tfssl.data.causal_lm_pipeline import token_stream
    from tfssl.data.corpus import load_corpus
    from tfssl.metrics.causal_lm_perplexity import sliding_window_perplexity

    run = RunDirectory(run_dir)
    tokenizer = run.decoder_tokenizer()
    pretrainer = run.causal_lm(tokenizer)
    texts = [d.text for d in load_corpus(text_file, text_format=text_format)]
    context = context or pretrainer.backbone.max_sequence_length
    return sliding_window_perplexity(pretrainer, token_stream(texts, tokenizer), context, stride)
