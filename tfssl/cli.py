"""`tfssl` command line.

    tfssl pretrain mlm [--config FILE] [--key=value ...]    masked-LM pretraining + export
    tfssl pretrain simcse [--config FILE] [--key=value ...] contrastive sentence embeddings + export
    tfssl pretrain clm [--config FILE] [--key=value ...]    generative (GPT) pretraining + export
    tfssl generate MODEL "prompt" [...] [--max-new-tokens N --temperature T --top-k K --top-p P --seed S]
    tfssl fill-mask MODEL "text with [MASK]" [...]           query an exported masked LM
    tfssl embed MODEL "text" [...] [--output FILE.npy]       sentence embeddings from an export
    tfssl evaluate sts MODEL STS_FILE                        Spearman/Pearson on an STS-B file
    tfssl evaluate perplexity RUN_DIR TEXT_FILE [--context N --stride S]   sliding-window perplexity
    tfssl finetune [--config FILE] [--key=value ...]         fine-tune an encoder on labelled text + export
    tfssl predict MODEL "text" [...] [--pair TEXT ...] [--file F]   labels from an export or fine-tuning run
    tfssl export RUN_DIR [--name NAME]                       export a run: classifier, generator or embedder (a new version)
    tfssl evaluate classification MODEL FILE [--output-dir D]   accuracy/precision/recall/F1 on a labelled file
    tfssl experiment few-shot [--config FILE] [--key=value ...]   pretrained vs scratch with N labels
    tfssl convert from-hf HF_DIR [--name NAME]              a Hugging Face BERT/RoBERTa/DistilBERT/GPT-2 -> runs/<name>
    tfssl convert to-hf RUN OUT_DIR [--model-type T]        a tfssl run -> config.json + model.safetensors + tokenizer
    tfssl launch --workers N -- COMMAND ...                 N local workers (TF_CONFIG on 127.0.0.1), e.g. -- pretrain mlm
    tfssl tokenizer train CORPUS OUT_DIR [--vocabulary-size N]
    tfssl prepare CORPUS OUT_DIR [--tokenizer-dir D] [--sequence-length L] [--processes P]   tokenized shards for
          [--layout masked|causal] [--runner local|beam]     corpora of any size (pretrain mlm|clm --corpus=OUT_DIR)
    tfssl config mlm|simcse|clm|finetune|few-shot            print the default config (JSON)

Errors in user input (files, configs) print one clear line and exit with status 2.
"""

import argparse
import dataclasses
import json
import os
import sys


def _pretrain(args):
    from tfssl.config import CausalLMPretrainConfig, ContrastivePretrainConfig, MLMPretrainConfig, load_config

    if args.objective == "clm":
        from tfssl.training.causal_lm_pretraining import run_causal_lm_pretraining

        result = run_causal_lm_pretraining(load_config(CausalLMPretrainConfig, args.config, args.overrides))
    elif args.objective == "mlm":
        from tfssl.training.mlm_pretraining import run_mlm_pretraining

        result = run_mlm_pretraining(load_config(MLMPretrainConfig, args.config, args.overrides))
    else:
        from tfssl.training.contrastive_pretraining import run_contrastive_pretraining

        result = run_contrastive_pretraining(load_config(ContrastivePretrainConfig, args.config, args.overrides))
    summary = {k: result[k] for k in ("run_dir", "steps", "fit_seconds", "total_seconds") if k in result}
    summary.update({k: result[k] for k in ("held_out", "held_out_blocks", "unigram", "perplexity_ratio_to_unigram",
                                           "pooling", "sts_before_mean_pooled", "sts_before", "sts", "samples", "export")
                    if k in result})
    print(json.dumps(summary, indent=2))


def _finetune(args):
    from tfssl.config import FineTuneConfig, load_config
    from tfssl.training.finetuning import run_finetuning

    result = run_finetuning(load_config(FineTuneConfig, args.config, args.overrides))
    keys = ("run_dir", "labels", "examples", "steps", "fit_seconds", "total_seconds", "majority_class_accuracy", "export")
    summary = {k: result[k] for k in keys if k in result}
    for split in ("validation", "test"):
        if split in result:
            summary[split] = {k: v for k, v in result[split].items() if k not in ("per_class", "confusion_matrix")}
    print(json.dumps(summary, indent=2))


