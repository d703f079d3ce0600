"""`tfssl` command line.

    tfssl pretrain mlm [--config FILE] [--key=value ...]    masked-LM pretraining + export
    tfssl pretrain simcse [--config FILE] [--key=value ...] contrastive sentence embeddings + export
    tfssl pretrain clm [--config FILE] [--key=value ...]    generative (GPT) pretraining + export
    tfssl generate MODEL "prompt" [...] [--max-new-tokens N --temperature T --top-k K --top-p P --seed S]
    tfssl fill-mask MODEL "text with [MASK]" [...]           query an exported masked LM
    tfssl embed MODEL "text" [...] [--output FILE.npy]       sentence embeddings from an export
    tfssl evaluate sts MODEL STS_FILE                        Spearman/Pearson on an STS-B file
    tfssl evaluate perplexity RUN_DIR TEXT_FILE [--context N --stride S]   sliding-window perplexity
    tfssl tokenizer train CORPUS OUT_DIR [--vocabulary-size N]
    tfssl config mlm|simcse|clm                              print the default config (JSON)

Errors in user input (files, configs) print one clear line and exit with status 2.
"""

import argparse
import dataclasses
import json
import os
import sys

# Quieter TensorFlow start-up: C++ info logs off unless the user asked for them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
    from tfssl.config import CausalLMPretrainConfig, ContrastivePretrainConfig, MLMPretrainConfig

    config = {"mlm": MLMPretrainConfig, "simcse": ContrastivePretrainConfig, "clm": CausalLMPretrainConfig}[args.objective]()
    print(json.dumps(dataclasses.asdict(config), indent=2))


def build_parser():
    parser = argparse.ArgumentParser(prog="tfssl", description="Self-supervised language models with TensorFlow/Keras.")
    sub = parser.add_subparsers(dest="command", required=True)

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

    cfg = sub.add_parser("config", help="print a default config")
    cfg.add_argument("objective", choices=["mlm", "simcse", "clm"])
    cfg.set_defaults(func=_config)
    return parser


def main(argv=None):
    from tfssl.config import ConfigError
    from tfssl.data.corpus import CorpusError
    from tfssl.data.sentence_pairs import PairFileError
    from tfssl.data.sts_pairs import STSFormatError

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "pretrain":
        args.overrides = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        args.func(args)
    except (ConfigError, CorpusError, PairFileError, STSFormatError, FileNotFoundError, ValueError) as e:
        print(f"tfssl: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
