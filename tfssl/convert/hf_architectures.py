"""The Hugging Face architectures tfssl converts, each as its config fields and `TensorLink`s:
BERT, RoBERTa, DistilBERT and ELECTRA -> `EncoderBackbone` (+ `MaskedLMHead`), GPT-2 -> `DecoderBackbone`.
ELECTRA's masked-LM head is its generator's (`ElectraForMaskedLM`); its discriminator head
(`ElectraForPreTraining`) is `ELECTRA_DISCRIMINATOR_HEAD_LINKS`, paired up in `hf_electra`.

Names here are those of the base model; checkpoints of the task classes (`BertForMaskedLM`,
`GPT2LMHeadModel`, ...) prefix them with `Architecture.prefix`, and heads live outside it. This
module is the only place that knows Hugging Face parameter names.
"""

import dataclasses

from tfssl.convert.checkpoint_files import CheckpointError
from tfssl.convert.tensor_links import TensorLink

_ENCODER_ACTIVATIONS = {"gelu": "gelu", "relu": "relu"}
_DECODER_ACTIVATIONS = {"gelu_new": "gelu_approximate", "gelu_pytorch_tanh": "gelu_approximate", "gelu": "gelu",
                        "relu": "relu"}


@dataclasses.dataclass(frozen=True)
class Architecture:
    model_type: str
    kind: str  # "encoder" or "decoder"
    prefix: str  # of base-model names inside the task class's checkpoint
    head_class: str  # transformers class written on export, with the head
    base_class: str  # without a head (fine-tuned or contrastive encoders)
    head_links: tuple  # TensorLinks of the masked-LM head (group "head"); empty for decoders
    tied_names: tuple  # output projections that must equal the token embedding (tied)


def _linear(hf, path, group="backbone"):
    return [TensorLink((hf + ".weight",), path, 0, "linear", group), TensorLink((hf + ".bias",), path, 1, "copy", group)]


def _norm(hf, path, weight="weight", bias="bias", group="backbone"):
    return [TensorLink((f"{hf}.{weight}",), path, 0, "copy", group), TensorLink((f"{hf}.{bias}",), path, 1, "copy", group)]


def _qkv(names, path):
    return [TensorLink(tuple(n + ".weight" for n in names), path, 0, "fused_linear"),
            TensorLink(tuple(n + ".bias" for n in names), path, 1, "fused")]


def _masked_lm_head(transform, layer_norm, bias):
    """TensorLinks of a masked-LM head (group "head"): dense transform, LayerNorm, output bias."""
    return tuple(_linear(transform, "masked_lm_head.transform", "head")
                 + _norm(layer_norm, "masked_lm_head.layer_norm", group="head")
                 + [TensorLink((bias,), "masked_lm_head.output_bias", None, "copy", "head")])


ARCHITECTURES = {
    "bert": Architecture(
        "bert", "encoder", "bert.", "BertForMaskedLM", "BertModel",
        _masked_lm_head("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm",
                        "cls.predictions.bias"),
        ("cls.predictions.decoder.weight",),
    ),
    "roberta": Architecture(
        "roberta", "encoder", "roberta.", "RobertaForMaskedLM", "RobertaModel",
        _masked_lm_head("lm_head.dense", "lm_head.layer_norm", "lm_head.bias"), ("lm_head.decoder.weight",),
    ),
    "distilbert": Architecture(
        "distilbert", "encoder", "distilbert.", "DistilBertForMaskedLM", "DistilBertModel",
        _masked_lm_head("vocab_transform", "vocab_layer_norm", "vocab_projector.bias"), ("vocab_projector.weight",),
    ),
    # ELECTRA's generator head always applies gelu (transformers' `ElectraGeneratorPredictions`): see
    # `electra_generator_problem`. Base model: BERT's without the pooler, + `embeddings_project`.
    "electra": Architecture(
        "electra", "encoder", "electra.", "ElectraForMaskedLM", "ElectraModel",
        _masked_lm_head("generator_predictions.dense", "generator_predictions.LayerNorm", "generator_lm_head.bias"),
        ("generator_lm_head.weight",),
    ),
    "gpt2": Architecture("gpt2", "decoder", "transformer.", "GPT2LMHeadModel", "GPT2Model", (), ("lm_head.weight",)),
}