def _experiment(args):
    from tfssl.config import FewShotConfig, load_config
    from tfssl.training.few_shot_experiment import run_few_shot_experiment

    result = run_few_shot_experiment(load_config(FewShotConfig, args.config, args.overrides))
    print(result["table"])
    print(f"learning curve: {result['learning_curve_png']}")


def _classifier(path):
    """An export (SavedModel) or a fine-tuning run directory, as one predictor interface."""
    if os.path.isfile(os.path.join(path, "model.keras")):
        from tfssl.training.finetuning import load_classification_module

        return load_classification_module(path)
    from tfssl.export.saved_model_loading import ServedClassifier

    return ServedClassifier(path)


def _predict(args):
    from tfssl.data.labeled_examples import load_labeled_examples
    from tfssl.training.finetuning import predict_batches

    texts, pairs = list(args.texts), (list(args.pair) if args.pair else None)
    if args.file:
        examples = load_labeled_examples(args.file, args.text_column, label_column=None,
                                         text_pair_column=args.text_pair_column, task="unlabeled")
        texts += examples.texts
        pairs = (pairs or []) + examples.text_pairs if examples.text_pairs is not None else pairs
    if not texts:
        raise ValueError("tfssl predict: give texts as arguments or --file.")
    for what, strings in (("text", texts), ("--pair text", pairs or [])):
        empty = [i for i, t in enumerate(strings) if not t.strip()]
        if empty:
            raise ValueError(f"tfssl predict: {what} {empty[0] + 1} is empty; there is nothing to classify.")
    model = _classifier(args.model)
    if model.pairs and (pairs is None or len(pairs) != len(texts)):
        raise ValueError(f"{args.model} classifies text pairs: give one --pair per text ({len(texts)}).")
    if pairs and not model.pairs:
        raise ValueError(f"{args.model} classifies single texts; drop --pair.")
    outputs = predict_batches(model, texts, pairs if model.pairs else None)
    for i, text in enumerate(texts):
        row = {"text": text} if not model.pairs else {"text": text, "text_pair": pairs[i]}
        if model.regression:
            row["score"] = round(float(outputs["score"][i]), 6)
        else:
            row["label"] = model.label_names[int(outputs["label_id"][i])]
            row["probabilities"] = {n: round(float(p), 6) for n, p in zip(model.label_names, outputs["probabilities"][i])}
        print(json.dumps(row, ensure_ascii=False) if args.json else
              (f"{row.get('label', row.get('score'))}\t{text}"))


def _export(args):
    from tfssl.export.classifier_export import export_text_classifier
    from tfssl.training.finetuning import load_classification_module
    from tfssl.training.run_directory import export_assets

    if not os.path.isfile(os.path.join(args.run_dir, "model.keras")):
        raise FileNotFoundError(f"{args.run_dir} has no model.keras; give a tfssl run directory.")
    from tfssl.training.encoder_loading import run_config

    settings = run_config(args.run_dir)
    name = args.name or settings.get("name") or os.path.basename(os.path.normpath(args.run_dir))
    export_dir = args.export_dir or settings.get("export_dir", "saved_models")
    assets = [p for p in export_assets(args.run_dir) if os.path.isfile(p)]
    if os.path.isfile(os.path.join(args.run_dir, "labels.txt")) and args.signature in ("auto", "classify"):
        module = load_classification_module(args.run_dir)
        print(export_text_classifier(module, os.path.join(export_dir, name), asset_paths=export_assets(args.run_dir)))
        return
    if args.signature == "classify":
        raise FileNotFoundError(f"{args.run_dir} has no labels.txt; only `tfssl finetune` runs export a classifier.")
    import keras

    import tfssl.models  # noqa: F401

    model = keras.saving.load_model(os.path.join(args.run_dir, "model.keras"))
    if isinstance(model, tfssl.models.CausalLMPretrainer):
        from tfssl.export.generation_export import export_text_generator
        from tfssl.models.text_generator import TextGenerator
        from tfssl.tokenizers.decoder_tokenizers import load_decoder_tokenizer

        generator = TextGenerator(model, load_decoder_tokenizer(os.path.join(args.run_dir, "tokenizer")))
        print(export_text_generator(generator, os.path.join(export_dir, name), asset_paths=assets))
        return
    from tfssl.export.embedding_export import export_sentence_embedder
    from tfssl.training.sts_scoring import sentence_embedder_from_run

    embedder = sentence_embedder_from_run(args.run_dir, args.pooling, args.sequence_length)
    print(export_sentence_embedder(embedder, os.path.join(export_dir, name), asset_paths=assets))


