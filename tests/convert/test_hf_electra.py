"""Hugging Face ELECTRA in and out: random-initialised `transformers` ELECTRA models (PyTorch, CPU) with
embedding_size != hidden_size and their tfssl conversions give the same outputs (a discriminator alone -> an
`ElectraPretrainer` with a fresh generator, a generator alone -> a `MaskedLMPretrainer`, the pair -> one
`ElectraPretrainer`); the pair goes back out as the same tensors, which transformers loads; pairs that cannot
share one embedding layer fail with the files and the fix named, before any weights are read."""

import json
import re

import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")  # the test extra pins torch==2.13.0 (CPU)
transformers = pytest.importorskip("transformers")

from safetensors.numpy import load_file  # noqa: E402

from tfssl.cli import main  # noqa: E402
from tfssl.convert import CheckpointError, export_to_hf, load_hf_electra, load_hf_model  # noqa: E402
from tfssl.models.electra_pretrainer import ElectraPretrainer, generator_sizes  # noqa: E402
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer  # noqa: E402
from tfssl.run_directory import RunDirectory  # noqa: E402

LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "of", "and", "to", "in", "we", "our"] + LETTERS + [
    "##" + c for c in LETTERS]  # 64 tokens
DISCRIMINATOR = dict(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=40)
GENERATOR = dict(DISCRIMINATOR, hidden_size=24, num_attention_heads=2, intermediate_size=48)  # 3/4 as wide


def electra_config(**sizes):
    return transformers.ElectraConfig(**{"vocab_size": len(VOCABULARY), **DISCRIMINATOR, **sizes})