# ELECTRA's discriminator (`ElectraForPreTraining`): names outside `prefix`, like the masked-LM heads'.
ELECTRA_DISCRIMINATOR_CLASS = "ElectraForPreTraining"
ELECTRA_DISCRIMINATOR_HEAD_LINKS = tuple(
    _linear("discriminator_predictions.dense", "replaced_token_head.dense", "head")
    + _linear("discriminator_predictions.dense_prediction", "replaced_token_head.prediction", "head"))

# Buffers and tied copies that carry no weights of their own.
IGNORED_SUFFIXES = ("position_ids", "attn.bias", "attn.masked_bias", "decoder.bias", "embeddings.token_type_ids")


def architecture_for(config, where):
    """The `Architecture` of a config.json dict; an unsupported one is a `CheckpointError`."""
    model_type = config.get("model_type")
    if model_type not in ARCHITECTURES:
        raise CheckpointError(f"{where}: model_type {model_type!r} is not supported; tfssl converts "
                              f"{', '.join(sorted(ARCHITECTURES))}.")
    return ARCHITECTURES[model_type]


def electra_role(names):
    """What an ELECTRA checkpoint holds, from its tensor names (prefix removed): "generator" (an
    `ElectraForMaskedLM`), "discriminator" (an `ElectraForPreTraining`) or "base" (an `ElectraModel`)."""
    names = set(names)
    if any(n in names for link in ARCHITECTURES["electra"].head_links for n in link.hf_names):
        return "generator"
    if any(n in names for link in ELECTRA_DISCRIMINATOR_HEAD_LINKS for n in link.hf_names):
        return "discriminator"
    return "base"


def electra_generator_problem(activation):
    """Why an ELECTRA generator whose encoder uses `activation` cannot convert (None when it can):
    transformers' generator head always applies gelu, tfssl's `MaskedLMHead` the encoder's activation."""
    if activation == "gelu":
        return None
    return (f"its hidden_act is {activation!r}, but transformers' ELECTRA generator head always applies gelu "
            "where tfssl's applies the encoder's activation, so the two would differ; convert generators with "
            "hidden_act='gelu' (or only the discriminator)")


def position_offset(config):
    """Rows of the position table before the first position (RoBERTa: padding_idx + 1)."""
    return config.get("pad_token_id", 1) + 1 if config.get("model_type") == "roberta" else 0


def backbone_links(architecture, config):
    """TensorLinks of the base model (names without `prefix`) for a config.json dict."""
    if architecture.model_type == "gpt2":
        return _gpt2_links(config["n_layer"])
    offset = position_offset(config)
    if architecture.model_type == "distilbert":
        links = [TensorLink(("embeddings.word_embeddings.weight",), "backbone.embeddings.token_embedding"),
                 TensorLink(("embeddings.position_embeddings.weight",), "backbone.embeddings.position_embedding")]
        links += _norm("embeddings.LayerNorm", "backbone.embeddings.layer_norm")
        for i in range(config["n_layers"]):
            links += _encoder_block_links(f"transformer.layer.{i}.", i, ("attention.q_lin", "attention.k_lin",
                                          "attention.v_lin", "attention.out_lin", "sa_layer_norm", "ffn.lin1",
                                          "ffn.lin2", "output_layer_norm"))
        return links
    links = [TensorLink(("embeddings.word_embeddings.weight",), "backbone.embeddings.token_embedding"),
             TensorLink(("embeddings.position_embeddings.weight",), "backbone.embeddings.position_embedding", 0,
                        f"skip_rows:{offset}" if offset else "copy")]
    if config.get("type_vocab_size", 2):
        links.append(TensorLink(("embeddings.token_type_embeddings.weight",), "backbone.embeddings.segment_embedding"))
    links += _norm("embeddings.LayerNorm", "backbone.embeddings.layer_norm")
    if config.get("embedding_size", config["hidden_size"]) != config["hidden_size"]:  # ELECTRA: embeddings -> hidden
        links += _linear("embeddings_project", "backbone.embeddings_projection")
    for i in range(config["num_hidden_layers"]):
        links += _encoder_block_links(f"encoder.layer.{i}.", i, ("attention.self.query", "attention.self.key",
                                      "attention.self.value", "attention.output.dense", "attention.output.LayerNorm",
                                      "intermediate.dense", "output.dense", "output.LayerNorm"))
    if architecture.model_type != "electra":  # ELECTRA has no pooler: tfssl's stays at its initialisation
        links += _linear("pooler.dense", "backbone.pooler", group="pooler")
    return links


