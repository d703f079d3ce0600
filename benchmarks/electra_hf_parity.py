"""ELECTRA-small conversion parity: a random `google/electra-small`-shaped transformers pair -> tfssl -> back.

Builds with transformers (PyTorch, CPU) a random discriminator (`ElectraForPreTraining`: vocabulary 30,522,
embedding_size 128, hidden 256, 12 layers, 4 heads, intermediate 1,024, 512 positions) and a generator
(`ElectraForMaskedLM`) sharing its embeddings, as ELECTRA pretrains them. Two generator shapes:

    released   google/electra-small-generator's config.json: the discriminator's sizes (hidden 256, 4 heads,
               intermediate 1,024; its model card warns that it is as large as the discriminator, and the
               ELECTRA README says the released small model used generator size 1)
    quarter    the paper's 1/4 generator (hidden 64, 1 head, intermediate 256)

Each pair is converted (`tfssl convert from-hf DISCRIMINATOR --generator GENERATOR`), both models are run on a
few sentences (tfssl's WordPiece ids, which transformers' tokenizer is checked to give too) and compared with
transformers (max |difference| of the discriminator's replaced-token logits, the generator's vocabulary logits
and both last hidden states, at real tokens), then exported (`tfssl convert to-hf`) and re-imported: every
exported tensor must equal the original checkpoint's and every tfssl variable its first conversion's, exactly.
Parameters are transformers' initialisation plus N(0, 0.02) noise, so no LayerNorm or bias is trivial.

    python benchmarks/electra_hf_parity.py [--generators released,quarter] [--seed 0]
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

DISCRIMINATOR = dict(vocab_size=30522, embedding_size=128, hidden_size=256, num_hidden_layers=12,
                     num_attention_heads=4, intermediate_size=1024, max_position_embeddings=512)
GENERATORS = {"released": dict(DISCRIMINATOR),
              "quarter": dict(DISCRIMINATOR, hidden_size=64, num_attention_heads=1, intermediate_size=256)}
SENTENCES = ["The quick brown fox jumps over the lazy dog.",
             "ELECTRA learns to spot the tokens a small generator replaced.",
             "A converted checkpoint should give the same logits in TensorFlow and PyTorch, to the last digits.",
             "Short one."]


def vocabulary():
    """30,522 WordPiece tokens (BERT's count): specials, characters, the sentences' words, then fillers."""
    characters = sorted(set("".join(SENTENCES).lower()) - {" "})
    words = sorted({w.strip(".,").lower() for s in SENTENCES for w in s.split()} - {""})
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + characters + ["##" + c for c in characters]
    tokens += [w for w in words if w not in tokens]  # one-letter words are characters already
    return tokens + [f"[unused{i}]" for i in range(DISCRIMINATOR["vocab_size"] - len(tokens))]


def random_pair(directory, generator_sizes, seed):
    """Saves a random discriminator and generator (embeddings shared) under `directory`; returns their paths."""
    import torch
    import transformers

    torch.manual_seed(seed)
    models = [transformers.ElectraForPreTraining(transformers.ElectraConfig(**DISCRIMINATOR)),
              transformers.ElectraForMaskedLM(transformers.ElectraConfig(**generator_sizes))]
    with torch.no_grad():
        for model in models:
            for parameter in model.parameters():
                parameter.add_(0.02 * torch.randn_like(parameter))
        models[1].electra.embeddings.load_state_dict(models[0].electra.embeddings.state_dict())
    paths = []
    for model, name in zip(models, ("discriminator", "generator")):
        path = os.path.join(directory, name)
        model.save_pretrained(path)
        with open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(vocabulary()) + "\n")
        paths.append(path)
    return paths, [m.eval() for m in models]


def batch(tokenizer):
    """`(ids, mask)`: the sentences as [CLS] ... [SEP], right-padded with [PAD] (0)."""
    import tensorflow as tf

    pieces = tokenizer(tf.constant(SENTENCES)).to_list()  # WordPiece ids, no specials
    rows = [[tokenizer.cls_token_id] + ids + [tokenizer.sep_token_id] for ids in pieces]
    length = max(len(r) for r in rows)
    ids = np.array([r + [0] * (length - len(r)) for r in rows], "int32")
    return ids, (np.arange(length)[None] < np.array([len(r) for r in rows])[:, None]).astype("int32")


def compare(variant, generator_sizes, seed, work):
    import tensorflow as tf
    import torch
    import transformers
    from safetensors.numpy import load_file

    from tfssl.convert import convert_to_run_directory, export_to_hf, load_hf_electra
    from tfssl.run_directory import RunDirectory

    started = time.monotonic()
    (discriminator_dir, generator_dir), (discriminator, generator) = random_pair(work, generator_sizes, seed)
    made = time.monotonic()
    run = convert_to_run_directory(discriminator_dir, os.path.join(work, "run"), generator_dir=generator_dir)
    converted = time.monotonic()
    pretrainer, tokenizer = RunDirectory(run).electra(), RunDirectory(run).wordpiece_tokenizer()
    ids, mask = batch(tokenizer)
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(discriminator_dir)
    hf_ids = hf_tokenizer(SENTENCES, padding=True)["input_ids"]
    real = mask.astype(bool)
    features = {"token_ids": tf.constant(ids), "padding_mask": tf.constant(mask)}
    positions = tf.constant(np.tile(np.arange(ids.shape[1], dtype="int32"), (len(ids), 1)))
    sequence = pretrainer.backbone(features)["sequence_output"]
    generated = pretrainer.generator(features)["sequence_output"]
    ours = {"discriminator_logits": pretrainer.replaced_token_head(sequence).numpy(),
            "discriminator_hidden": sequence.numpy(),
            "generator_logits": pretrainer.generator_head(generated, positions).numpy(),
            "generator_hidden": generated.numpy()}
    theirs = {}
    with torch.no_grad():
        for name, model in (("discriminator", discriminator), ("generator", generator)):
            out = model(input_ids=torch.tensor(ids, dtype=torch.long), attention_mask=torch.tensor(mask),
                        output_hidden_states=True)
            theirs[name + "_logits"], theirs[name + "_hidden"] = out.logits.numpy(), out.hidden_states[-1].numpy()
    compared = time.monotonic()

    out = os.path.join(work, "hf")
    export_to_hf(run, out)
    exported_equal = True
    for exported, original in ((out, discriminator_dir), (os.path.join(out, "generator"), generator_dir)):
        a, b = (load_file(os.path.join(d, "model.safetensors")) for d in (exported, original))
        exported_equal &= sorted(a) == sorted(b) and all(np.array_equal(a[n], b[n]) for n in b)
    back, _, _ = load_hf_electra(out, os.path.join(out, "generator"))
    keep = lambda model: [v.numpy() for v in model.weights if "pooler" not in v.path and "seed" not in v.path]
    before, after = keep(pretrainer), keep(back)
    reimported_equal = len(before) == len(after) and all(np.array_equal(x, y) for x, y in zip(before, after))
    return {
        "generator": variant,
        "generator_sizes": {k: generator_sizes[k] for k in ("hidden_size", "num_attention_heads", "intermediate_size",
                                                            "num_hidden_layers")},
        "tokens": int(real.sum()),
        "token_ids_equal_transformers_tokenizer": bool(np.array_equal(np.array(hf_ids), ids)),  # both pad with 0
        "max_abs_difference": {k: float(np.abs(ours[k][real] - theirs[k][real]).max()) for k in ours},
        "max_abs_transformers": {k: float(np.abs(theirs[k][real]).max()) for k in ("discriminator_logits",
                                                                                   "generator_logits")},
        "export_equals_original_tensors": bool(exported_equal),
        "reimport_equals_conversion": bool(reimported_equal),
        "tfssl_variables_compared": len(before),
        "seconds": {"build_pair": round(made - started, 1), "convert": round(converted - made, 1),
                    "compare": round(compared - converted, 1),
                    "export_and_reimport": round(time.monotonic() - compared, 1)},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", default="released,quarter", help="comma-separated: released, quarter")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    results = []
    for variant in args.generators.split(","):
        work = tempfile.mkdtemp(prefix="electra-parity-")
        try:
            results.append(compare(variant, GENERATORS[variant], args.seed, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"benchmark": "electra_hf_parity", "discriminator": DISCRIMINATOR, "sentences": len(SENTENCES),
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
