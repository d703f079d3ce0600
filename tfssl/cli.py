"""`tfssl` command line.

    tfssl pretrain mlm [--config FILE] [--key=value ...]   masked-LM pretraining + export
    tfssl fill-mask MODEL "text with [MASK]" [...]          query an exported model
    tfssl tokenizer train CORPUS OUT_DIR [--vocabulary-size N]
    tfssl config mlm                                        print the default config (JSON)

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
    from tfssl.config import MLMPretrainConfig, load_config
    from tfssl.training.mlm_pretraining import run_mlm_pretraining

    if args.objective != "mlm":
        raise SystemExit(f"tfssl pretrain: objective {args.objective!r} is not available yet; use 'mlm'.")
    config = load_config(MLMPretrainConfig, args.config, args.overrides)
    result = run_mlm_pretraining(config)
    summary = {k: result[k] for k in ("run_dir", "steps", "fit_seconds", "total_seconds") if k in result}
    summary.update({k: result[k] for k in ("held_out", "export") if k in result})
    print(json.dumps(summary, indent=2))


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
    from tfssl.config import MLMPretrainConfig

    print(json.dumps(dataclasses.asdict(MLMPretrainConfig()), indent=2))


def build_parser():
    parser = argparse.ArgumentParser(prog="tfssl", description="Self-supervised language models with TensorFlow/Keras.")
    sub = parser.add_subparsers(dest="command", required=True)

    pretrain = sub.add_parser("pretrain", help="pretrain a model (masked LM)")
    pretrain.add_argument("objective", choices=["mlm"], help="training objective")
    pretrain.add_argument("--config", help="JSON or YAML config file")
    pretrain.set_defaults(func=_pretrain)

    fill = sub.add_parser("fill-mask", help="fill [MASK] tokens with an exported model")
    fill.add_argument("model", help="saved_models/<name> (latest version) or a version directory")
    fill.add_argument("texts", nargs="+", help="texts containing [MASK]")
    fill.set_defaults(func=_fill_mask)

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
    cfg.add_argument("objective", choices=["mlm"])
    cfg.set_defaults(func=_config)
    return parser


def main(argv=None):
    from tfssl.config import ConfigError
    from tfssl.data.corpus import CorpusError

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "pretrain":
        args.overrides = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        args.func(args)
    except (ConfigError, CorpusError, FileNotFoundError, ValueError) as e:
        print(f"tfssl: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
