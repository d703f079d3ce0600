"""tfssl models -> Hugging Face model directories that `transformers.AutoModel`,
`AutoModelForMaskedLM` / `AutoModelForCausalLM` and `AutoTokenizer` load.

    export_to_hf("runs/minilm-sotu", "hf/minilm-sotu")

A masked-LM run is written with its head (`BertForMaskedLM`, ...), a fine-tuned or other encoder
as the base model (`BertModel`, ...), a causal-LM run as `GPT2LMHeadModel`, an ELECTRA run as
electra: its discriminator as `ElectraForPreTraining` in `output_dir` and its generator as
`ElectraForMaskedLM` in `output_dir/generator/` (`hf_electra`). The architecture is the one the run
was converted from (its `hf_config.json`, whose other fields are kept) or, for models trained in
tfssl, ELECTRA for ELECTRA runs, BERT for other encoders and GPT-2 for decoders. Tokenizer files in
the run's `tokenizer/` (tfssl's WordPiece runs write `BertTokenizer` files) are copied alongside.
"""

import os

from tfssl.convert.checkpoint_files import TOKENIZER_FILES, CheckpointError, write_hf_directory
from tfssl.convert.hf_architectures import ARCHITECTURES, backbone_links, export_problems, hf_config_for
from tfssl.convert.tensor_links import collect
from tfssl.run_directory import RunDirectory


def export_to_hf(source, output_dir, model_type=None):
    """Writes `source` (a run directory or a `.keras` file) to `output_dir`; returns a summary."""
    run = RunDirectory(source)
    run_dir, file = run.path, run.model_file
    if not os.path.isfile(file):
        raise CheckpointError(f"No model at {file}; give a tfssl run directory ({RunDirectory.MODEL}) or a .keras file.")
    model = run.load_model()
    base = run.hf_config()
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        raise CheckpointError(f"{file} holds a {model.__class__.__name__} without a backbone; nothing to export.")
    is_decoder = backbone.__class__.__name__ == "DecoderBackbone"
    is_electra = model.__class__.__name__ == "ElectraPretrainer"
    model_type = model_type or (base or {}).get("model_type") or ("gpt2" if is_decoder else
                                                                  "electra" if is_electra else "bert")
    if model_type not in ARCHITECTURES:
        raise CheckpointError(f"Unknown Hugging Face architecture {model_type!r}; choose {sorted(ARCHITECTURES)}.")
    architecture = ARCHITECTURES[model_type]
    if base is not None and base.get("model_type") != model_type:
        base = None  # the checkpoint's own fields belong to another architecture
    with_head = hasattr(model, "masked_lm_head") or is_decoder
    problems = export_problems(architecture, backbone, with_head)
    if problems:
        raise CheckpointError(f"{file} cannot be written as {model_type}: " + "; ".join(problems) + ".")

    special_ids = _special_ids(run_dir, model_type)
    tokenizer_dir = run.tokenizer_dir
    tokenizer_files = [os.path.join(tokenizer_dir, n) for n in TOKENIZER_FILES
                       if os.path.isfile(os.path.join(tokenizer_dir, n))]
    if is_electra and model_type == "electra":  # the pair; as another type, the discriminator's base model
        from tfssl.convert.hf_electra import export_electra_pretrainer

        return export_electra_pretrainer(model, output_dir, base, special_ids, tokenizer_files, file)
    config = hf_config_for(architecture, backbone, base, special_ids)
    config["architectures"] = [architecture.head_class if with_head else architecture.base_class]
    links = backbone_links(architecture, config) + list(architecture.head_links)
    groups = ("backbone", "head") if with_head else ("backbone", "pooler")
    named = collect(model, links, groups)
    head_names = {n for link in architecture.head_links for n in link.hf_names}
    prefix = architecture.prefix if with_head else ""
    weights = {(name if name in head_names else prefix + name): array for name, array in named.items()}
    write_hf_directory(output_dir, config, weights, tokenizer_files)
    return {"directory": os.path.abspath(output_dir), "model_type": model_type, "class": config["architectures"][0],
            "tensors": len(weights), "tokenizer_files": [os.path.basename(p) for p in tokenizer_files]}


def _special_ids(run_dir, model_type):
    """pad (and for GPT-2 bos/eos) ids from the run's vocabulary, for config.json."""
    vocab = os.path.join(RunDirectory(run_dir).tokenizer_dir, "vocab.txt")
    if model_type == "gpt2" or not os.path.isfile(vocab):
        return {}
    with open(vocab, encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
    return {"pad_token_id": tokens.index("[PAD]")} if "[PAD]" in tokens else {}
