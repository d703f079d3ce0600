"""`tfssl` command line: parses (`tfssl.cli_parser`) and calls the library; `tfssl --help` lists the commands.

    tfssl pretrain mlm|electra|simcse|clm, finetune, experiment few-shot    train (--config FILE, --key=value overrides)
    tfssl fill-mask | embed | generate | predict MODEL TEXT ...      use an export (or a fine-tuning run)
    tfssl evaluate sts|classification|perplexity, export, convert    evaluate, export, Hugging Face in and out
    tfssl prepare, tokenizer train, launch --workers N, config       data, vocabularies, local workers, defaults

Errors in user input (files, configs) print one clear line and exit with status 2.
"""

import json
import os
import sys

# What `tfssl pretrain|finetune` print of a run's result (all of it is in the run's metrics.json).
SUMMARY_KEYS = ("run_dir", "labels", "examples", "steps", "fit_seconds", "total_seconds", "held_out", "held_out_blocks",
                "unigram", "perplexity_ratio_to_unigram", "pooling", "sts_before_mean_pooled", "sts_before", "sts",
                "samples", "majority_class_accuracy", "export")


def _train(kind, args):
    from tfssl.config import CONFIG_KINDS
    from tfssl.config_loading import load_config
    from tfssl.training.driver import run_job

    return run_job(load_config(CONFIG_KINDS[kind], args.config, args.overrides))


def pretrain(args):
    """`tfssl pretrain OBJECTIVE` and `tfssl finetune` (objective "finetune")."""
    result = _train(args.objective, args)
    summary = {k: result[k] for k in SUMMARY_KEYS if k in result}
    for split in ("validation", "test"):
        if split in result:
            summary[split] = {k: v for k, v in result[split].items() if k not in ("per_class", "confusion_matrix")}
    print(json.dumps(summary, indent=2))


def experiment(args):
    result = _train(args.kind, args)
    print(f"{result['table']}\nlearning curve: {result['learning_curve_png']}")


def predict(args):
    from tfssl.inference import classifier_at, predict_labels, texts_of_file

    texts, pairs = list(args.texts), (list(args.pair) if args.pair else None)
    if args.file:
        more, more_pairs = texts_of_file(args.file, args.text_column, args.text_pair_column)
        texts, pairs = texts + more, (pairs or []) + more_pairs if more_pairs is not None else pairs
    for row in predict_labels(classifier_at(args.model), texts, pairs):
        print(json.dumps(row, ensure_ascii=False) if args.json else f"{row.get('label', row.get('score'))}\t{row['text']}")


def export(args):
    from tfssl.run_directory import RunDirectory

    print(RunDirectory(args.run_dir).export(args.export_dir, args.name, args.signature, args.pooling, args.sequence_length))


def evaluate(args):
    if args.task == "perplexity":
        from tfssl.inference import file_perplexity

        return print(json.dumps(file_perplexity(args.run_dir, args.text_file, args.context, args.stride,
                                                args.text_format), indent=2))
    if args.task == "classification":
        from tfssl.inference import classifier_at, evaluate_labeled_file
        from tfssl.metrics.classification_report import format_report

        model = classifier_at(args.model)
        report = evaluate_labeled_file(model, args.labeled_file, args.text_column, args.label_column,
                                       args.text_pair_column, args.output_dir)
        return print(format_report(report) if not model.regression and not args.json else json.dumps(report, indent=2))
    from tfssl.data.sts_pairs import load_sts_pairs
    from tfssl.training.sts_scoring import sts_scores

    print(json.dumps(sts_scores(args.model, load_sts_pairs(args.sts_file), args.pooling, args.sequence_length), indent=2))


def convert(args):
    from tfssl.convert import convert_to_run_directory

    print(convert_to_run_directory(args.hf_dir, os.path.join(args.output_dir, args.name or
                                                             os.path.basename(os.path.normpath(args.hf_dir))),
                                   generator_dir=args.generator))


def convert_to_hf(args):
    from tfssl.convert import export_to_hf

    print(json.dumps(export_to_hf(args.run, args.out_dir, args.model_type), indent=2))