def _encoder_block_links(prefix, index, names):
    """TensorLinks of encoder block `index` from its Hugging Face names (after `prefix`): query, key,
    value, attention output, attention LayerNorm, intermediate, output, output LayerNorm."""
    query, key, value, attention_output, attention_norm, intermediate, output, output_norm = [prefix + n for n in names]
    block = f"backbone.blocks.{index}."
    return (_qkv([query, key, value], block + "attention.qkv_dense")
            + _linear(attention_output, block + "attention.output_dense")
            + _norm(attention_norm, block + "attention_layer_norm")
            + _linear(intermediate, block + "intermediate_dense") + _linear(output, block + "ffn_output_dense")
            + _norm(output_norm, block + "ffn_layer_norm"))


def _gpt2_links(num_layers):
    copy = lambda hf, path, group="backbone": [TensorLink((hf + ".weight",), path, 0), TensorLink((hf + ".bias",), path, 1)]
    links = [TensorLink(("wte.weight",), "backbone.token_embedding"), TensorLink(("wpe.weight",), "backbone.position_embedding")]
    for i in range(num_layers):
        p, b = f"h.{i}.", f"backbone.blocks.{i}."
        links += _norm(p + "ln_1", b + "attention_layer_norm")
        links += copy(p + "attn.c_attn", b + "attention.qkv_dense")  # Conv1D: (in, out), as a Keras kernel
        links += copy(p + "attn.c_proj", b + "attention.output_dense") + _norm(p + "ln_2", b + "ffn_layer_norm")
        links += copy(p + "mlp.c_fc", b + "intermediate_dense") + copy(p + "mlp.c_proj", b + "ffn_output_dense")
    return links + _norm("ln_f", "backbone.final_layer_norm")


def backbone_arguments(architecture, config, where):
    """tfssl backbone constructor arguments for a config.json dict (refusing what tfssl lacks)."""
    if architecture.model_type == "gpt2":
        activation = config.get("activation_function", "gelu_new")
        if activation not in _DECODER_ACTIVATIONS:
            raise CheckpointError(f"{where}: activation_function {activation!r} is not supported "
                                  f"({', '.join(_DECODER_ACTIVATIONS)}).")
        for flag, wanted in (("scale_attn_weights", True), ("scale_attn_by_inverse_layer_idx", False)):
            if config.get(flag, wanted) != wanted:
                raise CheckpointError(f"{where}: {flag}={config[flag]} has no tfssl equivalent (needs {wanted}).")
        return dict(vocabulary_size=config["vocab_size"], num_layers=config["n_layer"], num_heads=config["n_head"],
                    hidden_dim=config["n_embd"], intermediate_dim=config.get("n_inner") or 4 * config["n_embd"],
                    max_sequence_length=config["n_positions"], dropout=0.0,
                    activation=_DECODER_ACTIVATIONS[activation],
                    layer_norm_epsilon=config.get("layer_norm_epsilon", 1e-5),
                    initializer_range=config.get("initializer_range", 0.02), rotary=False)
    if architecture.model_type == "distilbert":
        activation, sizes = config.get("activation", "gelu"), dict(
            vocabulary_size=config["vocab_size"], num_layers=config["n_layers"], num_heads=config["n_heads"],
            hidden_dim=config["dim"], intermediate_dim=config["hidden_dim"],
            max_sequence_length=config["max_position_embeddings"], num_segments=0, layer_norm_epsilon=1e-12)
    else:
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise CheckpointError(f"{where}: position_embedding_type {config['position_embedding_type']!r}; only "
                                  "absolute positions convert.")
        activation, sizes = config.get("hidden_act", "gelu"), dict(
            vocabulary_size=config["vocab_size"], num_layers=config["num_hidden_layers"],
            num_heads=config["num_attention_heads"], hidden_dim=config["hidden_size"],
            intermediate_dim=config["intermediate_size"],
            max_sequence_length=config["max_position_embeddings"] - position_offset(config),
            num_segments=config.get("type_vocab_size", 2), layer_norm_epsilon=config.get("layer_norm_eps", 1e-12))
        if architecture.model_type == "electra":
            sizes["embedding_dim"] = config.get("embedding_size", config["hidden_size"])
    if activation not in _ENCODER_ACTIVATIONS:
        raise CheckpointError(f"{where}: activation {activation!r} is not supported for encoders "
                              f"({', '.join(_ENCODER_ACTIVATIONS)}).")
    return dict(sizes, dropout=0.0, activation=_ENCODER_ACTIVATIONS[activation],
                initializer_range=config.get("initializer_range", 0.02), position_initializer="truncated_normal",
                rotary=False, norm_first=False)