def perturbed(model, seed):
    """`model` with every parameter moved a little, so that none (LayerNorms, biases) is trivial."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model.eval()


def save(model, directory, vocabulary=VOCABULARY):
    model.save_pretrained(directory)  # safetensors: transformers 5's only format
    (directory / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """`(discriminator_dir, generator_dir, discriminator, generator)`: a random pair sharing its embeddings,
    as ELECTRA pretrains them (the generator's copy of the discriminator's, as in Google's releases)."""
    discriminator = perturbed(transformers.ElectraForPreTraining(electra_config()), 0)
    generator = perturbed(transformers.ElectraForMaskedLM(electra_config(**GENERATOR)), 1)
    with torch.no_grad():
        discriminator.discriminator_predictions.dense_prediction.weight.mul_(30.0)  # logits of a trained size
        discriminator.electra.embeddings.word_embeddings.weight.mul_(10.0)  # and the generator's, tied to these
        generator.electra.embeddings.load_state_dict(discriminator.electra.embeddings.state_dict())  # in place:
        # the tied output projection follows
    return (save(discriminator, tmp_path_factory.mktemp("discriminator")),
            save(generator, tmp_path_factory.mktemp("generator")), discriminator, generator)


def inputs():
    rng = np.random.default_rng(0)
    ids = rng.integers(5, len(VOCABULARY), (3, 20)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, 12:] = 0
    ids[1, 12:] = 0  # right padding, as tfssl's pipelines pad
    segments = np.zeros_like(ids)
    segments[2, 10:] = 1
    return ids, mask, segments


def torch_outputs(model):
    """`(last hidden states, logits)` of a transformers model on `inputs()`."""
    ids, mask, segments = inputs()
    with torch.no_grad():
        out = model(input_ids=torch.tensor(ids, dtype=torch.long), attention_mask=torch.tensor(mask),
                    token_type_ids=torch.tensor(segments, dtype=torch.long), output_hidden_states=True)
    return out.hidden_states[-1].numpy(), out.logits.numpy()


def features():
    ids, mask, segments = inputs()
    return {"token_ids": tf.constant(ids), "padding_mask": tf.constant(mask), "segment_ids": tf.constant(segments)}


POSITIONS = np.tile(np.arange(6, dtype="int32"), (3, 1))  # the masked-LM slots compared
REAL = inputs()[1].astype(bool)


def discriminator_outputs(pretrainer):
    sequence = pretrainer.backbone(features())["sequence_output"]
    return sequence.numpy(), pretrainer.replaced_token_head(sequence).numpy()


def generator_outputs(pretrainer):
    sequence = pretrainer.generator(features())["sequence_output"]
    return sequence.numpy(), pretrainer.generator_head(sequence, tf.constant(POSITIONS)).numpy()


def assert_close(ours, theirs, positions=REAL):
    assert np.abs(ours[positions] - theirs[positions]).max() <= 1e-4


def test_discriminator_alone_equals_transformers_with_a_fresh_quarter_width_generator(pair):
    discriminator_dir, _, discriminator, _ = pair
    pretrainer, tokenizer, architecture = load_hf_model(discriminator_dir)
    assert isinstance(pretrainer, ElectraPretrainer) and architecture.model_type == "electra"
    assert tokenizer.vocabulary == VOCABULARY
    assert pretrainer.backbone.embeddings_projection is not None  # embedding_size 16 -> hidden_size 32
    assert pretrainer.generator_config == generator_sizes(pretrainer.backbone, 0.25)
    expected_sequence, expected_logits = torch_outputs(discriminator)
    sequence, logits = discriminator_outputs(pretrainer)
    assert_close(sequence, expected_sequence)
    assert_close(logits, expected_logits)
    assert np.abs(expected_logits).max() > 1.0  # the comparison is not between near-zero tensors


def test_base_model_loads_the_encoder_and_leaves_the_head_fresh(pair, tmp_path):
    discriminator_dir, _, discriminator, _ = pair
    save(discriminator.electra, tmp_path / "base")
    pretrainer, _, _ = load_hf_model(tmp_path / "base")
    assert isinstance(pretrainer, ElectraPretrainer)
    assert_close(discriminator_outputs(pretrainer)[0], torch_outputs(discriminator)[0])
    head = discriminator.discriminator_predictions.dense.weight.detach().numpy().T
    assert not np.array_equal(pretrainer.replaced_token_head.dense.kernel.numpy(), head)


def test_generator_alone_is_a_masked_lm_equal_to_transformers(pair):
    _, generator_dir, _, generator = pair
    pretrainer, _, _ = load_hf_model(generator_dir)
    assert isinstance(pretrainer, MaskedLMPretrainer) and pretrainer.backbone.token_embedding_dim == 16
    expected_sequence, expected_logits = torch_outputs(generator)
    sequence = pretrainer.backbone(features())["sequence_output"].numpy()
    logits = pretrainer(dict(features(), mask_positions=tf.constant(POSITIONS))).numpy()
    assert_close(sequence, expected_sequence)
    assert_close(logits, expected_logits[:, :6], slice(None))
    assert np.abs(expected_logits).max() > 1.0


@pytest.fixture(scope="module")
def converted_run(pair, tmp_path_factory):
    """The pair converted by `tfssl convert from-hf DISCRIMINATOR --generator GENERATOR`."""
    discriminator_dir, generator_dir, _, _ = pair
    runs = tmp_path_factory.mktemp("runs")
    assert main(["convert", "from-hf", str(discriminator_dir), "--generator", str(generator_dir),
                 "--output-dir", str(runs), "--name", "pair"]) == 0
    return runs / "pair"


def weights_of(pretrainer):
    """`(path, value)` of every tfssl variable in order, poolers (no ELECTRA tensor) and the sampling seed left out."""
    return [(v.path, v.numpy()) for v in pretrainer.weights if "pooler" not in v.path and "seed" not in v.path]


def test_pair_converts_equal_to_transformers_and_round_trips_exactly(pair, converted_run, tmp_path):
    discriminator_dir, generator_dir, discriminator, generator = pair
    pretrainer = RunDirectory(converted_run).electra()
    assert pretrainer.generator_config == {"num_layers": 2, "num_heads": 2, "hidden_dim": 24, "intermediate_dim": 48}
    settings = json.loads((converted_run / "config.json").read_text())
    assert settings["converted_generator_from"] == str(generator_dir) and settings["hf_model_type"] == "electra"
    sequence, logits = discriminator_outputs(pretrainer)
    expected_sequence, expected_logits = torch_outputs(discriminator)
    assert_close(sequence, expected_sequence)
    assert_close(logits, expected_logits)
    sequence, logits = generator_outputs(pretrainer)
    expected_sequence, expected_logits = torch_outputs(generator)
    assert_close(sequence, expected_sequence)
    assert_close(logits, expected_logits[:, :6], slice(None))

    out = tmp_path / "hf"
    assert main(["convert", "to-hf", str(converted_run), str(out)]) == 0  # electra: the run's hf_config.json
    for exported, original in ((out, discriminator_dir), (out / "generator", generator_dir)):
        ours, theirs = load_file(str(exported / "model.safetensors")), load_file(str(original / "model.safetensors"))
        assert sorted(ours) == sorted(theirs)
        assert all(np.array_equal(ours[name], theirs[name]) for name in theirs)
        assert (exported / "vocab.txt").read_text(encoding="utf-8").split() == VOCABULARY
    for model_class, directory, original in ((transformers.ElectraForPreTraining, out, discriminator),
                                             (transformers.AutoModelForMaskedLM, out / "generator", generator)):
        model, info = model_class.from_pretrained(directory, output_loading_info=True)
        assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
        for ours, theirs in zip(torch_outputs(model.eval()), torch_outputs(original)):
            assert np.abs(ours - theirs).max() <= 1e-6

    back, _, _ = load_hf_electra(out, out / "generator")
    before, after = weights_of(pretrainer), weights_of(back)
    assert len(before) == len(after) > 60
    for (path, value), (other_path, other_value) in zip(before, after):  # paths differ in Keras' unique names
        assert path.split("/")[-2:] == other_path.split("/")[-2:] and np.array_equal(value, other_value), path


def test_an_electra_run_with_narrow_embeddings_is_not_written_as_bert(converted_run, tmp_path):
    with pytest.raises(CheckpointError, match="embeddings are 16 wide, not hidden_dim 32 .*export as electra"):
        export_to_hf(converted_run, tmp_path / "hf", "bert")
    assert not (tmp_path / "hf").exists()


def random_tfssl_run(directory, task):
    """A run directory holding a tfssl encoder with ELECTRA's factorised embeddings (16 -> 32), all weights
    random: a `MaskedLMPretrainer` (task "mlm") or the encoder of a `TextClassifier` ("classifier")."""
    from tfssl.models.encoder_backbone import EncoderBackbone
    from tfssl.models.text_classifier import TextClassifier

    backbone = EncoderBackbone(len(VOCABULARY), 2, 4, 32, 64, max_sequence_length=40, dropout=0.0, embedding_dim=16,
                               position_initializer="truncated_normal")
    model = MaskedLMPretrainer(backbone) if task == "mlm" else TextClassifier(backbone, 3, dropout=0.0)
    model.build()
    rng = np.random.default_rng(1)
    for variable in model.weights:
        variable.assign(variable.numpy() + rng.normal(0, 0.05, variable.shape).astype("float32"))
    (directory / "tokenizer").mkdir(parents=True)
    (directory / "tokenizer" / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n", encoding="utf-8")
    model.save(str(directory / "model.keras"))
    return model


@pytest.mark.parametrize("task, hf_class", [("mlm", "ElectraForMaskedLM"), ("classifier", "ElectraModel")])
def test_a_plain_encoder_run_exports_as_electra(tmp_path, task, hf_class):
    """A masked-LM run with `embedding_dim` is exactly an `ElectraForMaskedLM`; any other encoder goes out as
    the base `ElectraModel` (no pooler: ELECTRA has none)."""
    model = random_tfssl_run(tmp_path / "run", task)
    summary = export_to_hf(tmp_path / "run", tmp_path / "hf", "electra")
    assert summary["class"] == hf_class
    auto = transformers.AutoModelForMaskedLM if task == "mlm" else transformers.AutoModel
    hf_model, info = auto.from_pretrained(tmp_path / "hf", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    ids, mask, segments = inputs()
    with torch.no_grad():
        out = hf_model.eval()(input_ids=torch.tensor(ids, dtype=torch.long), attention_mask=torch.tensor(mask),
                              token_type_ids=torch.tensor(segments, dtype=torch.long), output_hidden_states=True)
    assert_close(model.backbone(features())["sequence_output"].numpy(), out.hidden_states[-1].numpy())
    if task == "mlm":
        assert_close(model(dict(features(), mask_positions=tf.constant(POSITIONS))).numpy(), out.logits[:, :6].numpy(),
                     slice(None))


BAD_GENERATORS = {  # config.json changes -> the error; such a generator directory holds no weights at all
    "vocab_size": ({"vocab_size": len(VOCABULARY) + 1}, r"their vocabularies differ \(vocab_size 65 vs 64"),
    "embedding_size": ({"embedding_size": 8}, "embedding_size 8 vs 16"),
    "larger": ({"hidden_size": 64, "intermediate_size": 128},
               "The generator is larger than the discriminator .*hidden_dim 64 > 32"),
    "positions": ({"max_position_embeddings": 48}, "config.json differs in max_position_embeddings 48 vs 40"),
    "activation": ({"hidden_act": "relu"}, "config.json differs in hidden_act 'relu' vs 'gelu'"),
}


@pytest.mark.parametrize("case", sorted(BAD_GENERATORS))
def test_a_generator_that_cannot_share_fails_before_any_weights_are_read(pair, tmp_path, case):
    discriminator_dir = pair[0]
    changes, message = BAD_GENERATORS[case]
    electra_config(**{**GENERATOR, **changes}).save_pretrained(tmp_path)  # config.json only
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n", encoding="utf-8")
    pair_name = re.escape(f"{tmp_path} cannot be the generator of {discriminator_dir}: ")
    with pytest.raises(CheckpointError, match=pair_name + message):
        load_hf_electra(discriminator_dir, tmp_path)


def test_a_different_vocabulary_file_fails_before_any_weights_are_read(pair, tmp_path):
    discriminator_dir = pair[0]
    electra_config(**GENERATOR).save_pretrained(tmp_path)  # config.json only
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY[:-1] + ["##zz"]) + "\n", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"vocab.txt and .*vocab.txt differ \(first at line 64\)"):
        load_hf_electra(discriminator_dir, tmp_path)


def test_a_generator_trained_apart_is_refused_with_the_fix(pair, tmp_path, capsys):
    discriminator_dir = pair[0]
    apart = save(perturbed(transformers.ElectraForMaskedLM(electra_config(**GENERATOR)), 2), tmp_path / "apart")
    with pytest.raises(CheckpointError, match=r"embeddings of .*apart differ .*word_embeddings.weight \(max "
                                              r"\|difference\| .*Convert the discriminator alone"):
        load_hf_electra(discriminator_dir, apart)
    assert main(["convert", "from-hf", str(discriminator_dir), "--generator", str(apart),
                 "--output-dir", str(tmp_path / "runs")]) == 2
    assert "embeddings of" in capsys.readouterr().err and not (tmp_path / "runs").exists()


def test_the_two_checkpoints_swapped_are_named(pair):
    discriminator_dir, generator_dir = pair[:2]
    with pytest.raises(CheckpointError, match=re.escape(str(generator_dir)) + " is an ELECTRA generator .*--generator"):
        load_hf_electra(generator_dir)
    with pytest.raises(CheckpointError, match=re.escape(str(discriminator_dir)) + " has no generator head"):
        load_hf_electra(discriminator_dir, discriminator_dir)