def embed(args):
    import numpy as np

    from tfssl.export.saved_model_loading import embed as embed_texts
    from tfssl.inference import lines_of_file

    texts = list(args.texts) + (lines_of_file(args.file) if args.file else [])
    if not texts:
        raise ValueError("tfssl embed: give texts as arguments or --file with one text per line.")
    vectors = embed_texts(args.model, texts)
    if args.output:
        np.save(args.output, vectors)
        return print(f"Wrote {vectors.shape[0]} embeddings of size {vectors.shape[1]} to {args.output}")
    for text, vector in zip(texts, vectors):
        print(json.dumps({"text": text, "embedding": [round(float(v), 6) for v in vector]}))
    if len(texts) > 1:
        print("cosine similarities:\n" + "\n".join("  " + " ".join(f"{v:6.3f}" for v in row)
                                                   for row in np.round(vectors @ vectors.T, 3)))


def generate(args):
    from tfssl.export.saved_model_loading import generate as complete

    completions = complete(args.model, args.prompts, args.max_new_tokens, args.temperature, args.top_k, args.top_p,
                           args.seed)
    for prompt, completion in zip(args.prompts, completions):
        print(json.dumps({"prompt": prompt, "completion": completion}, ensure_ascii=False) if args.json
              else prompt + completion)


def fill_mask(args):
    from tfssl.export.saved_model_loading import fill_mask as fill

    for text, slots in zip(args.texts, fill(args.model, args.texts)):
        print(text + "".join(f"\n  [MASK] {i + 1}: " + "   ".join(f"{tok} ({score:.3f})" for tok, score in candidates)
                             for i, candidates in enumerate(slots)))


def tokenizer_train(args):
    from tfssl.data.corpus import load_corpus
    from tfssl.tokenizers.wordpiece_trainer import train_wordpiece

    texts = [d.text for d in load_corpus(args.corpus, args.text_column, args.text_format)]
    train_wordpiece(texts, args.out_dir, args.vocabulary_size, lowercase=not args.cased, length=len(texts))
    print(f"Wrote {args.out_dir}/vocab.txt and tokenizer.json")


def prepare(args):
    from tfssl.data.corpus_preparation import prepare_corpus
    from tfssl.data.prepared_manifest import prepared_summary

    options = {k: v for k, v in vars(args).items() if k not in ("command", "func", "corpus", "out_dir", "cased",
                                                                 "beam_option", "verify")}
    options["vocabulary_size"] = args.vocabulary_size or (4096 if args.layout == "causal" else 8192)
    directory = prepare_corpus(args.corpus, args.out_dir, lowercase=not args.cased, beam_options=args.beam_option,
                               log=lambda message: print(f"[tfssl] {message}", file=sys.stderr), **options)
    print(json.dumps(prepared_summary(directory, verify=args.verify), indent=2))


def config(args):
    import dataclasses

    from tfssl.config import CONFIG_KINDS

    print(json.dumps(dataclasses.asdict(CONFIG_KINDS[args.objective]()), indent=2))


def launch(argv):
    """`tfssl launch --workers N -- COMMAND ...` (parsed apart: the command keeps its own flags)."""
    from tfssl.cli_parser import launch_parser
    from tfssl.training.local_cluster import launch as launch_workers

    split = argv.index("--") if "--" in argv else len(argv)
    try:
        return launch_workers(launch_parser().parse_args(argv[:split]).workers, argv[split + 1:])
    except ValueError as e:
        print(f"tfssl: error: {e}", file=sys.stderr)
        return 2


def main(argv=None):
    from tfssl.tensorflow_logging import quiet_tensorflow

    argv = sys.argv[1:] if argv is None else list(argv)
    quiet_tensorflow(argv)
    if argv[:1] == ["launch"]:
        return launch(argv[1:])
    from tfssl.cli_parser import build_parser

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command in ("pretrain", "finetune", "experiment"):
        args.overrides = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        globals()[args.func](args)
    except (OSError, ValueError, FloatingPointError) as e:  # ConfigError, CorpusError, CheckpointError, ... included
        print(f"tfssl: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