def hf_config_for(architecture, backbone, base=None, special_ids=None):
    """A config.json dict describing `backbone` as `architecture` (starting from `base`, the
    checkpoint's own config when the model came from one, so its other fields survive)."""
    config = dict(base or {})
    config["model_type"] = architecture.model_type
    config.update({k: v for k, v in (special_ids or {}).items() if v is not None})
    if architecture.model_type == "gpt2":
        reverse = {"gelu_approximate": "gelu_new", "gelu": "gelu", "relu": "relu"}
        config.update(vocab_size=backbone.vocabulary_size, n_layer=backbone.num_layers, n_head=backbone.num_heads,
                      n_embd=backbone.hidden_dim, n_inner=backbone.intermediate_dim,
                      n_positions=backbone.max_sequence_length, activation_function=reverse[backbone.activation],
                      layer_norm_epsilon=backbone.layer_norm_epsilon, initializer_range=backbone.initializer_range,
                      tie_word_embeddings=True)
        return config
    if architecture.model_type == "distilbert":
        config.update(vocab_size=backbone.vocabulary_size, n_layers=backbone.num_layers, n_heads=backbone.num_heads,
                      dim=backbone.hidden_dim, hidden_dim=backbone.intermediate_dim,
                      max_position_embeddings=backbone.max_sequence_length, activation=backbone.activation,
                      sinusoidal_pos_embds=False, initializer_range=backbone.initializer_range,
                      tie_word_embeddings=True)
        return config
    config.setdefault("pad_token_id", 1 if architecture.model_type == "roberta" else 0)
    config.update(vocab_size=backbone.vocabulary_size, num_hidden_layers=backbone.num_layers,
                  num_attention_heads=backbone.num_heads, hidden_size=backbone.hidden_dim,
                  intermediate_size=backbone.intermediate_dim, hidden_act=backbone.activation,
                  max_position_embeddings=backbone.max_sequence_length + position_offset(config),
                  type_vocab_size=backbone.num_segments, layer_norm_eps=backbone.layer_norm_epsilon,
                  initializer_range=backbone.initializer_range, position_embedding_type="absolute",
                  hidden_dropout_prob=backbone.dropout, attention_probs_dropout_prob=backbone.dropout,
                  tie_word_embeddings=True)
    if architecture.model_type == "electra":
        config["embedding_size"] = backbone.token_embedding_dim
    return config


def export_problems(architecture, backbone, with_head=False):
    """Why `backbone` (with a masked-LM head when `with_head`) cannot be written as `architecture`
    (empty when it can)."""
    problems = []
    if getattr(backbone, "rotary", False):
        problems.append("it uses rotary positions (train with --rotary=false for Hugging Face export)")
    if architecture.kind == "encoder":
        if backbone.__class__.__name__ != "EncoderBackbone":
            problems.append(f"{architecture.model_type} is an encoder but the model is a {backbone.__class__.__name__}")
            return problems
        if backbone.norm_first:
            problems.append("it is pre-LayerNorm (norm_first=true); BERT-family checkpoints are post-LayerNorm")
        if backbone.activation not in _ENCODER_ACTIVATIONS:
            problems.append(f"activation {backbone.activation!r} is not one of {sorted(_ENCODER_ACTIVATIONS)}")
        if architecture.model_type == "distilbert" and backbone.num_segments:
            problems.append("it has segment embeddings, which DistilBERT lacks (export as bert)")
        if architecture.model_type != "distilbert" and not backbone.num_segments:
            problems.append("it has no segment embeddings (export as distilbert)")
        if architecture.model_type != "electra" and backbone.token_embedding_dim != backbone.hidden_dim:
            problems.append(f"its embeddings are {backbone.token_embedding_dim} wide, not hidden_dim "
                            f"{backbone.hidden_dim} (a projection follows them): export as electra")
        if architecture.model_type == "electra" and with_head and backbone.activation != "gelu":
            problems.append(electra_generator_problem(backbone.activation))
    elif backbone.__class__.__name__ != "DecoderBackbone":
        problems.append(f"gpt2 is a decoder but the model is a {backbone.__class__.__name__}")
    return problems