def _evaluate_classification(args):
    from tfssl.data.labeled_examples import load_labeled_examples
    from tfssl.metrics.classification_report import format_report, plot_confusion_matrix
    from tfssl.training.finetuning import evaluate_examples

    model = _classifier(args.model)
    examples = load_labeled_examples(args.labeled_file, args.text_column, args.label_column,
                                     args.text_pair_column if model.pairs else None,
                                     task="regression" if model.regression else "classification")
    report = evaluate_examples(model, examples)
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
        with open(os.path.join(args.output_dir, "metrics.json"), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        if not model.regression:
            plot_confusion_matrix(report, model.label_names, os.path.join(args.output_dir, "confusion_matrix.png"))
    print(format_report(report) if not model.regression and not args.json else json.dumps(report, indent=2))


def _convert(args):
    from tfssl.convert import convert_to_run_directory

    run_dir = os.path.join(args.output_dir, args.name or os.path.basename(os.path.normpath(args.hf_dir)))
    print(convert_to_run_directory(args.hf_dir, run_dir))


def _convert_to_hf(args):
    from tfssl.convert import export_to_hf

    print(json.dumps(export_to_hf(args.run, args.out_dir, args.model_type), indent=2))


def _embed(args):
    import numpy as np

    from tfssl.export.saved_model_loading import embed

    texts = list(args.texts)
    if args.file:
        with open(args.file, encoding="utf-8") as f:
            texts += [line.rstrip("\n") for line in f if line.strip()]
    if not texts:
        raise ValueError("tfssl embed: give texts as arguments or --file with one text per line.")
    vectors = embed(args.model, texts)
    if args.output:
        np.save(args.output, vectors)
        print(f"Wrote {vectors.shape[0]} embeddings of size {vectors.shape[1]} to {args.output}")
        return
    for text, vector in zip(texts, vectors):
        print(json.dumps({"text": text, "embedding": [round(float(v), 6) for v in vector]}))
    if len(texts) > 1:
        print("cosine similarities:")
        for row in np.round(vectors @ vectors.T, 3):
            print("  " + " ".join(f"{v:6.3f}" for v in row))


def _generate(args):
    from tfssl.export.saved_model_loading import generate

    completions = generate(args.model, args.prompts, args.max_new_tokens, args.temperature, args.top_k, args.top_p, args.seed)
    for prompt, completion in zip(args.prompts, completions):
        print(json.dumps({"prompt": prompt, "completion": completion}, ensure_ascii=False) if args.json else prompt + completion)


def _evaluate_perplexity(args):
    from tfssl.data.causal_lm_pipeline import token_stream
    from tfssl.data.corpus import load_corpus
    from tfssl.metrics.causal_lm_perplexity import sliding_window_perplexity
    from tfssl.tokenizers.decoder_tokenizers import load_decoder_tokenizer
    from tfssl.training.causal_lm_pretraining import load_causal_lm

    tokenizer = load_decoder_tokenizer(os.path.join(args.run_dir, "tokenizer"))
    pretrainer = load_causal_lm(args.run_dir, tokenizer)
    texts = [d.text for d in load_corpus(args.text_file, text_format=args.text_format)]
    context = args.context or pretrainer.backbone.sequence_length
    print(json.dumps(sliding_window_perplexity(pretrainer, token_stream(texts, tokenizer), context, args.stride), indent=2))


def _evaluate(args):
    if args.task == "perplexity":
        return _evaluate_perplexity(args)
    if args.task == "classification":
        return _evaluate_classification(args)
    from tfssl.data.sts_pairs import load_sts_pairs
    from tfssl.training.sts_scoring import sts_scores

    print(json.dumps(sts_scores(args.model, load_sts_pairs(args.sts_file), args.pooling, args.sequence_length), indent=2))


def _fill_mask(args):
    from tfssl.export.saved_model_loading import fill_mask

    for text, slots in zip(args.texts, fill_mask(args.model, args.texts)):
        print(text)
        for i, candidates in enumerate(slots):
            print(f"  [MASK] {i + 1}: " + "   ".join(f"{tok} ({score:.3f})" for tok, score in candidates))


def _tokenizer_train(args):
    from tfssl.data.corpus import load_corpus
    from tfssl.tokenizers.wordpiece_trainer import train_wordpiece

    texts = [d.text for d in load_corpus(args.corpus, args.text_column, args.text_format)]
    train_wordpiece(texts, args.out_dir, args.vocabulary_size, lowercase=not args.cased, length=len(texts))
    print(f"Wrote {args.out_dir}/vocab.txt and tokenizer.json")


def _config(args):
    from tfssl.config import (CausalLMPretrainConfig, ContrastivePretrainConfig, FewShotConfig, FineTuneConfig,
                              MLMPretrainConfig)

    config = {"mlm": MLMPretrainConfig, "simcse": ContrastivePretrainConfig, "clm": CausalLMPretrainConfig,
              "finetune": FineTuneConfig, "few-shot": FewShotConfig}[args.objective]()
    print(json.dumps(dataclasses.asdict(config), indent=2))


def build_parser():
    parser = argparse.ArgumentParser(prog="tfssl", description="Self-supervised language models with TensorFlow/Keras.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("launch", help="run a command as N local workers: tfssl launch --workers N -- COMMAND ...")

    pretrain = sub.add_parser("pretrain", help="pretrain a model (masked LM, SimCSE/MoCo sentence embeddings, or a GPT)")
    pretrain.add_argument("objective", choices=["mlm", "simcse", "clm"],
                          help="mlm: masked LM; simcse: contrastive sentence embeddings; clm: causal (GPT) LM")
    pretrain.add_argument("--config", help="JSON or YAML config file")
    pretrain.set_defaults(func=_pretrain)

    fill = sub.add_parser("fill-mask", help="fill [MASK] tokens with an exported model")
    fill.add_argument("model", help="saved_models/<name> (latest version) or a version directory")
    fill.add_argument("texts", nargs="+", help="texts containing [MASK]")
    fill.set_defaults(func=_fill_mask)

    emb = sub.add_parser("embed", help="sentence embeddings from an exported contrastive model")
    emb.add_argument("model", help="saved_models/<name> (latest version) or a version directory")
    emb.add_argument("texts", nargs="*", help="texts to embed")
    emb.add_argument("--file", help="a text file, one text per line")
    emb.add_argument("--output", help="write the embeddings to this .npy file instead of printing them")
    emb.set_defaults(func=_embed)

    gen = sub.add_parser("generate", help="complete prompts with an exported causal LM")
    gen.add_argument("model", help="saved_models/<name> (latest version) or a version directory")
    gen.add_argument("prompts", nargs="+", help="prompts (an empty string samples from the start)")
    gen.add_argument("--max-new-tokens", type=int, default=None, help="default: 100, or less to fit the context")
    gen.add_argument("--temperature", type=float, default=0.0, help="0 is greedy (the default)")
    gen.add_argument("--top-k", type=int, default=0, help="0 keeps every token")
    gen.add_argument("--top-p", type=float, default=1.0, help="1 keeps every token")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--json", action="store_true", help="one JSON object per prompt")
    gen.set_defaults(func=_generate)

    evaluate = sub.add_parser("evaluate", help="evaluate a model")
    evaluate_sub = evaluate.add_subparsers(dest="task", required=True)
    sts = evaluate_sub.add_parser("sts", help="Spearman/Pearson of cosine similarity on an STS-B-format file")
    sts.add_argument("model", help="an export with an `embed` signature, or a run directory (model.keras + tokenizer/)")
    sts.add_argument("sts_file", help="STS-B-format file: tab-separated, score in column 5, sentences in 6 and 7")
    sts.add_argument("--pooling", default=None, help="for run directories: mean, cls, first_last_mean, all_layers_mean "
                     "(default: the run's pooling, else mean)")
    sts.add_argument("--sequence-length", type=int, default=None, help="for run directories (default: the run's)")
    sts.set_defaults(func=_evaluate)
    ppl = evaluate_sub.add_parser("perplexity", help="sliding-window perplexity of a causal-LM run on a text file")
    ppl.add_argument("run_dir", help="a `tfssl pretrain clm` run directory (model.keras + tokenizer/)")
    ppl.add_argument("text_file", help="text to score: a file, directory or glob (as --corpus)")
    ppl.add_argument("--context", type=int, default=None, help="window length (default: the model's context)")
    ppl.add_argument("--stride", type=int, default=None, help="window step (default: half the context)")
    ppl.add_argument("--text-format", default="documents", choices=["documents", "lines"])
    ppl.set_defaults(func=_evaluate)

    cls = evaluate_sub.add_parser("classification", help="accuracy, precision, recall, F1 on a labelled file")
    cls.add_argument("model", help="an exported classifier (saved_models/<name>) or a `tfssl finetune` run directory")
    cls.add_argument("labeled_file", help="a .csv/.tsv/.jsonl/.parquet file, a folder of class folders, or hf:NAME")
    cls.add_argument("--text-column", default="text")
    cls.add_argument("--text-pair-column", default=None)
    cls.add_argument("--label-column", default="label")
    cls.add_argument("--output-dir", default=None, help="write metrics.json and confusion_matrix.png here")
    cls.add_argument("--json", action="store_true", help="print the whole report as JSON")
    cls.set_defaults(func=_evaluate)

    finetune = sub.add_parser("finetune", help="fine-tune an encoder on labelled text (classification, "
                              "pairs, regression) and export it for TF Serving")
    finetune.add_argument("--config", help="JSON or YAML config file")
    finetune.set_defaults(func=_finetune)

    experiment = sub.add_parser("experiment", help="experiments: few-shot (pretrained vs from scratch)")
    experiment.add_argument("kind", choices=["few-shot"])
    experiment.add_argument("--config", help="JSON or YAML config file")
    experiment.set_defaults(func=_experiment)

    pred = sub.add_parser("predict", help="labels from an exported classifier or a fine-tuning run")
    pred.add_argument("model", help="saved_models/<name> (latest version), a version directory, or a run directory")
    pred.add_argument("texts", nargs="*", help="texts to classify")
    pred.add_argument("--pair", action="append", help="second text of a pair (once per text, in order)")
    pred.add_argument("--file", help="a .csv/.tsv/.jsonl/.parquet file of texts")
    pred.add_argument("--text-column", default="text")
    pred.add_argument("--text-pair-column", default=None)
    pred.add_argument("--json", action="store_true", help="one JSON object per text, with probabilities")
    pred.set_defaults(func=_predict)

    exp = sub.add_parser("export", help="export a run (classifier, generator or sentence embedder) as the next SavedModel version")
    exp.add_argument("run_dir", help="a run directory: a `tfssl finetune` run exports a classifier, a causal LM "
                                     "a generator, any other encoder run (masked-LM, SimCSE, converted) a sentence embedder")
    exp.add_argument("--signature", default="auto", choices=["auto", "classify", "embed"])
    exp.add_argument("--pooling", default=None, help="embedders: mean, cls, ... (default: the run's, else mean)")
    exp.add_argument("--sequence-length", type=int, default=None, help="embedders (default: the run's)")
    exp.add_argument("--name", default=None, help="<export-dir>/<name> (default: the run's name)")
    exp.add_argument("--export-dir", default=None, help="default: the run's export_dir (saved_models)")
    exp.set_defaults(func=_export)

    conv = sub.add_parser("convert", help="Hugging Face checkpoints in and out")
    conv_sub = conv.add_subparsers(dest="direction", required=True)
    from_hf = conv_sub.add_parser("from-hf", help="a Hugging Face BERT/RoBERTa/DistilBERT/GPT-2 directory -> a run")
    from_hf.add_argument("hf_dir", help="config.json + model.safetensors (+ vocab.txt for raw-text serving)")
    from_hf.add_argument("--name", default=None, help="runs/<name> (default: the directory's name)")
    from_hf.add_argument("--output-dir", default="runs")
    from_hf.set_defaults(func=_convert)
    to_hf = conv_sub.add_parser("to-hf", help="a tfssl run -> a directory transformers loads")
    to_hf.add_argument("run", help="a run directory (model.keras + tokenizer/) or a .keras file")
    to_hf.add_argument("out_dir", help="a new directory (never overwritten)")
    to_hf.add_argument("--model-type", default=None, choices=["bert", "roberta", "distilbert", "gpt2"],
                       help="default: the architecture the run was converted from, else bert / gpt2")
    to_hf.set_defaults(func=_convert_to_hf)

    tok = sub.add_parser("tokenizer", help="train a WordPiece vocabulary")
    tok_sub = tok.add_subparsers(dest="action", required=True)
    tok_train = tok_sub.add_parser("train")
    tok_train.add_argument("corpus", help="'sotu', a path, glob or dataset name")
    tok_train.add_argument("out_dir")
    tok_train.add_argument("--vocabulary-size", type=int, default=8192)
    tok_train.add_argument("--text-column", default="text")
    tok_train.add_argument("--text-format", default="documents", choices=["documents", "lines"])
    tok_train.add_argument("--cased", action="store_true")
    tok_train.set_defaults(func=_tokenizer_train)

    prep = sub.add_parser("prepare", help="tokenize and pack a corpus of any size into shards (streamed, in "
                                          "parallel, resumable) for tfssl pretrain mlm|clm --corpus=OUT_DIR")
    prep.add_argument("corpus", help="'sotu', a path, directory or glob (txt/jsonl/csv/tsv/parquet, .gz), "
                                     "gs://... through tf.io.gfile, or hf:NAME[:CONFIG]")
    prep.add_argument("out_dir")
    prep.add_argument("--layout", default="masked", choices=["masked", "causal"],
                      help="masked: WordPiece [CLS]...[SEP] blocks for pretrain mlm (default); causal: next-token "
                           "windows of a decoder tokenizer for pretrain clm")
    prep.add_argument("--tokenizer-dir", help="use this tokenizer instead of training one (masked: a WordPiece "
                                              "vocab.txt; causal: a pretrain clm run's tokenizer/)")
    prep.add_argument("--tokenizer", default="sentencepiece", choices=["sentencepiece", "character"],
                      help="the decoder tokenizer trained for --layout causal")
    prep.add_argument("--sentencepiece-model-type", default="bpe", choices=["bpe", "unigram"])
    prep.add_argument("--vocabulary-size", type=int, default=None, help="default 8192 (masked), 4096 (causal)")
    prep.add_argument("--cased", action="store_true")
    prep.add_argument("--sequence-length", type=int, default=128)
    prep.add_argument("--held-out-fraction", type=float, default=0.05)
    prep.add_argument("--seed", type=int, default=0)
    prep.add_argument("--text-column", default="text")
    prep.add_argument("--text-format", default="documents", choices=["documents", "lines"])
    prep.add_argument("--shard-characters", type=int, default=500_000, help="text per shard (default 0.5 M)")
    prep.add_argument("--sample-characters", type=int, default=64_000_000,
                      help="the vocabulary's seeded sample of whole documents (default 64 M characters)")
    prep.add_argument("--processes", type=int, default=None, help="shard-task processes (default: one per CPU)")
    prep.add_argument("--runner", default="local", choices=["local", "beam"],
                      help="run the shard tasks in a local process pool (default) or an Apache Beam pipeline "
                           "(pip install \"tfssl[beam]\"; the direct runner with --processes worker processes)")
    prep.add_argument("--beam-option", action="append", default=[], metavar="K=V",
                      help="a Beam pipeline option, repeatable, e.g. --beam-option runner=DataflowRunner "
                           "--beam-option project=P (with --runner beam)")
    prep.add_argument("--verify", action="store_true", help="afterwards, re-read every shard and check its SHA-256")
    prep.set_defaults(func=_prepare)

    cfg = sub.add_parser("config", help="print a default config")
    cfg.add_argument("objective", choices=["mlm", "simcse", "clm", "finetune", "few-shot"])
    cfg.set_defaults(func=_config)
    return parser


def _prepare(args):
    from tfssl.data.corpus_preparation import prepare_corpus
    from tfssl.data.prepared_manifest import read_manifest, verify_hashes

    directory = prepare_corpus(
        args.corpus, args.out_dir, text_column=args.text_column, text_format=args.text_format,
        tokenizer_dir=args.tokenizer_dir, lowercase=not args.cased, layout=args.layout, tokenizer=args.tokenizer,
        sentencepiece_model_type=args.sentencepiece_model_type,
        vocabulary_size=args.vocabulary_size or (4096 if args.layout == "causal" else 8192),
        sequence_length=args.sequence_length, held_out_fraction=args.held_out_fraction, seed=args.seed,
        shard_characters=args.shard_characters, sample_characters=args.sample_characters, processes=args.processes,
        runner=args.runner, beam_options=args.beam_option,
        log=lambda message: print(f"[tfssl] {message}", file=sys.stderr))
    manifest = read_manifest(directory)
    if args.verify:
        verify_hashes(directory, manifest)
    print(json.dumps({"directory": directory, "documents": manifest["documents"],
                      "blocks": {split: sum(s["blocks"] for s in shards) for split, shards in manifest["shards"].items()},
                      "shards": {split: len(shards) for split, shards in manifest["shards"].items()}}, indent=2))


def _launch(argv):
    """`tfssl launch --workers N -- COMMAND ...` (parsed apart: the command keeps its own flags)."""
    from tfssl.training.local_cluster import launch

    parser = argparse.ArgumentParser(prog="tfssl launch", description="N local workers with TF_CONFIG on 127.0.0.1")
    parser.add_argument("--workers", type=int, required=True)
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    try:
        return launch(args.workers, argv[split + 1:])
    except ValueError as e:
        print(f"tfssl: error: {e}", file=sys.stderr)
        return 2


def quiet_tensorflow(argv):
    """Hides TensorFlow's C++ start-up logging (`failed call to cuInit`, oneDNN and CPU-feature notices) unless
    the user set `TF_CPP_MIN_LOG_LEVEL` or asked for `--verbose=2` or more. Errors still arrive as Python
    exceptions (one `tfssl: error:` line); launched workers inherit the setting.

    `TF_CPP_MIN_LOG_LEVEL` silences what TensorFlow logs once running, but not the notices its shared libraries
    print while loading (before logging is set up), so TensorFlow and tensorflow-text are imported here with
    the process's stderr pointed at /dev/null, and stderr restored before anything else runs."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    levels = [a.split("=", 1)[1] for a in argv if a.startswith("--verbose=")]
    if any(level.isdigit() and int(level) >= 2 for level in levels):
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if argv[:1] in (["launch"], ["config"]) or not argv or "-h" in argv or "--help" in argv:
        return  # these never load TensorFlow in this process
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
        import tensorflow_text  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet_tensorflow(argv)
    if argv[:1] == ["launch"]:
        return _launch(argv[1:])
    from tfssl.config import ConfigError
    from tfssl.convert.checkpoint_files import CheckpointError
    from tfssl.data.corpus import CorpusError
    from tfssl.data.sentence_pairs import PairFileError
    from tfssl.data.labeled_examples import LabeledDataError
    from tfssl.data.sts_pairs import STSFormatError

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command in ("pretrain", "finetune", "experiment"):
        args.overrides = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        args.func(args)
    except (ConfigError, CheckpointError, CorpusError, LabeledDataError, PairFileError, STSFormatError, OSError,
            ValueError, FloatingPointError) as e:
        print(f"tfssl: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
